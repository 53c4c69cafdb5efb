/**
 * The gateway's envelope store: the seam between the HTTP/MCP layer and the database. Two implementations
 * (PostgreSQL via postgres.js, embedded PGlite) run the same SQL migrations and pass the same suite
 * (conformance.case.ts).
 *
 * Guarantees every implementation gives:
 * - State transitions follow state-machine.ts: a final envelope never changes again; progress never
 *   goes backwards and reaches 100 only on success. Every accepted change appends one event.
 * - Events carry a sequence number that only grows per envelope, so SSE can resume from Last-Event-ID.
 * - A subscription sees every event written through any store instance on the same database, in order per
 *   envelope, including the ones written while its connection was down (caught up on reconnect).
 * - A method that cannot reach the database rejects with StoreUnavailableError; it never hangs forever.
 */
import type { ActorState, EnvelopeStatus, EventState, FinalStatus } from '../../protocol/gateway-contract.ts';
import type { FanInAnswer, FanInArrival } from '../../protocol/fan-in.ts';
import type { JsonObject, JsonValue } from '../../protocol/json.ts';

// The statuses and states are the wire's (protocol/gateway-contract.ts); the store keeps exactly those.
export type { ActorState, EnvelopeStatus, EventState, FinalStatus };

export interface EnvelopeRecord {
  id: string;
  parentId: string | null;
  status: EnvelopeStatus;
  toolName: string | null;
  /** The named client that created it (a fan-out child: its root's); null when the caller sees everything. */
  owner: string | null;
  /** The idempotency key of the call that created it (docs/gateway.md, "Idempotent calls"); null without one. */
  idempotencyKey: string | null;
  routeActors: string[];
  routeCurrent: number;
  routeMetadata: JsonObject | null;
  headers: JsonObject | null;
  payload: JsonValue;
  /** null when none was stored (a JSON null result is indistinguishable, as in the original's column). */
  result: JsonValue;
  error: string | null;
  timeoutSeconds: number | null;
  deadline: Date | null;
  progressPercent: number;
  currentActorIdx: number;
  currentActorName: string | null;
  message: string | null;
  totalActors: number;
  /** Position among its siblings when created by a fan-out. */
  fanoutIndex: number | null;
  cancelled: boolean;
  /** Grows by one with every accepted change. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What a list row shows of an envelope that no update changes: for the console's live feed. */
export interface EnvelopeSummary {
  id: string;
  owner: string | null;
  toolName: string | null;
  parentId: string | null;
  createdAt: Date;
}

export interface EnvelopeEvent {
  /** Unique, and increasing per envelope; use as the SSE event id. */
  seq: number;
  envelopeId: string;
  status: EnvelopeStatus;
  message: string | null;
  result: JsonValue;
  error: string | null;
  progressPercent: number | null;
  /** Actor named by currentActorIdx when the event was written. */
  actor: string | null;
  actors: string[] | null;
  currentActorIdx: number | null;
  envelopeState: EventState | null;
  /** A report from a step behind the progress already reached: kept as history, not shown as progress. */
  late: boolean;
  timestamp: Date;
}

export interface CreateEnvelopeInput {
  id: string;
  actors: string[];
  payload: JsonValue;
  toolName?: string;
  owner?: string;
  routeCurrent?: number;
  routeMetadata?: JsonObject;
  headers?: JsonObject;
  /** Kept for the original's `timeout_seconds` field; the deadline is what is enforced. */
  timeoutSeconds?: number;
  deadline?: Date;
  parentId?: string;
  /**
   * Also writes the envelope's outbox entry, in the same statement: the envelope is then published to its
   * first actor at least once, by the caller or, when the caller does not call markPublished within this
   * lease, by a relay pass (claimOutbox) on any replica.
   */
  outbox?: { leaseMs: number };
}

/** What makes a create idempotent: the caller's key, and a hash of the request it stands for. */
export interface IdempotencyInput {
  /** Unique per owner (an envelope without owner: one key space for all such callers). */
  key: string;
  /** Compared by the caller, not the store: the same key with another request is the caller's conflict. */
  requestHash: string;
}

export type CreateOnceResult =
  | { outcome: 'created'; envelope: EnvelopeRecord }
  /** The key was taken: nothing was written, and this is the envelope that holds it. */
  | { outcome: 'existing'; envelope: EnvelopeRecord; requestHash: string };

export interface RegisterChildInput {
  id: string;
  parentId: string;
  /** Position in the fan-out; results are gathered in this order. 0 means the parent id is not reused. */
  index: number;
  /** How many branches the fan-out produced; the parent waits for that many. Unknown from old sidecars. */
  fanoutSize?: number;
  actors: string[];
  routeCurrent?: number;
  payload?: JsonValue;
  headers?: JsonObject;
  /** Defaults to the parent's deadline. */
  deadline?: Date;
}

export interface ProgressInput {
  /** Omitted for a plain status note (e.g. "Sending envelope to first actor"): marks running, keeps progress. */
  actorState?: ActorState;
  /** For `completed`, the route's index after the actor advanced it, as the sidecar sends it. */
  currentActorIdx?: number;
  /** Replaces the stored route only when longer (a handler extended the route). */
  actors?: string[];
  message?: string;
}

export interface FinalInput {
  status: FinalStatus;
  result?: JsonValue;
  error?: string;
  message?: string;
}

export interface ReopenInput {
  /** Recorded in the event's message: `Envelope replayed: <reason>`. */
  reason?: string;
  /** Re-arms the deadline to now + this many seconds; absent or 0 clears it (the old one has passed). */
  timeoutSeconds?: number;
}

export type ReopenResult =
  | { outcome: 'applied'; envelope: EnvelopeRecord; event: EnvelopeEvent }
  /** Not failed (or cancelled): nothing changed. */
  | { outcome: 'refused'; envelope: EnvelopeRecord; reason: string }
  | { outcome: 'not_found'; id: string };

export interface PauseInput {
  actor: string;
  prompt: string;
  /** Checked to be a JSON Schema by the caller; resume input is validated against it. */
  schema?: JsonObject;
  timeoutSeconds?: number;
  /** Present (even as null) when the pause takes a default on timeout. */
  default?: { value: JsonValue };
  inputKey: string;
  /** Where the envelope goes on resume, and the envelope as it continues there. */
  queue: string;
  message: JsonObject;
}

export interface PauseRecord {
  envelopeId: string;
  actor: string;
  prompt: string;
  schema: JsonObject | null;
  timeoutSeconds: number | null;
  default: { value: JsonValue } | null;
  inputKey: string;
  queue: string;
  message: JsonObject;
  pausedAt: Date;
  expiresAt: Date | null;
  resumedAt: Date | null;
}

export type PauseResult =
  | { outcome: 'applied'; envelope: EnvelopeRecord; event: EnvelopeEvent }
  /** Paused already: a repeated report; nothing changed. */
  | { outcome: 'repeat'; envelope: EnvelopeRecord }
  /** Final (cancelled, timed out): nothing changed, the pause is dropped. */
  | { outcome: 'ignored'; envelope: EnvelopeRecord; reason: string }
  | { outcome: 'not_found'; id: string };

export interface ResumeInput {
  input: JsonValue;
  /** Recorded in the event: `Resumed (<via>)`. */
  via: string;
  /** How long the resuming caller owns the publish before a relay pass may take it. */
  leaseMs: number;
}

/** An envelope a resume wrote for publishing: the message and the queue it goes to. */
export interface ResumedMessage {
  envelopeId: string;
  queue: string;
  message: JsonObject;
}

export type ResumeResult =
  | { outcome: 'applied'; envelope: EnvelopeRecord; event: EnvelopeEvent; publish: ResumedMessage }
  /** Not paused: nothing changed. */
  | { outcome: 'refused'; envelope: EnvelopeRecord; reason: string }
  | { outcome: 'not_found'; id: string };

export interface ListFilter {
  status?: EnvelopeStatus | EnvelopeStatus[];
  toolName?: string;
  /** Only this owner's envelopes. */
  owner?: string;
  parentId?: string;
  createdFrom?: Date;
  /** Exclusive. */
  createdTo?: Date;
  /** Only envelopes without a parent (tool calls, not fan-out children). */
  rootsOnly?: boolean;
  /** Only envelopes whose id starts with this. */
  idPrefix?: string;
  /** Default 50, at most 500. */
  limit?: number;
  /** From the previous page's nextCursor. */
  cursor?: string;
}

export interface EnvelopePage {
  /** Newest first. */
  items: EnvelopeRecord[];
  nextCursor?: string;
}

export type UpdateResult =
  | { outcome: 'applied'; envelope: EnvelopeRecord; event: EnvelopeEvent }
  /** A fan-out parent recorded its own branch and waits for its children. */
  | { outcome: 'deferred'; envelope: EnvelopeRecord; event: EnvelopeEvent }
  /** The envelope is final; nothing changed and no event was written. */
  | { outcome: 'ignored'; envelope: EnvelopeRecord; reason: string }
  | { outcome: 'not_found'; id: string };

export interface SubscribeOptions {
  /** Replay stored events with seq greater than this before live ones (SSE Last-Event-ID; 0 = all). */
  afterSeq?: number;
  /** A listener that throws does not stop delivery; its errors land here. */
  onError?: (error: unknown) => void;
}

export interface Subscription {
  close(): Promise<void>;
}

/** What a stream needs of its envelope before serving it: whether it is final, and whose it is. */
export type EnvelopeHead = Pick<EnvelopeRecord, 'status' | 'owner'>;

/** follow()'s answer: no head and no subscription when the envelope does not exist. */
export type Followed = { head: EnvelopeHead; subscription: Subscription } | { head: undefined; subscription: undefined };

export type FanInArrivalResult =
  | FanInAnswer
  /** The child's registration has not reached the gateway yet: try again shortly. */
  | { status: 'not_registered'; reason: string }
  | { status: 'not_found'; reason: string };

/** A combined envelope waiting in the fan-in outbox. */
export interface FanInMessage {
  parentId: string;
  queue: string;
  body: Buffer;
}

/** Fan-in state (docs/concepts.md#fan-in), kept with the envelopes so it shares their transactions. */
export interface FanInStore {
  /**
   * One child reached a fan-in step: it finishes `succeeded` with its payload, and the transaction that
   * sees the fan-in complete (by its policy) writes the combined envelope to the fan-in outbox, once per
   * parent. A redelivered child changes nothing.
   */
  arrive(childId: string, arrival: FanInArrival): Promise<FanInArrivalResult>;
  /** Fails the children of fan-ins past their timeout and settles those fan-ins; returns their parents. */
  expire(limit?: number): Promise<string[]>;
  /** Leases due combined envelopes to one publisher for leaseMs (SKIP LOCKED). */
  claimOutbox(leaseMs: number, limit?: number): Promise<FanInMessage[]>;
  /** The broker confirmed the combined envelope: it leaves the outbox. */
  markPublished(parentId: string): Promise<void>;
}

export interface EnvelopeStore {
  readonly fanIns: FanInStore;
  /** Rejects with DuplicateEnvelopeError or InvalidEnvelopeInputError. */
  create(input: CreateEnvelopeInput): Promise<EnvelopeRecord>;
  /**
   * create, once per (owner, idempotency key): when an envelope of the same owner holds the key, nothing is
   * written (no event, no outbox entry) and that envelope is answered. Safe on several replicas at once: a
   * unique index decides, so racing creates with one key make exactly one envelope.
   */
  createOnce(input: CreateEnvelopeInput, idempotency: IdempotencyInput): Promise<CreateOnceResult>;
  get(id: string): Promise<EnvelopeRecord | undefined>;
  list(filter?: ListFilter): Promise<EnvelopePage>;
  /** The fields of these envelopes that updates do not change, without their payloads; unknown ids are left out. */
  summaries(ids: readonly string[]): Promise<EnvelopeSummary[]>;
  appendProgress(id: string, input: ProgressInput): Promise<UpdateResult>;
  setFinal(id: string, input: FinalInput): Promise<UpdateResult>;
  /** Ascending by seq. With no envelope id, every envelope's events. */
  eventsSince(envelopeId: string | undefined, afterSeq: number, limit?: number): Promise<EnvelopeEvent[]>;
  /** Resolves once live delivery is active, so nothing written after it resolves is missed. */
  subscribe(
    envelopeId: string | undefined,
    listener: (event: EnvelopeEvent) => void,
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  /**
   * subscribe() to one envelope with its head read in the same statement as the first replayed events: a
   * stream's lookup and replay in one round trip. The replayed events reach the listener before this
   * resolves, so a caller that may not serve the envelope must hold what it gets until it has looked at
   * the head.
   */
  follow(envelopeId: string, listener: (event: EnvelopeEvent) => void, options?: SubscribeOptions): Promise<Followed>;
  /**
   * Creates a fan-out child; not_found when the parent is unknown. The child's own progress may reach the
   * gateway before its registration and create it as a top-level envelope: registration then links it
   * (applied; the parent settles at once if that child is already final). Registering again under the same
   * parent is ignored, under another parent rejects with InvalidEnvelopeInputError.
   */
  registerChild(input: RegisterChildInput): Promise<UpdateResult>;
  /**
   * The operator's replay: a failed envelope goes back to running, keeping its progress, with its failure
   * (error, result) cleared, its deadline cleared or re-armed, and one `replayed` event. Its failed (not
   * cancelled) fan-out ancestors are reopened too, so they settle again when it finishes. Afterwards
   * progress and finals apply as for any running envelope. Refused unless the envelope is failed and was
   * not cancelled.
   */
  reopen(id: string, input?: ReopenInput): Promise<ReopenResult>;
  /** Fails the envelope with error "envelope cancelled", then its unfinished descendants. */
  cancel(id: string, reason?: string): Promise<UpdateResult>;
  /**
   * Fails every unfinished envelope whose deadline is at or before `now`, each exactly once even when
   * several replicas call this at the same time. Returns the ids this call failed.
   */
  failOverdue(now?: Date, limit?: number): Promise<string[]>;
  /**
   * Leases up to `limit` outbox entries whose lease has run out, for `leaseMs`, and answers their envelopes
   * to publish. Entries whose envelope is no longer pending (an actor has it, or it is final) are deleted
   * instead; envelopes past their deadline are left to failOverdue. Safe on several replicas at once: an
   * entry goes to one caller per lease (SKIP LOCKED). Leases follow the database's clock.
   */
  claimOutbox(leaseMs: number, limit?: number): Promise<EnvelopeRecord[]>;
  /** The broker confirmed the envelope: its outbox entry is deleted. Concurrent calls share one statement. */
  markPublished(id: string): Promise<void>;
  /**
   * A handler paused the envelope: status paused, the pause stored with the envelope as it continues, one
   * `paused` event. Its deadline no longer runs (failOverdue skips paused envelopes); the pause's own timeout
   * does (expirePauses).
   */
  pause(id: string, input: PauseInput): Promise<PauseResult>;
  /** The envelope's latest pause (also after its resume), or undefined. */
  getPause(id: string): Promise<PauseRecord | undefined>;
  /**
   * Resumes a paused envelope with input already checked against the pause's schema: running again, one
   * `resumed` event, the deadline moved by the time spent paused, and the message to publish written in the
   * same transaction (leased to the caller for leaseMs; then claimResumes hands it to a relay). Refused
   * unless the envelope is paused, so a pause is resumed at most once.
   */
  resume(id: string, input: ResumeInput): Promise<ResumeResult>;
  /**
   * Pauses whose timeout passed by `now`: resumed with their default, or failed with a timeout error that
   * names the prompt. Each exactly once across replicas. Returns the ids handled.
   */
  expirePauses(now?: Date, limit?: number): Promise<string[]>;
  /** Resumed messages whose publish lease ran out, leased again to this caller (the relay). */
  claimResumes(leaseMs: number, limit?: number): Promise<ResumedMessage[]>;
  /** The broker confirmed a resumed message: it is not published again. */
  markResumePublished(id: string): Promise<void>;
  /** Deletes final envelopes (and their events) last updated before `cutoff`. Returns how many. */
  deleteOlderThan(cutoff: Date): Promise<number>;
  ping(): Promise<boolean>;
  /** Migration versions this store's schema still lacks ([] when it is current). */
  pendingMigrations(): Promise<number[]>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  override readonly name: string = 'StoreError';
}

export class StoreUnavailableError extends StoreError {
  override readonly name = 'StoreUnavailableError';
  constructor(cause: unknown) {
    super(`envelope store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export class DuplicateEnvelopeError extends StoreError {
  override readonly name = 'DuplicateEnvelopeError';
  constructor(readonly id: string) {
    super(`envelope ${id} already exists`);
  }
}

export class InvalidEnvelopeInputError extends StoreError {
  override readonly name = 'InvalidEnvelopeInputError';
}

export const TIMEOUT_ERROR = 'envelope timed out';
export const CANCELLED_ERROR = 'envelope cancelled';
export const PAUSE_TIMEOUT_ERROR = 'pause timed out';
