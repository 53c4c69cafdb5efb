/**
 * The console's view of the dead-letter queue: `asya dlq list` and `asya dlq replay` (cli/dlq.ts) through the
 * same reader and publish (crew/dlq.ts), on the transport the gateway already holds. A replay reopens the
 * envelope at the gateway first, as `asya dlq replay` does with ASYA_GATEWAY_URL set.
 */
import type { DeadLetterItem, DeadLetterSource, ReplayOutcome } from '../gateway/console/sources.ts';
import { ensureDlqQueue, replay, withDeadLetters, type DeadLetter } from '../crew/dlq.ts';
import type { Transport } from '../transport/transport.ts';
import { errorText } from '../protocol/errors.ts';

export interface ConsoleDlqOptions {
  /** How long a read waits for more messages (the reader's idleMs). @default 500 */
  idleMs?: number;
}

function item(letter: DeadLetter): DeadLetterItem {
  return letter.record ? { record: letter.record } : { raw: letter.raw };
}

export function consoleDeadLetters(transport: Transport, queue: string, options: ConsoleDlqOptions = {}): DeadLetterSource {
  const readOptions = { idleMs: options.idleMs ?? 500 };
  // One reader at a time: two would each hold part of the queue and see only their part.
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const next = turn.then(work, work);
    turn = next.catch(() => undefined);
    return next;
  };
  return {
    queue,
    list: () =>
      exclusive(async () => {
        await ensureDlqQueue(transport, queue);
        return withDeadLetters(transport, queue, async (all) => ({ ack: [], result: all.map(item) }), readOptions);
      }),
    replay: (ids, steps) =>
      exclusive(async () => {
        await ensureDlqQueue(transport, queue);
        const wanted = new Set(ids);
        return withDeadLetters(
          transport,
          queue,
          async (all) => {
            const done: DeadLetter[] = [];
            const outcomes: ReplayOutcome[] = [];
            const seen = new Set<string>();
            for (const letter of all) {
              const record = letter.record;
              if (!record || !wanted.has(record.id) || seen.has(record.id)) continue;
              seen.add(record.id);
              let reopened = false;
              let warning: string | undefined;
              try {
                // Before the publish: a fast pipeline's final must find the envelope open, or it is ignored.
                ({ reopened, warning } = await steps.reopen(record, queue));
                const target = await replay(transport, record);
                done.push(letter);
                outcomes.push({ id: record.id, ok: true, target, reopened, ...(warning ? { warning } : {}) });
              } catch (e) {
                if (reopened) await steps.refail(record, errorText(e));
                outcomes.push({ id: record.id, ok: false, error: `could not replay it (left in ${queue}): ${errorText(e)}` });
              }
            }
            for (const id of ids) if (!seen.has(id)) outcomes.push({ id, ok: false, error: `no dead letter with id ${id} in ${queue}` });
            return { ack: done, result: outcomes };
          },
          readOptions,
        );
      }),
  };
}
