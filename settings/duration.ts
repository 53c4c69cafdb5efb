/**
 * Durations as the original's env vars spell them (Go's time.ParseDuration: `5m`, `1m30s`, `250ms`), plus a
 * bare number meaning seconds, which the operator writes and Go silently rejected.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
export const DURATION_EXPECTED = 'expected seconds (300) or a duration such as 300s, 5m, 1m30s, 500ms';

export function parseDuration(raw: string, name = 'duration'): number {
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (text === '' || text.replace(PART, '') !== '') {
    throw new Error(`Invalid ${name}=${JSON.stringify(raw)}: ${DURATION_EXPECTED}`);
  }
  let total = 0;
  for (const [, value, unit] of text.matchAll(PART)) total += Number(value) * UNIT_MS[unit!]!;
  return Math.round(total);
}

/** Renders milliseconds the way Go prints durations in the original's messages (5m0s, 3s, 1.5s). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  const s = `${Number.isInteger(seconds) ? seconds : seconds.toFixed(3).replace(/0+$/, '')}s`;
  if (hours) return `${hours}h${minutes}m${s}`;
  if (minutes) return `${minutes}m${s}`;
  return s;
}

