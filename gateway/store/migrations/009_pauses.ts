export default `-- Pause and resume: a handler asked for input. The envelope waits as status 'paused' with its pause here (the
-- whole envelope as it continues, the prompt, the answer's schema, the timeout and the default), so a pause
-- holds no broker message, sidecar or pod and survives gateway restarts. On resume the envelope to publish is
-- written here in the same transaction as the status change, leased like an outbox entry (publish_until):
-- the resuming call publishes it at once, and when it dies first a relay pass on any replica does.
ALTER TABLE envelopes DROP CONSTRAINT IF EXISTS envelopes_status_check;
ALTER TABLE envelopes ADD CONSTRAINT envelopes_status_check
  CHECK (status IN ('pending', 'running', 'paused', 'succeeded', 'failed', 'unknown'));

ALTER TABLE envelope_updates DROP CONSTRAINT IF EXISTS envelope_updates_envelope_state_check;
ALTER TABLE envelope_updates ADD CONSTRAINT envelope_updates_envelope_state_check
  CHECK (envelope_state IS NULL OR envelope_state IN ('received', 'processing', 'completed', 'replayed', 'paused', 'resumed'));

CREATE TABLE IF NOT EXISTS envelope_pauses (
  envelope_id TEXT PRIMARY KEY REFERENCES envelopes (id) ON DELETE CASCADE,
  actor TEXT NOT NULL,
  prompt TEXT NOT NULL,
  answer_schema JSONB,
  timeout_sec DOUBLE PRECISION CHECK (timeout_sec IS NULL OR timeout_sec > 0),
  has_default BOOLEAN NOT NULL DEFAULT false,
  default_input JSONB,
  input_key TEXT NOT NULL,
  queue TEXT NOT NULL,
  message JSONB NOT NULL,
  paused_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  expires_at TIMESTAMPTZ,
  resumed_at TIMESTAMPTZ,
  resume_message JSONB,
  publish_until TIMESTAMPTZ
);

CREATE INDEX IF NOT EXISTS idx_envelope_pauses_expiry ON envelope_pauses (expires_at) WHERE resumed_at IS NULL AND expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_envelope_pauses_publish ON envelope_pauses (publish_until) WHERE publish_until IS NOT NULL;
`;
