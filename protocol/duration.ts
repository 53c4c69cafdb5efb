/** The duration syntax lives with the settings engine (settings/duration.ts), which every component may import. */
export { DURATION_EXPECTED, formatDuration, parseDuration } from '../settings/duration.ts';

/** ASYA_RUNTIME_TIMEOUT when unset: how long the sidecar waits for one runtime call (the crew budgets by it too). */
export const DEFAULT_RUNTIME_TIMEOUT = '5m';
