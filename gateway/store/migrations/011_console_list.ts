export default `-- The console's envelope list pages newest first by (created_at, id), with or without a status filter, and
-- searches by id prefix: each of those reads is an index range scan, so the first page and every next one
-- cost the same with 100,000 envelopes as with 100.
CREATE INDEX IF NOT EXISTS idx_envelopes_list ON envelopes (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_envelopes_status_list ON envelopes (status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_envelopes_id_prefix ON envelopes (id text_pattern_ops);
`;
