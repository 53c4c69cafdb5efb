/**
 * A minimal leveled logger; payloads are only ever rendered at DEBUG, lazily, so INFO stays cheap. The level
 * is ASYA_LOG_LEVEL and the format ASYA_LOG_FORMAT, as each component's table reads them (or
 * logLevelFromEnv/logFormatFromEnv, protocol/settings.ts, before the table is read).
 *
 * `json` writes one object per line for a log pipeline: time, level, component, actor, message, the caller's
 * fields, and the active span's trace_id/span_id. The span is read only through @opentelemetry/api, which is
 * a no-op until a tracing SDK registers itself, so whoever installs one gets correlated logs for free.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { asError } from './errors.ts';
import { traceIdOf, type TraceIds } from './trace-context.ts';

/**
 * The span a line belongs to, when the caller holds it rather than making it active (the sidecar does, to
 * keep async context tracking off its hot path). A symbol, so neither format prints it as a field.
 */
export const LOG_SPAN = Symbol('asya.log.span');

export type LogFields = Record<string, unknown>;

/** Also satisfies the transports' logger, so one process logs in one format. */
export interface Logger {
  debug(message: string | (() => string), fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const LEVELS = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface LoggerOptions {
  format?: LogFormat;
  /** The actor this logger speaks for: a field of its own in JSON, `<name>.<actor>` in text. */
  actor?: string;
  /** Where a finished line goes; stderr unless a caller (dev mode's board, a test) takes the lines. */
  write?: (line: string) => void;
}

/** The keys every JSON line owns; a caller's field of the same name is kept as `field_<name>`. */
const RESERVED = new Set(['time', 'level', 'component', 'actor', 'message', 'trace_id', 'span_id']);

const toStderr = (line: string) => void process.stderr.write(`${line}\n`);

/** Text keeps its old shape: the traceparent field only feeds the JSON line's trace_id. */
function renderFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .filter(([k, v]) => k !== 'traceparent' && v !== undefined)
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('');
}

/** Errors would serialise as `{}`; a value JSON cannot hold (a cycle, a BigInt) as its string form. */
function jsonValue(value: unknown): unknown {
  if (value instanceof Error) return asError(value).message;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * The caller's span wins, then an active one; otherwise the trace named by the envelope the caller logs
 * about (`traceparent` field).
 */
function traceFields(fields: LogFields | undefined): { trace_id?: string; span_id?: string } {
  const given = (fields as { [LOG_SPAN]?: TraceIds } | undefined)?.[LOG_SPAN];
  if (given) return { trace_id: given.traceId, span_id: given.spanId };
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span)) return { trace_id: span.traceId, span_id: span.spanId };
  const traceId = typeof fields?.traceparent === 'string' ? traceIdOf(fields.traceparent) : undefined;
  return traceId ? { trace_id: traceId } : {};
}

/** The component as a log pipeline groups by it: `asya.gateway` → `gateway`. */
function componentOf(name: string): string {
  return name.startsWith('asya.') ? name.slice('asya.'.length) : name;
}

/** One JSON line; never throws, whatever the caller's fields hold. */
export function jsonLine(level: LogLevel, component: string, message: string, fields?: LogFields, actor?: string): string {
  const line: Record<string, unknown> = { time: new Date().toISOString(), level, component: componentOf(component) };
  if (actor !== undefined) line.actor = actor;
  line.message = message;
  Object.assign(line, traceFields(fields));
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (key === 'traceparent' || value === undefined) continue;
    line[RESERVED.has(key) ? `field_${key}` : key] = jsonValue(value);
  }
  try {
    return JSON.stringify(line);
  } catch {
    const safe: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(line)) safe[key] = typeof value === 'object' && value !== null ? String(value) : value;
    return JSON.stringify(safe);
  }
}

export function createLogger(level: LogLevel, name: string, options: LoggerOptions = {}): Logger {
  const min = LEVELS[level];
  const out = options.write ?? toStderr;
  const { actor } = options;
  const textName = actor === undefined ? name : `${name}.${actor}`;
  const render =
    options.format === 'json'
      ? (lvl: LogLevel, message: string, fields?: LogFields) => jsonLine(lvl, name, message, fields, actor)
      : (lvl: LogLevel, message: string, fields?: LogFields) => `${new Date().toISOString()} ${lvl} ${textName}: ${message}${renderFields(fields)}`;
  const write = (lvl: LogLevel, message: string, fields?: LogFields) => {
    if (LEVELS[lvl] >= min) out(render(lvl, message, fields));
  };
  return {
    debug: (m, f) => {
      if (min <= LEVELS.DEBUG) write('DEBUG', typeof m === 'function' ? m() : m, f);
    },
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARNING', m, f),
    error: (m, f) => write('ERROR', m, f),
  };
}
