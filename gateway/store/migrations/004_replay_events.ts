export default `-- An operator's replay (POST /envelopes/{id}/replay) reopens a failed envelope and records an event whose
-- envelope_state is 'replayed'. The original's CHECK allowed only the sidecar's three actor states; the
-- constraint keeps its name (PostgreSQL's default for a column CHECK), so an adopted database gets the same.
ALTER TABLE envelope_updates DROP CONSTRAINT IF EXISTS envelope_updates_envelope_state_check;
ALTER TABLE envelope_updates ADD CONSTRAINT envelope_updates_envelope_state_check
  CHECK (envelope_state IS NULL OR envelope_state IN ('received', 'processing', 'completed', 'replayed'));
`;
