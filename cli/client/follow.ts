/**
 * Waits for an envelope's final status over SSE, feeding a progress view. Ctrl-C or --timeout stop the
 * waiting, not the envelope: the error says how to look it up later.
 */
import { CliError, EXIT } from './exit-codes.ts';
import { isFinalStatus, type EnvelopeUpdate, type EnvelopeView, type GatewayClient } from './gateway-client.ts';
import type { ProgressView } from './progress.ts';
import { asError } from '../../protocol/errors.ts';

export async function followToFinal(gateway: GatewayClient, id: string, view: ProgressView, options: { timeoutSeconds?: number } = {}): Promise<EnvelopeUpdate | EnvelopeView> {
  const stop = new AbortController();
  const onSignal = () => stop.abort(new CliError(EXIT.interrupted, `stopped waiting; envelope ${id} goes on (asya status ${id})`));
  process.once('SIGINT', onSignal);
  const timer =
    options.timeoutSeconds && options.timeoutSeconds > 0
      ? setTimeout(() => stop.abort(new CliError(EXIT.timedOut, `envelope ${id} is not final after ${options.timeoutSeconds} s; it goes on (asya status ${id})`)), options.timeoutSeconds * 1000)
      : undefined;
  try {
    let last: EnvelopeUpdate | undefined;
    const stopped = new Promise<never>((_, reject) => stop.signal.addEventListener('abort', () => reject(asError(stop.signal.reason)), { once: true }));
    const consume = (async () => {
      for await (const update of gateway.updates(id, stop.signal)) {
        last = update;
        view.update(update);
      }
    })();
    consume.catch(() => {});
    await Promise.race([consume, stopped]);
    if (!last || !isFinalStatus(last.status)) return await gateway.envelope(id);
    return last;
  } finally {
    view.finish();
    clearTimeout(timer);
    process.removeListener('SIGINT', onSignal);
    stop.abort();
  }
}
