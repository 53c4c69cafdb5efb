export default `-- What the original did not store: the tool, route metadata and headers (trace context) of a call; a
-- version per envelope for optimistic readers; cancellation; fan-out bookkeeping (a child's position, the
-- announced branch count, and the parent's own branch outcome while it waits for its children). Events gain
-- the route position so a replayed SSE event carries the same fields as a live one.
ALTER TABLE envelopes
  ADD COLUMN IF NOT EXISTS tool_name TEXT,
  ADD COLUMN IF NOT EXISTS route_metadata JSONB,
  ADD COLUMN IF NOT EXISTS headers JSONB,
  ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 1,
  ADD COLUMN IF NOT EXISTS cancelled_at TIMESTAMPTZ,
  ADD COLUMN IF NOT EXISTS fanout_index INTEGER CHECK (fanout_index IS NULL OR fanout_index >= 0),
  ADD COLUMN IF NOT EXISTS fanout_size INTEGER CHECK (fanout_size IS NULL OR fanout_size >= 0),
  ADD COLUMN IF NOT EXISTS branch_status TEXT CHECK (branch_status IS NULL OR branch_status IN ('succeeded', 'failed')),
  ADD COLUMN IF NOT EXISTS branch_result JSONB,
  ADD COLUMN IF NOT EXISTS branch_error TEXT;

ALTER TABLE envelope_updates
  ADD COLUMN IF NOT EXISTS current_actor_idx INTEGER,
  ADD COLUMN IF NOT EXISTS actors TEXT[];
`;
