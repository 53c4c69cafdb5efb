/** The RabbitMQ broker the tests share, and ways to hurt its connections on purpose. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export { TestQueues, uniqueQueueName } from './queues.ts';

export const RABBITMQ_URL = process.env.ASYA_TEST_RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672';

const run = promisify(execFile);
// rabbitmqctl starts an Erlang VM per call, which takes many seconds on a loaded machine.
const RABBITMQCTL_TIMEOUT_MS = 45_000;

/**
 * Has the broker close the connections whose client-provided name is `connectionName`, the way an operator
 * or a broker restart would (connection.close 320 CONNECTION_FORCED). Only that connection is touched, so
 * test files running in parallel keep theirs. Returns how many connections were closed. Callers check
 * first that rabbitmqctl is installed (requireTools); once it is, a broker it cannot reach is an error.
 */
export async function forceCloseConnection(connectionName: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_connections', 'pid', 'client_properties'], {
    timeout: RABBITMQCTL_TIMEOUT_MS,
  });
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`"${connectionName}"`))
    .map((line) => line.split('\t')[0]!.trim())
    .filter(Boolean);
  for (const pid of pids) {
    await run('rabbitmqctl', ['-q', 'close_connection', pid, 'test: forced close'], { timeout: RABBITMQCTL_TIMEOUT_MS });
  }
  return pids.length;
}

/**
 * The broker's own count of `queue`'s messages delivered and not yet acked, across every connection: what a
 * test waits on to know the acks it sent have reached the broker (amqplib's acks are never confirmed).
 */
export async function unackedOnBroker(queue: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_queues', 'name', 'messages_unacknowledged'], { timeout: RABBITMQCTL_TIMEOUT_MS });
  const line = stdout.split('\n').find((l) => l.split('\t')[0] === queue);
  if (!line) throw new Error(`rabbitmqctl does not list queue ${queue}`);
  return Number(line.split('\t')[1]);
}
