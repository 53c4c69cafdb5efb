import type { EnvelopeUpdate, EnvelopeView } from './gateway-client.ts';

/** What a failure is told from: an envelope, its final update, or a waiting call's final answer. */
type Failure = Pick<EnvelopeUpdate | EnvelopeView, 'error' | 'message' | 'result'>;

/** error-end stores the handler's exception under result.details; that says more than the error code. */
export function failureText(envelope: Failure): string {
  const result = (envelope.result ?? {}) as { failed_actor?: string; details?: { type?: string; message?: string } };
  const where = result.failed_actor ? ` at ${result.failed_actor}` : '';
  const what = result.details?.message ? `${result.details.type ? `${result.details.type}: ` : ''}${result.details.message}` : envelope.message;
  return `${envelope.error ?? 'failed'}${where}${what ? ` — ${what}` : ''}`;
}
