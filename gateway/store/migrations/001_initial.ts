export default `-- The original gateway's schema (its Sqitch changes 001-004 folded together), column for column, so a team
-- can point this gateway at the database its Go gateway used. IF NOT EXISTS lets us adopt such a database:
-- this version then records itself without touching the existing tables.
CREATE TABLE IF NOT EXISTS envelopes (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL CONSTRAINT envelopes_status_check
    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'unknown')),
  route_actors TEXT[] NOT NULL,
  route_current INTEGER NOT NULL DEFAULT 0,
  payload JSONB,
  result JSONB,
  error TEXT,
  timeout_sec INTEGER,
  deadline TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  progress_percent DECIMAL(5, 2) DEFAULT 0.0 CHECK (progress_percent >= 0 AND progress_percent <= 100),
  current_actor_idx INTEGER DEFAULT 0,
  current_actor_name TEXT,
  message TEXT,
  actors_completed INTEGER DEFAULT 0 CHECK (actors_completed >= 0),
  total_actors INTEGER DEFAULT 0 CHECK (total_actors >= 0),
  parent_id TEXT
);

CREATE INDEX IF NOT EXISTS idx_envelopes_status ON envelopes (status);
CREATE INDEX IF NOT EXISTS idx_envelopes_created_at ON envelopes (created_at DESC);
CREATE INDEX IF NOT EXISTS idx_envelopes_updated_at ON envelopes (updated_at DESC);
CREATE INDEX IF NOT EXISTS idx_envelopes_deadline ON envelopes (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_envelopes_progress ON envelopes (progress_percent) WHERE progress_percent < 100;
CREATE INDEX IF NOT EXISTS idx_envelopes_parent_id ON envelopes (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS envelope_updates (
  id BIGSERIAL PRIMARY KEY,
  envelope_id TEXT NOT NULL REFERENCES envelopes (id) ON DELETE CASCADE,
  status TEXT NOT NULL,
  message TEXT,
  result JSONB,
  error TEXT,
  timestamp TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  progress_percent DECIMAL(5, 2),
  actor TEXT,
  envelope_state TEXT CHECK (envelope_state IS NULL OR envelope_state IN ('received', 'processing', 'completed'))
);

CREATE INDEX IF NOT EXISTS idx_envelope_updates_envelope_id ON envelope_updates (envelope_id, timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_envelope_updates_timestamp ON envelope_updates (timestamp DESC);

CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS TRIGGER AS $$
BEGIN
  NEW.updated_at = NOW();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS update_envelopes_updated_at ON envelopes;
CREATE TRIGGER update_envelopes_updated_at BEFORE UPDATE ON envelopes
  FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();
`;
