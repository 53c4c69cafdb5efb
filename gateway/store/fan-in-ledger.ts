/**
 * The store's fan-in: arrivals, settling by policy, timeouts, and the combined envelopes' outbox. It works
 * inside the envelope store's transactions and with its locking order (child, then parent, then the
 * parent's fan_ins row), through the few store internals it is handed.
 */
import type { FanInArrival } from '../../protocol/fan-in.ts';
import type { SqlDriver, SqlExecutor } from './driver.ts';
import { missingChildError } from './fan-in-decision.ts';
import {
  claimFanInOutbox,
  combinedEnvelope,
  conclude,
  decide,
  deleteFanInMessage,
  expiredFanIns,
  lockFanIn,
  openFanIn,
  surelyWaiting,
  unfinishedChildren,
} from './fan-in-sql.ts';
import type { EnvelopeRow } from './rows.ts';
import { isFinal } from './state-machine.ts';
import type { Finish } from './finish-sql.ts';
import { InvalidEnvelopeInputError, type FanInArrivalResult, type FanInMessage, type FanInStore, type RegisterChildInput, type UpdateResult } from './store.ts';

export interface LedgerHooks {
  lock(tx: SqlExecutor, id: string): Promise<EnvelopeRow | undefined>;
  finish(tx: SqlExecutor, row: EnvelopeRow, finish: Finish): Promise<UpdateResult>;
  settleAncestors(tx: SqlExecutor, parentId: string): Promise<void>;
  appendEvent(tx: SqlExecutor, row: EnvelopeRow, message: string): Promise<void>;
  finishById(id: string, finish: Finish): Promise<UpdateResult>;
  registerChild(input: RegisterChildInput): Promise<UpdateResult>;
}

/** What settling a parent found: no fan-in, still waiting, or the outcome it set now or before. */
export type FanInSettle = 'none' | 'waiting' | 'emitted' | 'failed' | 'done';

export class FanInLedger implements FanInStore {
  constructor(
    private readonly db: SqlDriver,
    private readonly hooks: LedgerHooks,
  ) {}

  /**
   * One child reached the fan-in step. Idempotent: a redelivered child finds itself final.
   * Registrations travel from the fan-out's sidecar in the background, so a fast child can get here first.
   * Once a sibling's registration told the fan-out's size, the child's own `<parent>-<index>` id says the
   * rest and it is registered here; before that the caller is asked to come back (not_registered).
   */
  async arrive(childId: string, arrival: FanInArrival): Promise<FanInArrivalResult> {
    const first = await this.arriveOnce(childId, arrival);
    if (first.status !== 'not_registered') return first;
    const registration = await this.registrationFromId(childId, arrival);
    if (!registration) return first;
    await this.hooks.registerChild(registration);
    return this.arriveOnce(childId, arrival);
  }

  private async registrationFromId(childId: string, arrival: FanInArrival): Promise<RegisterChildInput | undefined> {
    const suffix = childId.startsWith(`${arrival.parent_id}-`) ? childId.slice(arrival.parent_id.length + 1) : '';
    if (!/^\d{1,9}$/.test(suffix)) return undefined;
    const found = await this.db.query(`select fanout_size from envelopes where id = $1`, [arrival.parent_id]);
    const size = found[0]?.fanout_size;
    const index = Number(suffix);
    if (size === null || size === undefined || index >= Number(size)) return undefined;
    return { id: childId, parentId: arrival.parent_id, index, fanoutSize: Number(size), actors: arrival.route.actors, routeCurrent: arrival.route.current - 1 };
  }

  private arriveOnce(childId: string, arrival: FanInArrival): Promise<FanInArrivalResult> {
    return this.db.transaction(async (tx): Promise<FanInArrivalResult> => {
      const child = await this.hooks.lock(tx, childId);
      if (!child || child.parentId === null) {
        return { status: 'not_registered', reason: `fan-out child ${childId} is not registered with its parent yet` };
      }
      if (child.parentId !== arrival.parent_id) {
        throw new InvalidEnvelopeInputError(`envelope ${childId} is a fan-out child of ${child.parentId}, not of ${arrival.parent_id}`);
      }
      const parent = await this.hooks.lock(tx, child.parentId);
      if (!parent) return { status: 'not_found', reason: `parent envelope ${child.parentId} not found` };
      if (isFinal(child.status)) return { status: 'ignored', reason: `child is already ${child.status}` };
      const fanIn = await openFanIn(tx, arrival);
      const late = isFinal(parent.status) ? `parent is already ${parent.status}` : fanIn.outcome ? `the fan-in has ${fanIn.outcome}` : undefined;
      if (late) {
        // The fan-in went on without this child (or failed): its result is part of nothing, so the child
        // ends failed, as the combined envelope already shows it.
        const error = `reached fan-in ${arrival.actor} after it ended (${late})`;
        await this.hooks.finish(tx, child, { status: 'failed', error, message: `Reached fan-in ${arrival.actor} after it ended` });
        return { status: 'ignored', reason: late };
      }
      await this.hooks.finish(tx, child, { status: 'succeeded', result: arrival.payload, message: `Joined fan-in ${arrival.actor} of ${parent.id}` });
      await this.hooks.settleAncestors(tx, parent.id);
      const after = await lockFanIn(tx, parent.id);
      return { status: after?.outcome ?? 'waiting' };
    });
  }

  /** A parent that fanned in and went on: its own final report is its own, not its children's. */
  async joined(tx: SqlExecutor, parentId: string): Promise<boolean> {
    const found = await tx.query(`select 1 from fan_ins where parent_id = $1 and outcome = 'emitted'`, [parentId]);
    return found.length > 0;
  }

  /** Called with the parent locked whenever one of its children finished (or the fan-in timed out). */
  async settle(tx: SqlExecutor, parent: EnvelopeRow): Promise<FanInSettle> {
    const fanIn = await lockFanIn(tx, parent.id);
    if (!fanIn) return 'none';
    if (fanIn.outcome) return 'done';
    if (await surelyWaiting(tx, parent, fanIn)) return 'waiting';
    const decision = await decide(tx, parent, fanIn);
    if (decision.kind === 'wait') return 'waiting';
    if (decision.kind === 'emit') {
      const envelope = combinedEnvelope(parent, fanIn, decision.payload);
      await conclude(tx, fanIn, 'emitted', { queue: fanIn.queue, body: JSON.stringify(envelope) });
      await this.hooks.appendEvent(tx, parent, decision.message);
      return 'emitted';
    }
    await conclude(tx, fanIn, 'failed');
    await this.hooks.finish(tx, parent, { status: 'failed', error: decision.error, result: decision.result, message: decision.message });
    return 'failed';
  }

  /**
   * Fan-ins past their timeout: children still unfinished fail (each in its own transaction, child before
   * parent), then the parent settles with the children that never registered counted as failed too.
   * Returns the parents it settled.
   */
  async expire(limit = 100): Promise<string[]> {
    const settled: string[] = [];
    for (const { parentId, actor, timeoutMs } of await expiredFanIns(this.db, limit)) {
      const error = missingChildError(actor, timeoutMs);
      for (const id of await unfinishedChildren(this.db, parentId)) {
        await this.hooks.finishById(id, { status: 'failed', error, message: `Did not reach fan-in ${actor} in time` });
      }
      await this.db.transaction(async (tx) => {
        const parent = await this.hooks.lock(tx, parentId);
        if (parent && !isFinal(parent.status)) await this.hooks.settleAncestors(tx, parentId);
        // A parent that ended some other way (cancel, deadline) leaves its fan-in nothing to wait for.
        else await tx.query(`update fan_ins set outcome = 'failed' where parent_id = $1 and outcome is null`, [parentId]);
      });
      settled.push(parentId);
    }
    return settled;
  }

  claimOutbox(leaseMs: number, limit = 100): Promise<FanInMessage[]> {
    return claimFanInOutbox(this.db, leaseMs, limit);
  }

  markPublished(parentId: string): Promise<void> {
    return deleteFanInMessage(this.db, parentId);
  }
}

