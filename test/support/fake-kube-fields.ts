/**
 * The parts of the fake API server (fake-kube-api.ts) that are rules rather than plumbing: label selectors
 * and server-side apply field ownership. Ownership is kept per leaf field (a list is one leaf, as for an
 * atomic list): managers that apply the same value share a field; apply by one manager of a field another
 * manager holds at a different value is a 409 Conflict unless the apply is forced, which takes the field
 * over; a merge patch or a PUT makes its manager the sole owner of the fields it changed.
 */
import { canonicalJson } from '../../controller/desired.ts';
import { isPlainObject } from '../../protocol/json.ts';

/** `k=v`, `k==v`, `k!=v`, `k` (exists) and `!k` (does not exist), comma-separated (all must hold). */
export function matchesSelector(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((raw) => {
    const term = raw.trim();
    const ne = /^([^!=]+)!=(.*)$/.exec(term);
    if (ne) return labels?.[ne[1]!] !== ne[2];
    const eq = /^([^!=]+)==?(.*)$/.exec(term);
    if (eq) return labels?.[eq[1]!] === eq[2];
    if (term.startsWith('!')) return labels?.[term.slice(1)] === undefined;
    return labels?.[term] !== undefined;
  });
}

/** Identity fields no manager owns. */
const UNOWNED = new Set(['.apiVersion', '.kind', '.metadata.name', '.metadata.namespace', '.metadata.resourceVersion', '.metadata.uid', '.metadata.generation', '.metadata.creationTimestamp']);

/** Every leaf of an object as `.a.b.c` → canonical JSON of its value. */
export function leaves(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) for (const [p, c] of leaves(v, `${prefix}.${k}`)) out.set(p, c);
  } else if (prefix && !UNOWNED.has(prefix)) out.set(prefix, canonicalJson(value));
  return out;
}

export type Owners = Map<string, Set<string>>;

/** The fields of `applied` whose value differs from `live` and that another manager owns. */
export function applyConflicts(owners: Owners, live: unknown, applied: unknown, manager: string): { path: string; owner: string }[] {
  const current = leaves(live);
  const conflicts: { path: string; owner: string }[] = [];
  for (const [path, value] of leaves(applied)) {
    if (!current.has(path) || current.get(path) === value) continue;
    for (const owner of owners.get(path) ?? []) if (owner !== manager) conflicts.push({ path, owner });
  }
  return conflicts;
}

/**
 * After a write: `manager` owns every leaf of `fields` (an apply's whole intent, or what an update
 * changed); a field whose value `changed` has no other owner left, an unchanged one is shared.
 */
export function takeOwnership(owners: Owners, fields: Iterable<string>, manager: string, changed: (path: string) => boolean = () => true): void {
  for (const path of fields) {
    // A leaf replaces any deeper leaves under it (an object set to a scalar), and the reverse.
    for (const p of [...owners.keys()]) if (p.startsWith(`${path}.`) || path.startsWith(`${p}.`)) owners.delete(p);
    const shared = changed(path) ? undefined : owners.get(path);
    owners.set(path, new Set([...(shared ?? []), manager]));
  }
}

/** The leaves that differ between two versions of an object (what an update changed). */
export function changedLeaves(before: unknown, after: unknown): string[] {
  const a = leaves(before);
  return [...leaves(after)].filter(([p, v]) => a.get(p) !== v).map(([p]) => p);
}
