/**
 * `pause()` for TypeScript handlers (docs/handlers.md, "Pausing for input"): return its value from a
 * payload-mode handler to wait for input before the next step. The marker is a plain object, so the runtime
 * recognises it whichever copy of this module the handler imported.
 */
import { PAUSE_HEADER } from '../../protocol/pause-header.ts';

export const PAUSE_MARKER = '__asya_pause__';

export interface PauseOptions {
  /** Travels on; on resume the answer is added under `inputKey`. */
  payload?: unknown;
  /** JSON Schema the answer must satisfy. */
  schema?: Record<string, unknown>;
  /** Without an answer by then the envelope fails, or takes `default` when one is given. */
  timeoutSeconds?: number;
  default?: unknown;
  /** @default "resume_input" */
  inputKey?: string;
}

export interface PauseMarker {
  [PAUSE_MARKER]: Record<string, unknown>;
  payload: unknown;
}

export function pause(prompt: string, options: PauseOptions = {}): PauseMarker {
  const spec: Record<string, unknown> = { prompt };
  if (options.schema !== undefined) spec.schema = options.schema;
  if (options.timeoutSeconds !== undefined) spec.timeout_seconds = options.timeoutSeconds;
  if ('default' in options) spec.default = options.default;
  if (options.inputKey !== undefined) spec.input_key = options.inputKey;
  return { [PAUSE_MARKER]: spec, payload: options.payload ?? null };
}

export function isPause(value: unknown): value is PauseMarker {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && PAUSE_MARKER in value;
}

/** The runtime's output for a pause: the pause travels in PAUSE_HEADER beside the envelope's own headers. */
export function pausedOutput(marker: PauseMarker, route: unknown, headers: unknown): Record<string, unknown> {
  const merged = typeof headers === 'object' && headers !== null && !Array.isArray(headers) ? { ...headers } : {};
  return { payload: marker.payload ?? null, route, headers: { ...merged, [PAUSE_HEADER]: marker[PAUSE_MARKER] } };
}
