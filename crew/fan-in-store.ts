/**
 * The fan-in's own state for the minimal pattern (no gateway): a small schema in a PostgreSQL of its own
 * (ASYA_FAN_IN_DATABASE_URL). What the gateway's store learns from the children's registrations, a child
 * here carries in its `x-asya-fan-out` header (parent, index, size). An arrival is one transaction: the
 * child's result is inserted (unique on parent and index, so a redelivered child changes nothing) and, when
 * the last one is in, the combined envelope is written to the outbox (unique on parent) and the fan-in's
 * outcome set, both once. Publishing from the outbox is crew/fan-in-relay.ts. The rules of completion are
 * protocol/fan-in-decision.ts, the same as the gateway's.
 */
import postgres from 'postgres';
import { decideFanIn, missingChildError, type FanInDecision, type KnownChild } from '../protocol/fan-in-decision.ts';
import type { FanInAnswer, FanInPolicy, FanOutLevel } from '../protocol/fan-in.ts';
import type { Envelope } from '../protocol/envelope.ts';
import type { JsonValue } from '../protocol/json.ts';

/** One child reaching the fan-in, with everything the combined envelope needs should it be the first. */
export interface MinimalArrival {
  level: FanOutLevel;
  childId: string;
  actor: string;
  policy: FanInPolicy;
  timeoutMs: number;
  /** The combined envelope, all but its payload: the parent's id, the route after the fan-in, headers. */
  combined: Omit<Envelope, 'payload'>;
  queue: string;
  payload: JsonValue;
}

export interface OutboxMessage {
  parentId: string;
  queue: string;
  body: Buffer;
}

type Sql = postgres.Sql;
type Tx = postgres.TransactionSql;

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

export class FanInStore {
  private readonly sql: Sql;
  private readonly s: string;
  private ready: Promise<void> | undefined;

  constructor(url: string, schema: string) {
    this.sql = postgres(url, { max: 4, onnotice: () => {}, connection: { application_name: 'asya-fan-in' } });
    this.s = quoteIdent(schema);
  }

  /** Creates the schema once per process; concurrent fan-in replicas serialise on an advisory lock. */
  migrate(): Promise<void> {
    this.ready ??= this.sql.begin(async (tx) => {
      await tx.unsafe(`select pg_advisory_xact_lock(hashtext($1))`, [`asya-fan-in:${this.s}`]);
      await tx.unsafe(`create schema if not exists ${this.s}`);
      await tx.unsafe(`create table if not exists ${this.s}.fan_ins (
        parent_id text primary key, actor text not null, policy text not null, size integer not null,
        combined text not null, queue text not null, timeout_ms bigint not null,
        expires_at timestamptz not null, outcome text)`);
      await tx.unsafe(`create table if not exists ${this.s}.fan_in_arrivals (
        parent_id text not null, index integer not null, child_id text not null, result text not null,
        primary key (parent_id, index))`);
      await tx.unsafe(`create table if not exists ${this.s}.fan_in_outbox (
        parent_id text primary key, queue text not null, body text not null,
        claimed_until timestamptz not null default now())`);
    }).then(() => undefined, (err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  async arrive(a: MinimalArrival): Promise<FanInAnswer> {
    await this.migrate();
    return this.sql.begin(async (tx): Promise<FanInAnswer> => {
      await tx.unsafe(
        `insert into ${this.s}.fan_ins (parent_id, actor, policy, size, combined, queue, timeout_ms, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, now() + ($7::bigint * interval '1 millisecond'))
         on conflict (parent_id) do nothing`,
        [a.level.parent_id, a.actor, a.policy, a.level.size, JSON.stringify(a.combined), a.queue, a.timeoutMs],
      );
      const fanIn = await this.lock(tx, a.level.parent_id);
      if (fanIn.outcome) return { status: 'ignored', reason: `the fan-in has ${fanIn.outcome}` };
      if (fanIn.size !== a.level.size) return { status: 'ignored', reason: `fan-out size ${a.level.size} differs from the first child's ${fanIn.size}` };
      const inserted = await tx.unsafe(
        `insert into ${this.s}.fan_in_arrivals (parent_id, index, child_id, result) values ($1, $2, $3, $4)
         on conflict (parent_id, index) do nothing returning index`,
        [a.level.parent_id, a.level.index, a.childId, JSON.stringify(a.payload)],
      );
      if (inserted.length === 0) return { status: 'ignored', reason: 'child already arrived' };
      return this.settle(tx, fanIn);
    });
  }

  /** Fan-ins past their timeout: the children not in count as failed and the policy decides. */
  async expire(limit = 100): Promise<string[]> {
    await this.migrate();
    return this.sql.begin(async (tx) => {
      const due = await tx.unsafe(
        `select parent_id from ${this.s}.fan_ins where outcome is null and expires_at <= now()
         order by expires_at limit $1 for update skip locked`,
        [limit],
      );
      const settled: string[] = [];
      for (const row of due) {
        const fanIn = await this.lock(tx, String(row.parent_id));
        await this.settle(tx, fanIn);
        settled.push(fanIn.parentId);
      }
      return settled;
    });
  }

  /** Leases due combined envelopes to one publisher (SKIP LOCKED), so replicas never publish the same one at once. */
  async claimOutbox(leaseMs: number, limit = 100): Promise<OutboxMessage[]> {
    await this.migrate();
    const rows = await this.sql.unsafe(
      `with due as (select parent_id from ${this.s}.fan_in_outbox where claimed_until <= now()
         order by claimed_until, parent_id limit $2 for update skip locked)
       update ${this.s}.fan_in_outbox o set claimed_until = now() + ($1::bigint * interval '1 millisecond')
       from due where o.parent_id = due.parent_id returning o.parent_id, o.queue, o.body`,
      [leaseMs, limit],
    );
    return rows.map((r) => ({ parentId: String(r.parent_id), queue: String(r.queue), body: Buffer.from(String(r.body)) }));
  }

  async markPublished(parentId: string): Promise<void> {
    await this.sql.unsafe(`delete from ${this.s}.fan_in_outbox where parent_id = $1`, [parentId]);
  }

  close(): Promise<void> {
    return this.sql.end();
  }

  private async lock(tx: Tx, parentId: string) {
    const [row] = await tx.unsafe(
      `select parent_id, actor, policy, size, combined, queue, timeout_ms, outcome, expires_at <= now() as expired
       from ${this.s}.fan_ins where parent_id = $1 for update`,
      [parentId],
    );
    if (!row) throw new Error(`fan-in of ${parentId} vanished inside its own transaction`);
    return {
      parentId: String(row.parent_id),
      actor: String(row.actor),
      policy: String(row.policy) as FanInPolicy,
      size: Number(row.size),
      combined: JSON.parse(String(row.combined)) as Omit<Envelope, 'payload'>,
      queue: String(row.queue),
      timeoutMs: Number(row.timeout_ms),
      outcome: row.outcome === null ? null : String(row.outcome),
      expired: row.expired === true,
    };
  }

  private async settle(tx: Tx, fanIn: Awaited<ReturnType<FanInStore['lock']>>): Promise<FanInAnswer> {
    // Every arrival but the last sees from a count that slots are missing, without reading the results (n² otherwise).
    if (!fanIn.expired) {
      const [counts] = await tx.unsafe(`select count(*) as arrived, coalesce(max(index) + 1, 0) as top from ${this.s}.fan_in_arrivals where parent_id = $1`, [fanIn.parentId]);
      const size = Math.max(fanIn.size, Number(counts?.top ?? 0));
      if (size === 0 || Number(counts?.arrived ?? 0) < size) return { status: 'waiting' };
    }
    const arrived = await tx.unsafe(`select index, child_id, result from ${this.s}.fan_in_arrivals where parent_id = $1`, [fanIn.parentId]);
    const children: KnownChild[] = arrived.map((r) => ({ id: String(r.child_id), index: Number(r.index), ok: true, result: JSON.parse(String(r.result)) as JsonValue }));
    const decision: FanInDecision = decideFanIn({
      policy: fanIn.policy,
      parentId: fanIn.parentId,
      fanoutSize: fanIn.size,
      children,
      expired: fanIn.expired,
      missingError: missingChildError(fanIn.actor, fanIn.timeoutMs),
    });
    if (decision.kind === 'wait') return { status: 'waiting' };
    const outcome = decision.kind === 'emit' ? 'emitted' : 'failed';
    await tx.unsafe(`update ${this.s}.fan_ins set outcome = $2 where parent_id = $1 and outcome is null`, [fanIn.parentId, outcome]);
    if (decision.kind === 'fail') return { status: 'failed', reason: decision.error };
    const envelope: Envelope = { ...fanIn.combined, payload: decision.payload };
    await tx.unsafe(
      `insert into ${this.s}.fan_in_outbox (parent_id, queue, body) values ($1, $2, $3) on conflict (parent_id) do nothing`,
      [fanIn.parentId, fanIn.queue, JSON.stringify(envelope)],
    );
    return { status: 'emitted', reason: decision.message };
  }
}
