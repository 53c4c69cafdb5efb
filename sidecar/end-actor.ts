/**
 * What an end actor (happy-end, error-end) reports to the gateway when its handler did not (the original
 * crew returns `{}`), in the original's shape (docs/crew.md, "happy-end"). The pipeline's result is the envelope's
 * payload; what the crew handler returned (e.g. where it stored the envelope) travels as `metadata`.
 */
import { failedReport, succeededReport, type Envelope, type FinalReport, type JsonObject } from '../protocol/index.ts';
import type { SidecarConfig } from './config.ts';

export type { FinalReport } from '../protocol/index.ts';

export function finalReport(
  input: Envelope,
  metadata: JsonObject | undefined,
  config: Pick<SidecarConfig, 'actorName' | 'happyEnd' | 'errorEnd'>,
  now = new Date(),
): FinalReport | undefined {
  if (config.actorName === config.happyEnd) return succeededReport(input, metadata, now);
  if (config.actorName === config.errorEnd) return failedReport(input, metadata, now);
  return undefined;
}
