export default `-- The transactional outbox: a tool call's envelope and its entry here are written in one statement, so an
-- envelope the gateway saved is published even when the gateway dies before (or while) it publishes. An
-- entry is deleted once the broker confirmed the publish. claimed_until leases it to one publisher (the
-- call that created it, or a relay pass on any replica); when the lease runs out, a relay takes it again.
CREATE TABLE IF NOT EXISTS envelope_outbox (
  envelope_id TEXT PRIMARY KEY REFERENCES envelopes (id) ON DELETE CASCADE,
  claimed_until TIMESTAMPTZ NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_envelope_outbox_due ON envelope_outbox (claimed_until, envelope_id);
`;
