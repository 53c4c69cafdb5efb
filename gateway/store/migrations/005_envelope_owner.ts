export default `-- The named client token that created an envelope (docs/gateway.md, Named client tokens); such a caller
-- lists and reads only its own. NULL for envelopes made with the shared or admin token, or with auth none.
-- Fan-out children carry their root's owner.
ALTER TABLE envelopes ADD COLUMN IF NOT EXISTS owner TEXT;
CREATE INDEX IF NOT EXISTS idx_envelopes_owner_created ON envelopes (owner, created_at DESC)
  WHERE owner IS NOT NULL;
`;
