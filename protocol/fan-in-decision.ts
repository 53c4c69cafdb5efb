/**
 * When a fan-in is complete and what it produces, kept pure so the rules are tested directly and each store
 * only gathers the facts: the policy, how many children the fan-out announced, the children it knows with
 * their outcomes, and whether the fan-in's timeout has passed. Two stores use it: the gateway's
 * (gateway/store/fan-in-sql.ts) and the fan-in actor's own in the minimal pattern (crew/fan-in-store.ts).
 */
import type { FanInFailure, FanInPolicy, PartialResults } from './fan-in.ts';
import type { JsonValue } from './json.ts';

export type FanInDecision =
  | { kind: 'wait' }
  | { kind: 'emit'; payload: JsonValue; message: string }
  | { kind: 'fail'; error: string; result: JsonValue; message: string };

/** One child as a store knows it: arrived with a result, failed with a reason, or still on its way. */
export type KnownChild = { id: string; index: number } & ({ ok: true; result: JsonValue } | { ok: false; error: string } | { pending: true });

/** Why a child is counted failed when the fan-in stops waiting for it. */
export function missingChildError(actor: string, timeoutMs: number): string {
  return `did not reach fan-in ${actor} within ${timeoutMs} ms`;
}

export function decideFanIn(input: {
  policy: FanInPolicy;
  parentId: string;
  /** Announced by the fan-out; null when unknown (then the children the store knows are all). */
  fanoutSize: number | null;
  children: readonly KnownChild[];
  expired: boolean;
  missingError: string;
}): FanInDecision {
  const byIndex = new Map(input.children.map((c) => [c.index, c]));
  const size = Math.max(input.fanoutSize ?? 0, ...input.children.map((c) => c.index + 1));
  const slots: KnownChild[] = [];
  for (let i = 0; i < size; i++) {
    const child = byIndex.get(i);
    if (child) slots.push(child);
    else {
      const id = `${input.parentId}-${i}`;
      slots.push(input.expired ? { id, index: i, ok: false, error: input.missingError } : { id, index: i, pending: true });
    }
  }
  const failures = slots.filter((s): s is KnownChild & { ok: false; error: string } => 'ok' in s && !s.ok);
  if (input.policy === 'fail-fast' && failures.length > 0) {
    const first = failures[0]!;
    return {
      kind: 'fail',
      error: `fan-in (fail-fast): child ${first.id} failed: ${first.error}`,
      result: failures.map(failureOf) as unknown as JsonValue,
      message: `Fan-in failed: ${failures.length} of ${size} children failed`,
    };
  }
  if (slots.length === 0 || slots.some((s) => 'pending' in s)) return { kind: 'wait' };
  const summary = `Fan-in complete: ${size - failures.length} of ${size} children succeeded`;
  if (input.policy === 'partial') {
    const payload: PartialResults = {
      results: slots.flatMap((s) => ('ok' in s && s.ok ? [s.result] : [])),
      errors: failures.map((f) => failureOf(f).fan_in_error),
    };
    return { kind: 'emit', payload: payload as unknown as JsonValue, message: summary };
  }
  const payload = slots.map((s) => ('ok' in s && s.ok ? s.result : (failureOf(s as KnownChild & { error: string }) as unknown as JsonValue)));
  return { kind: 'emit', payload, message: summary };
}

function failureOf(slot: { id: string; index: number; error: string }): FanInFailure {
  return { fan_in_error: { id: slot.id, index: slot.index, error: slot.error } };
}
