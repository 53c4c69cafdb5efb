import type { Logger } from '../../protocol/log.ts';
import { surviveUncaught } from '../../protocol/process-log.ts';

/**
 * postgres (postgres.js) 3.4.x can throw from a deferred socket write after the database closed the
 * connection: a TypeError "Cannot read properties of null (reading 'write')" out of connection.js
 * `nextWrite`, scheduled with setImmediate, where no caller can catch it (porsager/postgres #1154 and #1208;
 * a fix is proposed upstream in #1209). It is seen when the database goes down while a transaction is being
 * rolled back. It means only that a connection the database had already dropped still had a write queued;
 * the pool reconnects. Without this guard the gateway process dies of it during a database outage, which is
 * exactly when it must keep answering.
 */
export function isClosedSocketWriteBug(err: unknown): boolean {
  // Duck-typed: a test runner hands over the error serialized from its worker, no longer a TypeError instance.
  if (typeof err !== 'object' || err === null) return false;
  const { name, message, stack = '' } = err as { name?: unknown; message?: unknown; stack?: unknown };
  if (name !== 'TypeError' || typeof message !== 'string' || typeof stack !== 'string' || !/reading 'write'/.test(message)) return false;
  return /nextWrite/.test(stack) && /postgres[\\/](?:cjs[\\/])?src[\\/]connection\.js/.test(stack);
}

/**
 * Makes this process survive that one error (logged as a warning) and only that one: any other uncaught
 * exception is logged with its stack and exits 1, as Node does by default. For processes, not libraries: a
 * test runner has handlers of its own.
 */
export function surviveClosedSocketWriteBug(log: Logger): void {
  surviveUncaught(log, (err) =>
    isClosedSocketWriteBug(err) ? 'database connection: a write after the connection closed was dropped (postgres.js #1154); the pool reconnects' : undefined,
  );
}
