/**
 * EnvelopeStore on any SqlDriver. Every change locks the envelope's row (SELECT ... FOR UPDATE), asks the
 * pure state machine what to do, writes the row and one event, and NOTIFYs in the same transaction, so
 * the guards hold with any number of replicas and a subscriber is woken only for committed events.
 *
 * Locks are always taken child before parent (a finishing child settles its parent), and a cancel's
 * cascade to descendants runs in separate transactions, so two writers never wait on each other in a cycle.
 */
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../protocol/json.ts';
import type { SqlDriver, SqlExecutor, SqlParam } from './driver.ts';
import * as reads from './reads.ts';
import * as rows from './rows.ts';
import { ENVELOPE_COLUMNS, TEXT_ARRAY, type EnvelopeRow } from './rows.ts';
import { childCounts, children, growFanout, isAncestor, parentsAmong } from './fanout-sql.ts';
import { pipelined } from './pipelined.ts';
import { ALONE, finalsBatcher, type BatchAnswer, type FinalBatcher, type FinalWrite } from './batched-finals.ts';
import { appendEvents, finishRows, type EventFacts, type Finish } from './finish-sql.ts';
import { createBatcher, type CreateBatcher } from './batched-creates.ts';
import { progressBatcher, type ProgressBatcher } from './batched-progress.ts';
import { decideReport, type ProgressWrite } from './progress-sql.ts';
import { insertEnvelope, newEnvelope, type NewEnvelope } from './insert-sql.ts';
import { claimDue, publishedBatcher } from './outbox-sql.ts';
import { FanInLedger } from './fan-in-ledger.ts';
import type { GroupCommit } from './group-commit.ts';
import { pendingMigrations } from './migrate.ts';
import { deadlineAfterPause, decidePause, decideReopen, decideResume, fanOutWaitsByCounts, isFinal, settleFanOut } from './state-machine.ts';
import * as pauses from './pause-sql.ts';
import { withInput } from '../../protocol/pause.ts';
import {
  CANCELLED_ERROR,
  DuplicateEnvelopeError,
  InvalidEnvelopeInputError,
  StoreError,
  PAUSE_TIMEOUT_ERROR,
  TIMEOUT_ERROR,
  type CreateEnvelopeInput,
  type CreateOnceResult,
  type IdempotencyInput,
  type EnvelopeEvent,
  type EnvelopePage,
  type EnvelopeRecord,
  type EnvelopeSummary,
  type EnvelopeStore,
  type FinalInput,
  type FinalStatus,
  type ListFilter,
  type PauseInput,
  type PauseRecord,
  type PauseResult,
  type ProgressInput,
  type ResumedMessage,
  type ResumeInput,
  type ResumeResult,
  type RegisterChildInput,
  type ReopenInput,
  type ReopenResult,
  type EnvelopeHead,
  type Followed,
  type SubscribeOptions,
  type Subscription,
  type UpdateResult,
} from './store.ts';
import { SubscriptionHub } from './subscriptions.ts';

const ACTOR_STATES = new Set(['received', 'processing', 'completed']);
const NOT_FINAL = `status in ('pending', 'running')`;

/** NOTIFY channels are per database, not per schema: each schema gets its own, within 63 bytes. */
export function channelFor(schema?: string): string {
  if (!schema || schema === 'public') return 'asya_envelopes';
  const plain = `asya_envelopes_${schema}`;
  if (/^[a-z0-9_]+$/.test(plain) && plain.length <= 63) return plain;
  return `asya_envelopes_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

export class SqlEnvelopeStore implements EnvelopeStore {
  private readonly hub: SubscriptionHub;
  private readonly creates: CreateBatcher;
  private readonly published: GroupCommit<string, void>;
  private readonly progress: ProgressBatcher;
  private readonly finals: FinalBatcher;
  private listening: Promise<void> | undefined;
  private schemaCurrent = false;
  /** Fan-in state and its outbox (fan-in-ledger.ts); settling a fan-out parent asks it first. */
  readonly fanIns: FanInLedger;

  constructor(
    private readonly db: SqlDriver,
    private readonly channel: string,
    onBackgroundError?: (error: unknown) => void,
  ) {
    this.hub = new SubscriptionHub(
      {
        eventsBySeq: (seqs) => reads.eventsBySeq(db, seqs),
        eventsSince: (id, after, limit) => reads.eventsSince(db, id, after, limit),
        maxSeq: (id) => reads.maxSeq(db, id),
      },
      onBackgroundError,
    );
    this.creates = createBatcher(db, channel);
    this.published = publishedBatcher(db);
    this.fanIns = new FanInLedger(db, {
      lock: (tx, id) => this.lock(tx, id),
      finish: (tx, row, finish) => this.finish(tx, row, finish),
      settleAncestors: (tx, id) => this.settleAncestors(tx, id),
      appendEvent: (tx, row, message) => this.appendEvent(tx, row, { message }).then(() => undefined),
      finishById: (id, finish) => this.finishById(id, finish),
      registerChild: (input) => this.registerChild(input),
    });
    this.progress = progressBatcher(db, channel, (tx, write) => this.applyProgress(tx, write), (results) => this.wroteEvents(results));
    this.finals = finalsBatcher(db, (tx, batch) => this.finishTogether(tx, batch), (write) => this.finishAlone(write));
  }

  async create(input: CreateEnvelopeInput): Promise<EnvelopeRecord> {
    const envelope = this.checkedNew(input);
    const row = await this.creates.submit(envelope, envelope.element.length);
    if (!row) throw new DuplicateEnvelopeError(envelope.id);
    return rows.toRecord(row);
  }

  async createOnce(input: CreateEnvelopeInput, idempotency: IdempotencyInput): Promise<CreateOnceResult> {
    rows.checkText(idempotency.key, 'idempotency key');
    rows.checkText(idempotency.requestHash, 'idempotency request hash');
    if (idempotency.key === '') throw new InvalidEnvelopeInputError('idempotency key must not be empty');
    const envelope = this.checkedNew(input, idempotency);
    // Insert first: a new key (the usual case) costs nothing more than a plain create. A key already
    // held, or inserted meanwhile by another replica, makes the insert skip its row; then it is read.
    // Twice at most: the holder may be deleted (retention) between the skipped insert and the read.
    for (let attempt = 0; attempt < 2; attempt++) {
      const row = await this.creates.submit(envelope, envelope.element.length);
      if (row) return { outcome: 'created', envelope: rows.toRecord(row) };
      const held = await reads.byIdempotencyKey(this.db, input.owner, idempotency.key);
      if (held) return { outcome: 'existing', ...held };
      if (await this.get(envelope.id)) throw new DuplicateEnvelopeError(envelope.id);
    }
    throw new StoreError(`idempotency key ${JSON.stringify(idempotency.key)} was taken and released while creating envelope ${envelope.id}`);
  }

  private checkedNew(input: CreateEnvelopeInput, idempotency?: IdempotencyInput): NewEnvelope {
    const id = rows.checkId(input.id);
    const actors = rows.checkActors(input.actors);
    if (input.parentId !== undefined) rows.checkId(input.parentId, 'parentId');
    rows.checkIndex(input.routeCurrent, 'routeCurrent');
    rows.checkIndex(input.timeoutSeconds, 'timeoutSeconds');
    rows.checkDate(input.deadline, 'deadline');
    rows.checkText(input.toolName, 'toolName');
    rows.checkText(input.owner, 'owner');
    rows.checkJson(input.payload, 'payload');
    rows.checkJson(input.routeMetadata, 'routeMetadata');
    rows.checkJson(input.headers, 'headers');
    rows.checkIndex(input.outbox?.leaseMs, 'outbox.leaseMs');
    return newEnvelope(id, actors, input, idempotency);
  }

  get(id: string): Promise<EnvelopeRecord | undefined> {
    return reads.getEnvelope(this.db, id);
  }

  list(filter: ListFilter = {}): Promise<EnvelopePage> {
    return reads.listEnvelopes(this.db, filter);
  }

  summaries(ids: readonly string[]): Promise<EnvelopeSummary[]> {
    return reads.summaries(this.db, ids);
  }

  eventsSince(envelopeId: string | undefined, afterSeq: number, limit = 1000): Promise<EnvelopeEvent[]> {
    return reads.eventsSince(this.db, envelopeId, afterSeq, limit);
  }

  claimOutbox(leaseMs: number, limit = 100): Promise<EnvelopeRecord[]> {
    return claimDue(this.db, leaseMs, limit);
  }

  markPublished(id: string): Promise<void> {
    return this.published.submit(rows.checkId(id), 1);
  }

  deleteOlderThan(cutoff: Date): Promise<number> {
    return reads.deleteFinalOlderThan(this.db, cutoff);
  }

  async appendProgress(id: string, input: ProgressInput): Promise<UpdateResult> {
    if (input.actorState !== undefined && !ACTOR_STATES.has(input.actorState)) {
      throw new InvalidEnvelopeInputError(`actorState must be received, processing or completed`);
    }
    rows.checkIndex(input.currentActorIdx, 'currentActorIdx');
    if (input.actors !== undefined) rows.checkActors(input.actors);
    rows.checkText(input.message, 'message');
    return this.progress.submit({ id, input }, 1);
  }

  /** One report in a transaction of its own, its envelope locked (batched-progress.ts: when the batch could not be written). */
  private async applyProgress(tx: SqlExecutor, { id, input }: ProgressWrite): Promise<UpdateResult> {
    const decided = decideReport(id, await this.lock(tx, id), input);
    if ('answer' in decided) return decided.answer;
    const { after, facts } = decided;
    // The event says what the update writes, so both go in one round trip (pipelined.ts), the update first.
    const [updated, event] = await pipelined(
      this.updateOne(
        tx,
        `status = $2, progress_percent = $3, current_actor_idx = $4, current_actor_name = $5,
         message = $6, route_actors = ${TEXT_ARRAY(7)}, total_actors = $8`,
        [id, after.status, after.progressPercent, after.currentActorIdx, after.currentActorName, after.message, JSON.stringify(after.routeActors), after.totalActors],
      ),
      this.appendEvent(tx, after, facts),
    );
    return { outcome: 'applied', envelope: rows.toRecord(updated), event };
  }

  async setFinal(id: string, input: FinalInput): Promise<UpdateResult> {
    if (input.status !== 'succeeded' && input.status !== 'failed') {
      throw new InvalidEnvelopeInputError(`Invalid status: must be 'succeeded' or 'failed'`);
    }
    rows.checkText(input.error, 'error');
    rows.checkText(input.message, 'message');
    // Any JSON: what jsonb cannot hold is escaped on the way in (rows.resultParam).
    const size = rows.checkJson(input.result, 'result', { nulAllowed: true });
    return this.finals.submit({ id, input }, size);
  }

  /** A batch of finals for distinct envelopes, in one transaction (batched-finals.ts). */
  private async finishTogether(tx: SqlExecutor, batch: FinalWrite[]): Promise<BatchAnswer[]> {
    const ids = batch.map((w) => w.id);
    // Sent together (pipelined.ts): the server reads the parents after it took the locks, in the same round trip.
    const [locked, parents] = await pipelined(this.lockAll(tx, ids), parentsAmong(tx, ids));
    const answers = new Array<BatchAnswer>(batch.length);
    const plain: Array<{ i: number; row: EnvelopeRow; finish: Finish }> = [];
    batch.forEach(({ id, input }, i) => {
      const row = locked.get(id);
      if (!row) answers[i] = { outcome: 'not_found', id };
      else if (row.parentId !== null || parents.has(id)) answers[i] = ALONE;
      else plain.push({ i, row, finish: finalFinish(input) });
    });
    const finished = this.wroteEvents(await finishRows(tx, this.channel, plain));
    plain.forEach(({ i }, k) => {
      answers[i] = finished[k]!;
    });
    return answers;
  }

  private finishAlone({ id, input }: FinalWrite): Promise<UpdateResult> {
    return this.db.transaction(async (tx) => {
      const row = await this.lock(tx, id);
      if (!row) return { outcome: 'not_found', id };
      if (isFinal(row.status)) return { outcome: 'ignored', envelope: rows.toRecord(row), reason: `envelope is already ${row.status}` };
      const kids = await children(tx, id);
      // A parent whose children fanned in continues as an envelope of its own (fan-in-ledger.ts).
      if (kids.length === 0 || (await this.fanIns.joined(tx, id))) return this.finishAndSettle(tx, row, finalFinish(input));
      const ownBranch = { status: input.status, result: input.result ?? null, error: input.error ?? null };
      const outcome = settleFanOut({ id, ownBranch, fanoutSize: row.fanoutSize }, kids);
      if (outcome) return this.finishAndSettle(tx, row, outcome);
      const message = `Own branch ${input.status}; waiting for fan-out children`;
      const updated = await this.updateOne(
        tx,
        `branch_status = $2, branch_result = $3::text::jsonb, branch_error = $4, message = $5`,
        [id, input.status, rows.resultParam(input.result), input.error ?? null, message],
      );
      const event = await this.appendEvent(tx, updated, { message });
      return { outcome: 'deferred', envelope: rows.toRecord(updated), event };
    });
  }

  async registerChild(input: RegisterChildInput): Promise<UpdateResult> {
    const id = rows.checkId(input.id);
    rows.checkId(input.parentId, 'parentId');
    const actors = rows.checkActors(input.actors);
    rows.checkIndex(input.index, 'index');
    rows.checkIndex(input.fanoutSize, 'fanoutSize');
    rows.checkIndex(input.routeCurrent, 'routeCurrent');
    rows.checkDate(input.deadline, 'deadline');
    rows.checkJson(input.payload, 'payload');
    rows.checkJson(input.headers, 'headers');
    for (;;) {
      const result = await this.db.transaction(async (tx) => {
        // Child before parent, as everywhere: a finishing child locks itself, then settles its parent.
        const existing = await this.lock(tx, id);
        const parent = await this.lock(tx, input.parentId);
        if (!parent) return { outcome: 'not_found', id: input.parentId } as const;
        if (existing && existing.parentId === null && (await isAncestor(tx, existing.id, parent.id))) {
          throw new InvalidEnvelopeInputError(`envelope ${id} cannot be a fan-out child of its own descendant ${parent.id}`);
        }
        if (existing && existing.parentId !== null) {
          if (existing.parentId !== parent.id) {
            throw new InvalidEnvelopeInputError(`envelope ${id} is already a fan-out child of ${existing.parentId}`);
          }
          await growFanout(tx, parent.id, input.fanoutSize);
          return { outcome: 'ignored', envelope: rows.toRecord(existing), reason: 'child already registered' } as const;
        }
        await growFanout(tx, parent.id, input.fanoutSize);
        const child = existing
          ? await this.link(tx, existing, parent, input)
          : await insertEnvelope(tx, id, actors, {
              payload: input.payload ?? null,
              routeCurrent: input.routeCurrent,
              headers: input.headers ?? parent.headers ?? undefined,
              deadline: input.deadline ?? parent.deadline ?? undefined,
              parentId: parent.id,
              ...(parent.owner ? { owner: parent.owner } : {}),
            }, input.index);
        // Created meanwhile by the child's own first progress report: retry as a link, locking it first.
        if (!child) return undefined;
        const event = await this.appendEvent(tx, child, { message: `Fan-out child ${input.index} of ${parent.id}` });
        if (isFinal(child.status)) await this.settleAncestors(tx, parent.id);
        return { outcome: 'applied', envelope: rows.toRecord(child), event } as const;
      });
      if (result) return result;
    }
  }

  /** Adopts an envelope that progress created before its registration; keeps what it already knows. */
  private link(tx: SqlExecutor, child: EnvelopeRow, parent: EnvelopeRow, input: RegisterChildInput): Promise<EnvelopeRow> {
    return this.updateOne(
      tx,
      `parent_id = $2, fanout_index = $3, headers = coalesce(headers, $4::text::jsonb),
       deadline = case when deadline is null or deadline < ${rows.NO_DEADLINE_BEFORE} then $5::timestamptz else deadline end,
       owner = coalesce(owner, $6)`,
      [child.id, parent.id, input.index, rows.jsonParam(input.headers ?? parent.headers ?? undefined),
        rows.dateParam(input.deadline ?? parent.deadline), parent.owner],
    );
  }

  async reopen(id: string, input: ReopenInput = {}): Promise<ReopenResult> {
    rows.checkText(input.reason, 'reason');
    rows.checkIndex(input.timeoutSeconds, 'timeoutSeconds');
    const message = input.reason ? `Envelope replayed: ${input.reason}` : 'Envelope replayed';
    return this.db.transaction(async (tx) => {
      const row = await this.lock(tx, id);
      if (!row) return { outcome: 'not_found', id };
      const decision = decideReopen(row);
      if (decision.kind === 'ignore') return { outcome: 'refused', envelope: rows.toRecord(row), reason: decision.reason };
      const updated = await this.reopenRow(tx, row, message, input.timeoutSeconds);
      const event = await this.appendEvent(tx, updated, { message, state: 'replayed' });
      // A failed fan-out parent failed because of its branches (or its deadline): it must wait for the
      // replayed branch again. Locked upward, child before parent, as everywhere.
      let parentId = row.parentId;
      while (parentId) {
        const parent = await this.lock(tx, parentId);
        if (!parent || decideReopen(parent).kind === 'ignore') break;
        const note = `Envelope replayed: fan-out branch ${id} was replayed`;
        await this.appendEvent(tx, await this.reopenRow(tx, parent, note, input.timeoutSeconds), { message: note, state: 'replayed' });
        parentId = parent.parentId;
      }
      return { outcome: 'applied', envelope: rows.toRecord(updated), event };
    });
  }

  /** running again, progress kept, the failure forgotten; the old deadline has passed, so clear or re-arm it. */
  private reopenRow(tx: SqlExecutor, row: EnvelopeRow, message: string, timeoutSeconds: number | undefined): Promise<EnvelopeRow> {
    const timeout = timeoutSeconds && timeoutSeconds > 0 ? timeoutSeconds : null;
    return this.updateOne(
      tx,
      `status = 'running', result = null, error = null, message = $2,
       deadline = case when $3::integer is null then null else now() + make_interval(secs => $3::integer) end,
       timeout_sec = coalesce($3::integer, timeout_sec)`,
      [row.id, message, timeout],
    );
  }

  async pause(id: string, input: PauseInput): Promise<PauseResult> {
    rows.checkText(input.actor, 'actor');
    rows.checkText(input.prompt, 'prompt');
    rows.checkText(input.queue, 'queue');
    rows.checkText(input.inputKey, 'inputKey');
    rows.checkJson(input.schema, 'schema');
    rows.checkJson(input.message, 'message');
    rows.checkJson(input.default?.value, 'default');
    if (input.timeoutSeconds !== undefined && !(input.timeoutSeconds > 0 && Number.isFinite(input.timeoutSeconds))) {
      throw new InvalidEnvelopeInputError('timeoutSeconds must be a positive number');
    }
    const message = `Paused at ${input.actor}: ${input.prompt}`;
    return this.db.transaction(async (tx) => {
      const row = await this.lock(tx, id);
      if (!row) return { outcome: 'not_found', id };
      const decision = decidePause(row);
      if (decision.kind === 'repeat') return { outcome: 'repeat', envelope: rows.toRecord(row) };
      if (decision.kind === 'ignore') return { outcome: 'ignored', envelope: rows.toRecord(row), reason: decision.reason };
      await pauses.upsertPause(tx, id, input);
      const updated = await this.updateOne(tx, `status = 'paused', message = $2`, [id, message]);
      const event = await this.appendEvent(tx, updated, { message, state: 'paused' });
      return { outcome: 'applied', envelope: rows.toRecord(updated), event };
    });
  }

  getPause(id: string): Promise<PauseRecord | undefined> {
    return pauses.getPause(this.db, id);
  }

  async resume(id: string, input: ResumeInput): Promise<ResumeResult> {
    rows.checkJson(input.input, 'input');
    rows.checkText(input.via, 'via');
    rows.checkIndex(input.leaseMs, 'leaseMs');
    return this.db.transaction(async (tx) => {
      const row = await this.lock(tx, id);
      if (!row) return { outcome: 'not_found', id };
      const decision = decideResume(row);
      const pause = decision.kind === 'apply' ? await pauses.getPause(tx, id, { lock: true }) : undefined;
      if (decision.kind === 'ignore' || !pause) {
        return { outcome: 'refused', envelope: rows.toRecord(row), reason: decision.kind === 'ignore' ? decision.reason : 'envelope has no pause' };
      }
      return this.resumeLocked(tx, row, pause, input.input, `Resumed (${input.via})`, input.leaseMs);
    });
  }

  /** The resume itself, on rows the caller locked: status, deadline, the message to publish, the event. */
  private async resumeLocked(
    tx: SqlExecutor,
    row: EnvelopeRow,
    pause: PauseRecord,
    input: JsonValue,
    note: string,
    leaseMs: number,
  ): Promise<ResumeResult & { outcome: 'applied' }> {
    const [clock] = await tx.query(`select now() as now`);
    const now = rows.toDate(clock?.now) ?? new Date();
    const deadline = deadlineAfterPause(row.deadline, pause.pausedAt, now);
    const message: JsonObject = { ...pause.message, payload: withInput(pause.message.payload ?? null, pause.inputKey, input) };
    if (deadline) message.deadline = deadline.toISOString();
    await pauses.writeResume(tx, row.id, message, leaseMs);
    const updated = await this.updateOne(tx, `status = 'running', message = $2, deadline = coalesce($3::timestamptz, deadline)`, [
      row.id, note, rows.dateParam(deadline),
    ]);
    const event = await this.appendEvent(tx, updated, { message: note, state: 'resumed' });
    return { outcome: 'applied', envelope: rows.toRecord(updated), event, publish: { envelopeId: row.id, queue: pause.queue, message } };
  }

  async expirePauses(now: Date = new Date(), limit = 100): Promise<string[]> {
    rows.checkDate(now, 'now');
    const handled: string[] = [];
    while (handled.length < limit) {
      const id = await this.db.transaction(async (tx) => {
        const pause = await pauses.lockExpired(tx, now);
        if (!pause) return undefined;
        const row = await this.lock(tx, pause.envelopeId);
        if (!row) return undefined;
        if (pause.default) {
          // Due at once: the relay's next pass publishes it (no caller waits to do so).
          await this.resumeLocked(tx, row, pause, pause.default.value, `Resumed with the default after ${pause.timeoutSeconds} s without input`, 0);
        } else {
          const error = `${PAUSE_TIMEOUT_ERROR}: no input within ${pause.timeoutSeconds} s for "${pause.prompt}" (paused at ${pause.actor})`;
          await this.finishAndSettle(tx, row, { status: 'failed', error, message: 'Pause timed out' });
        }
        return row.id;
      });
      if (id === undefined) break;
      handled.push(id);
    }
    return handled;
  }

  claimResumes(leaseMs: number, limit = 100): Promise<ResumedMessage[]> {
    return pauses.claimResumes(this.db, leaseMs, limit);
  }

  markResumePublished(id: string): Promise<void> {
    return pauses.markResumePublished(this.db, rows.checkId(id));
  }

  async cancel(id: string, reason?: string): Promise<UpdateResult> {
    rows.checkText(reason, 'reason');
    const error = reason ? `${CANCELLED_ERROR}: ${reason}` : CANCELLED_ERROR;
    const result = await this.finishById(id, { status: 'failed', error, message: 'Envelope cancelled', cancelled: true });
    if (result.outcome !== 'applied') return result;
    const descendants = await this.db.query(
      `with recursive tree as (
         select id from envelopes where parent_id = $1
         union select e.id from envelopes e join tree on e.parent_id = tree.id)
       select e.id from envelopes e join tree using (id) where e.status in ('pending', 'running', 'paused')`,
      [id],
    );
    const cascade = `${CANCELLED_ERROR}: ancestor ${id} was cancelled`;
    for (const d of descendants) {
      await this.finishById(String(d.id), { status: 'failed', error: cascade, message: 'Envelope cancelled', cancelled: true });
    }
    return result;
  }

  async failOverdue(now: Date = new Date(), limit = 100): Promise<string[]> {
    rows.checkDate(now, 'now');
    const failed: string[] = [];
    while (failed.length < limit) {
      // One envelope per transaction keeps locks short; SKIP LOCKED lets another replica take the next one.
      const id = await this.db.transaction(async (tx) => {
        const found = await tx.query(
          `select ${ENVELOPE_COLUMNS} from envelopes
           where deadline >= ${rows.NO_DEADLINE_BEFORE} and deadline <= $1::timestamptz and ${NOT_FINAL}
           order by deadline, id limit 1 for update skip locked`,
          [now.toISOString()],
        );
        if (!found[0]) return undefined;
        const row = rows.toEnvelopeRow(found[0]);
        await this.finishAndSettle(tx, row, { status: 'failed', error: TIMEOUT_ERROR, message: 'Envelope timed out' });
        return row.id;
      });
      if (id === undefined) break;
      failed.push(id);
    }
    return failed;
  }

  async subscribe(
    envelopeId: string | undefined,
    listener: (event: EnvelopeEvent) => void,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    await this.listen();
    return this.hub.add(envelopeId, listener, options);
  }

  async follow(envelopeId: string, listener: (event: EnvelopeEvent) => void, options: SubscribeOptions = {}): Promise<Followed> {
    await this.listen();
    let head: EnvelopeHead | undefined;
    const subscription = await this.hub.add(envelopeId, listener, { ...options, afterSeq: options.afterSeq ?? 0 }, async (after, limit) => {
      const found = await reads.headWithEventsSince(this.db, envelopeId, after, limit);
      head = found?.head;
      return found?.events ?? [];
    });
    if (head) return { head, subscription };
    await subscription.close();
    return { head: undefined, subscription: undefined };
  }

  private listen(): Promise<void> {
    this.listening ??= this.db
      .listen(this.channel, (payload) => this.hub.notify(payload), () => this.hub.resume())
      .catch((err: unknown) => {
        this.listening = undefined;
        throw err;
      });
    return this.listening;
  }

  ping(): Promise<boolean> {
    return this.db.ping();
  }

  /** Once the schema is current it stays so (migrations only add), so readiness stops asking. */
  async pendingMigrations(): Promise<number[]> {
    if (this.schemaCurrent) return [];
    const pending = await pendingMigrations(this.db);
    this.schemaCurrent = pending.length === 0;
    return pending;
  }

  async close(): Promise<void> {
    // A publish confirmed just before shutdown must not be published again by the next relay pass.
    await this.published.idle();
    // Reports whose batch is in flight are answered once it commits: let it, before the pool closes.
    await this.progress.idle();
    this.hub.close();
    await this.db.close();
  }

  private async lock(tx: SqlExecutor, id: string): Promise<EnvelopeRow | undefined> {
    const found = await tx.query(`select ${ENVELOPE_COLUMNS} from envelopes where id = $1 for update`, [id]);
    return found[0] ? rows.toEnvelopeRow(found[0]) : undefined;
  }

  /** lock() for several envelopes at once, in id order (as every batch locks), by id. */
  private async lockAll(tx: SqlExecutor, ids: readonly string[]): Promise<Map<string, EnvelopeRow>> {
    const found = await tx.query(`select ${ENVELOPE_COLUMNS} from envelopes where id = any(${TEXT_ARRAY(1)}) order by id for update`, [JSON.stringify(ids)]);
    return new Map(found.map((r) => rows.toEnvelopeRow(r)).map((row) => [row.id, row]));
  }

  private async updateOne(tx: SqlExecutor, assignments: string, params: SqlParam[]): Promise<EnvelopeRow> {
    const updated = await tx.query(
      `update envelopes set ${assignments}, version = version + 1 where id = $1 returning ${ENVELOPE_COLUMNS}`,
      params,
    );
    if (!updated[0]) throw new Error(`envelope ${String(params[0])} vanished inside its own lock`);
    return rows.toEnvelopeRow(updated[0]);
  }

  private async finishById(id: string, finish: Finish): Promise<UpdateResult> {
    return this.db.transaction(async (tx) => {
      const row = await this.lock(tx, id);
      if (!row) return { outcome: 'not_found', id };
      if (isFinal(row.status)) return { outcome: 'ignored', envelope: rows.toRecord(row), reason: `envelope is already ${row.status}` };
      return this.finishAndSettle(tx, row, finish);
    });
  }

  /** Finalises a locked row, then any ancestors this completes (locking upward: child before parent). */
  private async finishAndSettle(tx: SqlExecutor, row: EnvelopeRow, finish: Finish): Promise<UpdateResult> {
    const done = await this.finish(tx, row, finish);
    if (row.parentId) await this.settleAncestors(tx, row.parentId);
    return done;
  }

  private async settleAncestors(tx: SqlExecutor, firstParentId: string): Promise<void> {
    let parentId: string | null = firstParentId;
    while (parentId) {
      const parent = await this.lock(tx, parentId);
      if (!parent || isFinal(parent.status)) break;
      // Children that fan in settle by their fan-in's policy; a parent it failed settles its own parent.
      const fanIn = await this.fanIns.settle(tx, parent);
      if (fanIn === 'failed') {
        parentId = parent.parentId;
        continue;
      }
      if (fanIn !== 'none') break;
      const ownBranch = parent.branchStatus
        ? { status: parent.branchStatus, result: parent.branchResult, error: parent.branchError }
        : null;
      const fanOut = { id: parent.id, ownBranch, fanoutSize: parent.fanoutSize };
      if (fanOutWaitsByCounts(fanOut, await childCounts(tx, parent.id))) break;
      const outcome = settleFanOut(fanOut, await children(tx, parent.id));
      if (!outcome) break;
      await this.finish(tx, parent, outcome);
      parentId = parent.parentId;
    }
  }

  private async finish(tx: SqlExecutor, row: EnvelopeRow, finish: Finish): Promise<UpdateResult> {
    const [done] = this.wroteEvents(await finishRows(tx, this.channel, [{ row, finish }]));
    return done!;
  }

  /** The events the results appended, for the subscriptions of this process (subscriptions.ts). */
  private wroteEvents(results: UpdateResult[]): UpdateResult[] {
    this.hub.wrote(results.flatMap((r) => (r.outcome === 'applied' ? [r.event] : [])));
    return results;
  }

  private async appendEvent(tx: SqlExecutor, row: EnvelopeRow, facts: EventFacts): Promise<EnvelopeEvent> {
    const [event] = await appendEvents(tx, this.channel, [{ row, facts }]);
    this.hub.wrote([event!]);
    return event!;
  }
}

function finalFinish(input: FinalInput): Finish {
  return { ...input, message: input.message ?? finalMessage(input.status, input.error) };
}

function finalMessage(status: FinalStatus, error?: string): string {
  if (status === 'succeeded') return 'Envelope completed successfully';
  return error ? `Envelope failed: ${error}` : 'Envelope failed';
}
