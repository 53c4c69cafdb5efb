// The TypeScript step of the claim-check tests: records the sha256 of the data it saw.
import { createHash } from 'node:crypto';

export function relay(payload: { data: string; seen?: string[] }) {
  const seen = [...(payload.seen ?? []), createHash('sha256').update(payload.data, 'utf8').digest('hex')];
  return { data: payload.data, seen };
}
