/**
 * Who is calling, and which envelopes they may see: REST reads, the SSE stream and MCP tasks all apply the
 * same rule. A shared or admin token sees every envelope; a named client token sees only the envelopes its
 * client created (http/access.ts tells callers apart by token).
 */

export type Caller =
  | { kind: 'open' }
  /** The shared API token or the admin token: sees every envelope. */
  | { kind: 'admin' }
  | { kind: 'client'; owner: string }
  | { kind: 'internal' };

/** The owner a caller is limited to; undefined for callers that see every envelope. */
export function ownerScope(caller: Caller | undefined): string | undefined {
  return caller?.kind === 'client' ? caller.owner : undefined;
}

/** Whether this caller may read or cancel an envelope with this owner. */
export function canSee(caller: Caller | undefined, envelope: { owner: string | null }): boolean {
  const scope = ownerScope(caller);
  return scope === undefined || envelope.owner === scope;
}
