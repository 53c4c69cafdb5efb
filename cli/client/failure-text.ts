import type { EnvelopeUpdate } from './gateway-client.ts';

/** error-end stores the handler's exception under result.details; that says more than the error code. */
export function failureText(envelope: EnvelopeUpdate): string {
  const result = (envelope.result ?? {}) as { failed_actor?: string; details?: { type?: string; message?: string } };
  const where = result.failed_actor ? ` at ${result.failed_actor}` : '';
  const what = result.details?.message ? `${result.details.type ? `${result.details.type}: ` : ''}${result.details.message}` : envelope.message;
  return `${envelope.error ?? 'failed'}${where}${what ? ` — ${what}` : ''}`;
}
