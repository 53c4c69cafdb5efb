export default `-- Idempotent tool calls (docs/gateway.md, Idempotent calls): a call made with an idempotency key records it on
-- the envelope it created, with a hash of the request (tool name and arguments). The unique index makes the
-- key name one envelope per owner (NULL owner: the shared, admin and unauthenticated callers, one key space),
-- whichever replica inserts first; a repeat finds that envelope instead of creating another. The key goes
-- with its envelope: retention deletes both. Existing rows have no key, so the partial index starts empty.
ALTER TABLE envelopes ADD COLUMN IF NOT EXISTS idempotency_key TEXT;
ALTER TABLE envelopes ADD COLUMN IF NOT EXISTS idempotency_hash TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS idx_envelopes_idempotency_key ON envelopes ((coalesce(owner, '')), idempotency_key)
  WHERE idempotency_key IS NOT NULL;
`;
