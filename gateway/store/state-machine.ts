/**
 * The envelope's lifecycle rules, kept pure so both stores and the tests share one definition.
 *
 *   pending ──► running ──► succeeded
 *      │           │   └──► failed      (error-end, publish error, deadline, cancel)
 *      └───────────┴──────► succeeded | failed
 *
 * pending may go straight to a final state: a fast pipeline's final report can beat the gateway's own
 * "running" note. Reports never leave a final state: late progress or a second final is "ignored" (the
 * original let a late progress flip a failed envelope back to running). Cancel is not a status of its own;
 * it is `failed` with error "envelope cancelled", because the original's clients wait for succeeded|failed.
 *
 * The one way out of a final state is an operator's explicit replay (decideReopen): failed ──► running,
 * for an envelope `asya dlq replay` sends through its pipeline again. It is recorded as an event of its own.
 *
 * A handler may pause its envelope for input (decidePause): pending | running ──► paused. Only a resume
 * leaves it running again (decideResume); a cancel or the pause's timeout fails it. Progress reports for
 * a paused envelope (late ones from the actor that paused) change nothing.
 */
import { isFinalStatus } from '../../protocol/gateway-contract.ts';
import { isPlainObject, type JsonValue } from '../../protocol/json.ts';
import type { ActorState, EnvelopeStatus, FinalStatus, ProgressInput } from './store.ts';

/** Progress short of success never shows 100: the last actor finishing is not the envelope finishing. */
export const NON_FINAL_PROGRESS_CAP = 99;

const TRANSITIONS: Record<EnvelopeStatus, readonly EnvelopeStatus[]> = {
  pending: ['running', 'paused', 'succeeded', 'failed'],
  running: ['running', 'paused', 'succeeded', 'failed'],
  paused: ['running', 'failed'],
  succeeded: [],
  failed: [],
};

export function isFinal(status: EnvelopeStatus): status is FinalStatus {
  return isFinalStatus(status);
}

export function canTransition(from: EnvelopeStatus, to: EnvelopeStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * Progress of a route of `total` actors after a sidecar report.
 *
 * The original computed (idx*100 + w)/total with w = received 10, processing 50, completed 100, but its
 * sidecar sends `completed` with the index the actor already advanced, so actor 0 of 2 completing showed
 * (1*100+100)/2 = 100%. We keep the wire as it is (old sidecars must keep working) and read it correctly:
 * `completed` at index i means actor i-1 finished, i.e. i of total actors are done: i*100/total.
 * received/processing at index i keep the original weights. Anything short of final success is capped at
 * NON_FINAL_PROGRESS_CAP, so a 3-actor route reads 3.33, 16.67, 33.33, 36.67, 50, 66.67, 70, 83.33, 99,
 * and 100 only when the envelope succeeds. Values are rounded to the column's two decimals.
 */
export function progressFor(state: ActorState, index: number, total: number): number {
  if (total <= 0) return 0;
  const i = Math.min(Math.max(Math.trunc(index), 0), total);
  const raw = state === 'completed' ? (i * 100) / total : (i * 100 + (state === 'received' ? 10 : 50)) / total;
  return round2(Math.min(raw, NON_FINAL_PROGRESS_CAP));
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export interface LifecycleSnapshot {
  status: EnvelopeStatus;
  progressPercent: number;
  currentActorIdx: number;
  routeActors: string[];
}

export type Decision<T> = { kind: 'apply'; next: T } | { kind: 'ignore'; reason: string };

export interface ProgressChange {
  status: 'running';
  progressPercent: number;
  currentActorIdx: number;
  routeActors: string[];
  currentActorName: string | null;
  /** The report is from a step behind the one already reported (it arrived late): history only. */
  late: boolean;
}

/**
 * Out-of-order reports (a retried `received` after `processing`, an earlier hop's report arriving after a
 * later hop's) are still recorded as events, but neither the percentage, the actor index nor the
 * envelope's message moves backwards.
 */
export function decideProgress(current: LifecycleSnapshot, input: ProgressInput): Decision<ProgressChange> {
  if (isFinal(current.status)) return { kind: 'ignore', reason: `envelope is already ${current.status}` };
  if (current.status === 'paused') return { kind: 'ignore', reason: 'envelope is paused' };
  const actors =
    input.actors && input.actors.length > current.routeActors.length ? input.actors : current.routeActors;
  const reported = input.currentActorIdx ?? current.currentActorIdx;
  const currentActorIdx = Math.max(current.currentActorIdx, Math.min(reported, actors.length));
  const reportedProgress = input.actorState ? progressFor(input.actorState, reported, actors.length) : 0;
  return {
    kind: 'apply',
    next: {
      status: 'running',
      progressPercent: Math.max(current.progressPercent, reportedProgress),
      currentActorIdx,
      routeActors: actors,
      currentActorName: actors[currentActorIdx] ?? null,
      late: input.actorState !== undefined && reportedProgress < current.progressPercent,
    },
  };
}

export interface FinalChange {
  status: FinalStatus;
  progressPercent: number;
}

/** A failure keeps the progress it reached: the work was not done, so it does not jump to 100. */
export function decideFinal(current: LifecycleSnapshot, status: FinalStatus): Decision<FinalChange> {
  if (isFinal(current.status)) return { kind: 'ignore', reason: `envelope is already ${current.status}` };
  return {
    kind: 'apply',
    next: { status, progressPercent: status === 'succeeded' ? 100 : current.progressPercent },
  };
}

/**
 * Only a failure can be replayed: a success is done, an unfinished envelope is still on its way, and a
 * cancel was the client's decision, which an operator's replay must not silently undo.
 */
export function decideReopen(current: { status: EnvelopeStatus; cancelled: boolean }): Decision<{ status: 'running' }> {
  if (current.status !== 'failed') return { kind: 'ignore', reason: `envelope is ${current.status}, not failed` };
  if (current.cancelled) return { kind: 'ignore', reason: 'envelope was cancelled' };
  return { kind: 'apply', next: { status: 'running' } };
}

/**
 * A pause report. `repeat`: the envelope is paused already (the sidecar's report was delivered twice, or
 * its input message was): nothing changes, and the sender may ack.
 */
export function decidePause(current: { status: EnvelopeStatus }): Decision<{ status: 'paused' }> | { kind: 'repeat' } {
  if (isFinal(current.status)) return { kind: 'ignore', reason: `envelope is already ${current.status}` };
  if (current.status === 'paused') return { kind: 'repeat' };
  return { kind: 'apply', next: { status: 'paused' } };
}

/** Only a paused envelope can be resumed, and only once per pause. */
export function decideResume(current: { status: EnvelopeStatus }): Decision<{ status: 'running' }> {
  if (current.status !== 'paused') return { kind: 'ignore', reason: `envelope is ${current.status}, not paused` };
  return { kind: 'apply', next: { status: 'running' } };
}

/**
 * The deadline a resumed envelope carries on: the time spent waiting for a person does not count, so the
 * old deadline moves by how long the pause lasted. No deadline stays none.
 */
export function deadlineAfterPause(deadline: Date | null, pausedAt: Date, resumedAt: Date): Date | null {
  if (!deadline) return null;
  return new Date(deadline.getTime() + Math.max(0, resumedAt.getTime() - pausedAt.getTime()));
}

export interface Branch {
  id: string;
  status: EnvelopeStatus;
  result: JsonValue;
  error: string | null;
}

export interface FanOutParent {
  id: string;
  /** Outcome of the parent's own flow when an old sidecar let branch 0 keep the parent id. */
  ownBranch: Omit<Branch, 'id'> | null;
  /** Branch count the fan-out announced, when the sidecar told us. */
  fanoutSize: number | null;
}

export interface FanOutChild extends Branch {
  index: number;
}

export interface FanOutOutcome {
  status: FinalStatus;
  result: JsonValue;
  error: string | null;
  message: string;
}

/**
 * Decides whether a fan-out parent is finished.
 *
 * Branches, in order: the parent's own flow first when the children start at index 1 (the original's id
 * scheme, where output 0 keeps the parent id), then the children by index. The parent finishes only when
 * every branch is final and, if the sidecar announced a size, that many branches exist (a fast child must
 * not finish the parent before its siblings are registered).
 * - all succeeded: succeeded, result = the branch results in order;
 * - any failed: failed once all are final, result = per-branch {id, status, result?, error?} in order,
 *   error = "<k> of <n> fan-out branches failed: <id>: <code> at <actor>: <type>: <message>; ..." naming
 *   the first few failed branches with their handler's message and exception type.
 * Returns undefined while the parent must keep waiting.
 */
/** What counting a parent's children tells, without reading their results. */
export interface FanOutCounts {
  children: number;
  /** Children not final yet. */
  pending: number;
  /** Some child holds index 0 (else the parent's own flow is branch 0). */
  hasIndexZero: boolean;
}

/**
 * True when the counts alone show settleFanOut must return undefined (the parent keeps waiting), so the
 * finals of a fan-out of n read the n results once, at the last, instead of at every one (n² read).
 * Never true where settleFanOut would settle; false means only "read the children and see".
 */
export function fanOutWaitsByCounts(parent: FanOutParent, counts: FanOutCounts): boolean {
  if (counts.children === 0 || counts.pending > 0) return true;
  const ownBranchExpected = parent.ownBranch !== null || !counts.hasIndexZero;
  if (ownBranchExpected && (parent.ownBranch === null || !isFinal(parent.ownBranch.status))) return true;
  const branches = counts.children + (ownBranchExpected ? 1 : 0);
  return parent.fanoutSize !== null && branches < parent.fanoutSize;
}

export function settleFanOut(parent: FanOutParent, children: readonly FanOutChild[]): FanOutOutcome | undefined {
  if (children.length === 0) return undefined;
  const ordered = [...children].sort((a, b) => a.index - b.index);
  const ownBranchExpected = parent.ownBranch !== null || !ordered.some((c) => c.index === 0);
  if (ownBranchExpected && parent.ownBranch === null) return undefined;
  const branches: Branch[] = [
    ...(ownBranchExpected && parent.ownBranch ? [{ id: parent.id, ...parent.ownBranch }] : []),
    ...ordered,
  ];
  if (parent.fanoutSize !== null && branches.length < parent.fanoutSize) return undefined;
  if (!branches.every((b) => isFinal(b.status))) return undefined;
  const failed = branches.filter((b) => b.status === 'failed');
  if (failed.length === 0) {
    return {
      status: 'succeeded',
      result: branches.map((b) => b.result),
      error: null,
      message: `All ${branches.length} fan-out branches succeeded`,
    };
  }
  const named = failed.slice(0, NAMED_FAILURES).map((b) => `${b.id}: ${failureText(b)}`);
  if (failed.length > NAMED_FAILURES) named.push(`and ${failed.length - NAMED_FAILURES} more (see the result)`);
  return {
    status: 'failed',
    result: branches.map((b) => ({
      id: b.id,
      status: b.status,
      ...(b.status === 'succeeded' ? { result: b.result } : { error: b.error ?? '', ...failureDetails(b) }),
    })),
    error: `${failed.length} of ${branches.length} fan-out branches failed: ${named.join('; ')}`,
    message: `Fan-out failed in ${failed.length} of ${branches.length} branches`,
  };
}

/** How many failed branches the parent's error names; the result lists every one. */
const NAMED_FAILURES = 5;

/**
 * A failed branch's own result is the failure the gateway stored for it (gateway/http/report-bodies.ts):
 * `{error, details: {message, type, ...}, failed_actor}`. Its error column holds only the code
 * (processing_error), so the handler's message and exception type come from there.
 */
function failureDetails(branch: Branch): { message?: string; type?: string; failed_actor?: string } {
  const failure = isPlainObject(branch.result) ? branch.result : {};
  const details = isPlainObject(failure.details) ? failure.details : {};
  return {
    ...(typeof details.message === 'string' ? { message: details.message } : {}),
    ...(typeof details.type === 'string' ? { type: details.type } : {}),
    ...(typeof failure.failed_actor === 'string' ? { failed_actor: failure.failed_actor } : {}),
  };
}

export function failureText(branch: Branch): string {
  const { message, type, failed_actor: actor } = failureDetails(branch);
  const code = branch.error ?? 'failed';
  if (message === undefined) return code;
  return `${code}${actor ? ` at ${actor}` : ''}: ${type ? `${type}: ` : ''}${message}`;
}
