/**
 * The gateway store's view of a fan-in: its children's rows, turned into the outcomes the pure rules of
 * protocol/fan-in-decision.ts (shared with the fan-in actor's own store in the minimal pattern) decide on.
 */
import { decideFanIn as decideKnown, missingChildError, type FanInDecision, type KnownChild } from '../../protocol/fan-in-decision.ts';
import type { FanInPolicy } from '../../protocol/fan-in.ts';
import { failureText, isFinal, type FanOutChild } from './state-machine.ts';

export { missingChildError, type FanInDecision };

/** fanout-sql.ts numbers children without an index from here on, past any real index. */
export const UNINDEXED = 1_000_000;

function known(child: FanOutChild): KnownChild {
  if (!isFinal(child.status)) return { id: child.id, index: child.index, pending: true };
  if (child.status === 'succeeded') return { id: child.id, index: child.index, ok: true, result: child.result };
  return { id: child.id, index: child.index, ok: false, error: failureText(child) };
}

export function decideFanIn(input: {
  policy: FanInPolicy;
  parentId: string;
  /** Announced by the fan-out; null from an old sidecar (then the children the store knows are all). */
  fanoutSize: number | null;
  children: readonly FanOutChild[];
  expired: boolean;
  missingError: string;
}): FanInDecision {
  // fanout-sql.ts places children without an index (none of ours) past any real one: not a slot.
  return decideKnown({ ...input, children: input.children.filter((c) => c.index < UNINDEXED).map(known) });
}
