/**
 * What the console shows that the envelope store does not hold: the dead-letter queue and the actors'
 * numbers. The gateway cannot know them by itself (the DLQ is the crew's, the numbers are each sidecar's),
 * so whoever starts it hands them in: `asya gateway` the DLQ on its own transport, `asya dev` both. In a
 * cluster the actors come from Prometheus when ASYA_GATEWAY_PROMETHEUS_URL names it (prometheus-actors.ts).
 * A source left out is answered as "not available here", never as an empty list.
 */
import type { DeadLetterRecord } from '../../protocol/crew.ts';

export interface ActorStats {
  name: string;
  /** up, starting, reloading, failed, stopped, crew. */
  state: string;
  /** Ready and delayed messages in the actor's queue. */
  queued: number | undefined;
  inFlight: number;
  processed: number;
  errors: number;
  p50Ms: number | undefined;
  /** Shown by the console, not by the terminal table of asya dev. */
  p95Ms?: number | undefined;
}

export interface DeadLetterItem {
  /** Set when the message is one of error-end's records. */
  record?: DeadLetterRecord;
  /** The body as text, for messages that are not records. */
  raw?: string;
}

export interface ReplaySteps {
  /** Reopens the envelope at the gateway before its publish (as `asya dlq replay` with ASYA_GATEWAY_URL). */
  reopen(record: DeadLetterRecord, queue: string): Promise<{ reopened: boolean; warning?: string }>;
  /** The publish failed after a reopen: the envelope goes back to failed. */
  refail(record: DeadLetterRecord, reason: string): Promise<void>;
}

export interface ReplayOutcome {
  id: string;
  ok: boolean;
  /** The queue it went back to. */
  target?: string;
  reopened?: boolean;
  warning?: string;
  error?: string;
}

export interface DeadLetterSource {
  readonly queue: string;
  list(): Promise<DeadLetterItem[]>;
  /** Replays the records with these ids; each one that was sent is removed from the queue. */
  replay(ids: readonly string[], steps: ReplaySteps): Promise<ReplayOutcome[]>;
}

export interface ConsoleSources {
  deadLetters?: DeadLetterSource;
  /** From Prometheus (ASYA_GATEWAY_PROMETHEUS_URL), or filled in by `asya dev` once its actors run (the gateway starts first). */
  actors?: () => Promise<ActorStats[]>;
  /** Where the actors' numbers come from, shown on the actors page. */
  actorsNote?: string;
}
