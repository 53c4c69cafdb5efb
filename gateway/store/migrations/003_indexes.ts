export default `-- The deadline sweep reads only unfinished envelopes with a deadline; retention reads only final ones by
-- age; fan-out reads a parent's children in branch order; SSE replay reads one envelope's events by seq.
CREATE INDEX IF NOT EXISTS idx_envelopes_overdue ON envelopes (deadline)
  WHERE deadline IS NOT NULL AND status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS idx_envelopes_retention ON envelopes (updated_at)
  WHERE status IN ('succeeded', 'failed');
CREATE INDEX IF NOT EXISTS idx_envelopes_children ON envelopes (parent_id, fanout_index)
  WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_envelopes_tool_created ON envelopes (tool_name, created_at DESC)
  WHERE tool_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_envelope_updates_replay ON envelope_updates (envelope_id, id);
`;
