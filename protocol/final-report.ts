/**
 * The final status an end actor reports to the gateway (`POST /envelopes/{id}/final`), in the original's
 * shapes (docs/crew.md). Built here so the sidecar (when it reports) and the crew handlers (when they do)
 * send exactly the same bodies.
 */
import type { Envelope } from './envelope.ts';
import type { FinalRequest } from './gateway-contract.ts';
import { isPlainObject, type JsonObject } from './json.ts';

/** The contract's final report (protocol/gateway-contract.ts) with what every end actor fills in. */
export type FinalReport = FinalRequest & { id: string; timestamp: string };
export type FailedReport = FinalReport & { status: 'failed' };

type Reported = Pick<Envelope, 'id' | 'route' | 'payload'>;

/** The pipeline's result is the envelope's payload; the original leaves `result` out when it is null. */
export function succeededReport(input: Reported, metadata?: JsonObject, now = new Date()): FinalReport {
  return {
    id: input.id,
    status: 'succeeded',
    timestamp: now.toISOString(),
    progress: 1.0,
    ...(input.payload === null || input.payload === undefined ? {} : { result: input.payload }),
    ...(metadata && Object.keys(metadata).length > 0 ? { metadata } : {}),
  };
}

/** `error`, `details` and the route come from an error envelope's payload and route, when present. */
export function failedReport(input: Reported, metadata?: JsonObject, now = new Date()): FailedReport {
  const payload = isPlainObject(input.payload) ? input.payload : {};
  const report: FailedReport = { id: input.id, status: 'failed', timestamp: now.toISOString() };
  if (metadata && Object.keys(metadata).length > 0) report.metadata = metadata;
  if (typeof payload.error === 'string') report.error = payload.error;
  if (payload.details !== undefined) report.error_details = payload.details;
  const actors = Array.isArray(input.route?.actors) ? input.route.actors : [];
  const current = input.route?.current;
  if (actors.length > 0 && Number.isInteger(current)) {
    report.actors = actors;
    report.current_actor_idx = current;
    if (current >= 0 && current < actors.length) report.current_actor_name = actors[current];
  }
  return report;
}
