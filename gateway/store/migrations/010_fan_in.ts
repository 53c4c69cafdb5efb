export default `-- Fan-in (docs/concepts.md#fan-in). One row per fan-out parent whose children reached a fan-in step: the
-- policy and route the first arrival brought, when children stop being waited for, and the outcome, set once
-- by the transaction that saw the last child (the children's own rows hold their results and statuses).
CREATE TABLE IF NOT EXISTS fan_ins (
  parent_id TEXT PRIMARY KEY REFERENCES envelopes (id) ON DELETE CASCADE,
  actor TEXT NOT NULL,
  policy TEXT NOT NULL CHECK (policy IN ('wait-all', 'fail-fast', 'partial')),
  -- The route the combined envelope continues on, its current index already past the fan-in step.
  route JSONB NOT NULL,
  queue TEXT NOT NULL,
  timeout_ms BIGINT NOT NULL CHECK (timeout_ms > 0),
  expires_at TIMESTAMPTZ NOT NULL,
  outcome TEXT CHECK (outcome IN ('emitted', 'failed')),
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_fan_ins_waiting ON fan_ins (expires_at) WHERE outcome IS NULL;

-- The combined envelope, written in the same transaction that set the outcome (so at most one per parent),
-- and deleted once the broker confirmed it; a relay publishes what a crash left here.
CREATE TABLE IF NOT EXISTS fan_in_outbox (
  parent_id TEXT PRIMARY KEY REFERENCES fan_ins (parent_id) ON DELETE CASCADE,
  queue TEXT NOT NULL,
  body TEXT NOT NULL,
  claimed_until TIMESTAMPTZ NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)
);

CREATE INDEX IF NOT EXISTS idx_fan_in_outbox_due ON fan_in_outbox (claimed_until, parent_id);
`;
