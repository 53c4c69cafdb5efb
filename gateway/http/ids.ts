/**
 * Envelope ids come from path segments, percent-decoded by the router, so they may hold any character
 * (slashes included, as %2F). Only what PostgreSQL text cannot hold, or the store would refuse, is rejected.
 */
import { MAX_ENVELOPE_ID_LENGTH as MAX_ID_LENGTH } from '../../protocol/envelope.ts';
import { HttpError } from './errors.ts';

export function checkPathId(id: string | undefined): string {
  if (!id) throw new HttpError(400, 'Invalid envelope path: missing id');
  if (id.length > MAX_ID_LENGTH) throw new HttpError(400, `Invalid envelope id: longer than ${MAX_ID_LENGTH} characters`);
  if (id.includes('\u0000')) throw new HttpError(400, 'Invalid envelope id: contains a NUL character');
  return id;
}
