/**
 * What an end actor (happy-end, error-end) reports to the gateway, in the original's shape (reference §4.1).
 * The pipeline's result is the envelope's payload; what the crew handler returns (e.g. where it stored the
 * envelope) travels as `metadata`.
 */
import { isPlainObject, isRuntimeError, type Envelope, type JsonValue, type RuntimeResult } from '../protocol/index.ts';
import type { SidecarConfig } from './config.ts';

export interface FinalReport {
  id: string;
  status: 'succeeded' | 'failed';
  timestamp: string;
  progress?: number;
  result?: JsonValue;
  metadata?: Record<string, unknown>;
  error?: string;
  error_details?: unknown;
  actors?: string[];
  current_actor_idx?: number;
  current_actor_name?: string;
}

export function finalReport(
  input: Envelope,
  results: RuntimeResult[],
  config: Pick<SidecarConfig, 'actorName' | 'happyEnd' | 'errorEnd'>,
  now = new Date(),
): FinalReport | undefined {
  const first = results[0];
  const handlerOutput = first && !isRuntimeError(first) ? first.payload : undefined;
  const metadata = isPlainObject(handlerOutput) && Object.keys(handlerOutput).length > 0 ? handlerOutput : undefined;
  const base = { id: input.id, timestamp: now.toISOString(), ...(metadata ? { metadata } : {}) };
  if (config.actorName === config.happyEnd) {
    return { ...base, status: 'succeeded', progress: 1.0, ...(input.payload === null ? {} : { result: input.payload }) };
  }
  if (config.actorName !== config.errorEnd) return undefined;
  const payload = isPlainObject(input.payload) ? input.payload : {};
  const report: FinalReport = { ...base, status: 'failed' };
  if (typeof payload.error === 'string') report.error = payload.error;
  if (payload.details !== undefined) report.error_details = payload.details;
  const { actors, current } = input.route;
  if (actors.length > 0) {
    report.actors = actors;
    report.current_actor_idx = current;
    if (current >= 0 && current < actors.length) report.current_actor_name = actors[current];
  }
  return report;
}
