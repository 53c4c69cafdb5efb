/**
 * "Did you mean ...?" for a mistyped name: the closest of the valid names by edit distance, when it is close
 * enough to be a typo (a third of the name's length, at least 2 edits) rather than a different word.
 */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** ` (did you mean maxReplicas?)`, or nothing when no valid name is close. */
export function didYouMean(name: string, candidates: Iterable<string>, prefix = ''): string {
  const near = nearestName(name, candidates);
  return near ? ` (did you mean ${prefix}${near}?)` : '';
}
