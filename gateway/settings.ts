/**
 * The gateway's settings, declared once. Names are the original's where it had them (docs/compatibility.md); the
 * rest are ours. gateway/config.ts reads them, the gateway chart writes them, docs/configuration.md shows them.
 */
import { formatDuration } from '../protocol/duration.ts';
import { LOG_FORMAT, LOG_LEVEL, METRICS_NAMESPACE, PAYLOAD_STORE_SETTINGS } from '../protocol/settings.ts';
import { bool, custom, describedAs, duration, int, list, oneOf, settingsTable, string, stringKind, url, type Kind } from '../settings/index.ts';

const MiB = 1024 * 1024;

/** How long a publisher owns an outbox entry before a relay may take it: beyond a publish's own 30 s timeout. */
export const DEFAULT_OUTBOX_LEASE_MS = 30_000;
/** A week, as long as final envelopes are kept by default: a pause nobody answers ends instead of staying open. */
export const DEFAULT_PAUSE_MAX_MS = 168 * 3_600_000;
export const DEFAULT_OUTBOX_INTERVAL_MS = 1000;

/**
 * Sized for the 512 Mi memory limit the charts set: an idle gateway holds about 160 MiB, and a body in
 * flight costs about nine times its size at the peak while it is read, parsed, checked, stored and published
 * (measured in bench/gateway/hostile-bodies.ts, docs/performance.md): 32 MiB of bodies peaked at about
 * 430 MiB, 48 MiB at 550 MiB.
 */
export const DEFAULT_BODY_BUDGET_BYTES = 32 * MiB;
export const DEFAULT_MAX_BODY_BYTES = 10 * MiB;

export const AUTH_MODES = ['token', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** `name:token` entries separated by commas or newlines; a name is what envelopes record as their owner. */
export function readClientTokens(raw: string): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const entry of raw.split(/[,\n]/).map((e) => e.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':');
    const name = colon > 0 ? entry.slice(0, colon).trim() : '';
    const token = colon > 0 ? entry.slice(colon + 1).trim() : '';
    if (!/^[A-Za-z0-9._@-]{1,128}$/.test(name) || token === '') {
      throw new Error(`expected name:token entries separated by commas (names of letters, digits and . _ @ -), got an entry starting ${JSON.stringify(entry.slice(0, Math.max(colon, 0) + 1) || entry.slice(0, 8))}`);
    }
    if (name in tokens) throw new Error(`the name ${name} is given twice`);
    tokens[name] = token;
  }
  return tokens;
}

const clientTokensKind: Kind<Record<string, string>> = {
  describe: 'name:token list',
  parse: readClientTokens,
  format: (tokens) => Object.entries(tokens).map(([name, token]) => `${name}:${token}`).join(','),
};

const token = (env: string, doc: string) => string({ env, doc, secret: true });

export const GATEWAY_SETTINGS = settingsTable(
  'gateway',
  {
    port: int({ env: 'ASYA_GATEWAY_PORT', doc: 'listen port', default: 8080, min: 0, max: 65535 }),
    host: string({ env: 'ASYA_GATEWAY_HOST', doc: 'listen address', default: '0.0.0.0' }),
    configPath: string({ env: 'ASYA_CONFIG_PATH', doc: 'tools YAML file, or a directory of them, in the original format. Unset: no tools (the envelope endpoints still work)' }),
    databaseUrl: string({ env: 'ASYA_DATABASE_URL', doc: 'PostgreSQL URL. Unset: the embedded PGlite database, for one process', secret: true }),
    databaseSchema: string({ env: 'ASYA_DATABASE_SCHEMA', doc: 'schema of the tables; created if missing', defaultDoc: "the server's `search_path`" }),
    dbMaxConnections: int({ env: 'ASYA_DB_MAX_CONNS', doc: 'connection pool size', default: 10, min: 1 }),
    dbMaxLifetimeMs: duration({ env: 'ASYA_DB_MAX_CONN_LIFETIME', doc: 'recycle a connection after this long', default: '1h' }),
    dbIdleTimeoutMs: duration({ env: 'ASYA_DB_MAX_CONN_IDLE_TIME', doc: 'close an idle connection after this long', default: '30m' }),
    dataDir: string({ env: 'ASYA_GATEWAY_DATA_DIR', doc: 'where the embedded database keeps its files', defaultDoc: 'none: a scratch database, gone when the gateway stops' }),
    autoMigrate: bool({ env: 'ASYA_GATEWAY_AUTO_MIGRATE', doc: 'apply pending migrations at startup, under an advisory lock. `false`: run `asya gateway migrate` first', default: true }),
    auth: oneOf(AUTH_MODES, {
      env: 'ASYA_GATEWAY_AUTH',
      doc: '`token`: tokens required, and the gateway refuses to start without the internal token and a client token; `none`: every endpoint open (development; no tokens allowed with it)',
      default: 'token',
      caseInsensitive: true,
    }),
    internalToken: token('ASYA_GATEWAY_TOKEN', 'the internal token, required on the endpoints that sidecars and the crew call; required whenever a client token is set'),
    apiToken: token('ASYA_GATEWAY_API_TOKEN', 'shared client token for `/mcp`, `/tools/call`, `/envelopes…`; sees every envelope'),
    clientTokens: custom(clientTokensKind, {
      env: 'ASYA_GATEWAY_CLIENT_TOKENS',
      doc: 'named client tokens, `name:token,name:token` (or one per line); each caller sees only its own envelopes',
      default: {},
      defaultDoc: '–',
      secret: true,
    }),
    adminToken: token('ASYA_GATEWAY_ADMIN_TOKEN', "client token that sees every caller's envelopes"),
    maxBodyBytes: int({
      env: 'ASYA_GATEWAY_MAX_BODY_BYTES',
      doc: 'larger request bodies get 413; a final report that large ends its envelope `failed` (`result_too_large`)',
      default: DEFAULT_MAX_BODY_BYTES,
      defaultDoc: '`10485760` (10 MiB)',
      min: 1,
    }),
    bodyBudgetBytes: int({
      env: 'ASYA_GATEWAY_BODY_BUDGET_BYTES',
      doc: 'bytes of request bodies all requests in flight may hold together; the excess gets 503 with `Retry-After`. At least `ASYA_GATEWAY_MAX_BODY_BYTES`; the default suits a 512 Mi memory limit ([gateway.md](gateway.md#security))',
      default: DEFAULT_BODY_BUDGET_BYTES,
      defaultDoc: '`33554432` (32 MiB)',
      min: 1,
    }),
    corsOrigins: list(stringKind, { env: 'ASYA_GATEWAY_CORS_ORIGINS', doc: 'comma-separated origins allowed by CORS; unset: no CORS headers', default: [], defaultDoc: '–' }),
    sseKeepAliveMs: duration({ env: 'ASYA_GATEWAY_SSE_KEEPALIVE', doc: 'interval of keep-alive comments on SSE streams', default: '15s' }),
    sweepIntervalMs: duration({ env: 'ASYA_GATEWAY_SWEEP_INTERVAL', doc: 'how often envelopes past their deadline are failed', default: '1s' }),
    pauseMaxMs: duration({
      env: 'ASYA_GATEWAY_PAUSE_MAX',
      doc: 'the longest a pause waits for input: a pause without a timeout, or with a longer one, gets this one, and ends like a timed-out pause (its default is taken, else the envelope fails); `0` lets a pause without a timeout wait until resumed or cancelled',
      default: formatDuration(DEFAULT_PAUSE_MAX_MS),
    }),
    retentionMs: duration({ env: 'ASYA_GATEWAY_RETENTION', doc: 'final envelopes older than this are deleted with their history; `0` keeps them', default: '168h' }),
    cleanupIntervalMs: duration({ env: 'ASYA_GATEWAY_CLEANUP_INTERVAL', doc: 'how often retention runs', default: '1h' }),
    taskPollIntervalMs: duration({ env: 'ASYA_GATEWAY_TASK_POLL_INTERVAL', doc: 'the `pollInterval` suggested to MCP task clients', default: '1s' }),
    shutdownTimeoutMs: duration({ env: 'ASYA_GATEWAY_SHUTDOWN_TIMEOUT', doc: 'how long shutdown waits for requests in flight', default: '10s' }),
    keepAliveTimeoutMs: duration({
      env: 'ASYA_GATEWAY_KEEP_ALIVE_TIMEOUT',
      doc: "how long an idle HTTP keep-alive connection stays open. Keep it longer than the idle timeout of whatever proxies or calls the gateway (a load balancer's is often 60 s), so that side closes idle connections first: a connection the gateway closes just as a client sends on it fails that request (ECONNRESET, or a 502 at a proxy)",
      default: '65s',
      minMs: 1000,
    }),
    // A zero lease would hand every call's envelope to the relay while the call still publishes it.
    outboxLeaseMs: duration({
      env: 'ASYA_GATEWAY_OUTBOX_LEASE',
      doc: "how long a publisher owns a saved envelope's outbox entry; after it, a relay on any replica publishes the envelope (at least once)",
      default: formatDuration(DEFAULT_OUTBOX_LEASE_MS),
      minMs: 1,
    }),
    outboxIntervalMs: duration({
      env: 'ASYA_GATEWAY_OUTBOX_INTERVAL',
      doc: 'how often each replica looks for saved envelopes whose publish was not confirmed',
      default: formatDuration(DEFAULT_OUTBOX_INTERVAL_MS),
      minMs: 1,
    }),
    ui: bool({ env: 'ASYA_GATEWAY_UI', doc: 'serve the web console at `/ui` and the endpoints only it reads under `/console/api` ([console.md](console.md)); `false` turns both off', default: true }),
    traceUrl: string({
      env: 'ASYA_GATEWAY_TRACE_URL',
      doc: "the console links an envelope to its trace with this URL, `{trace_id}` replaced by the trace id of the envelope's `traceparent` header (e.g. `http://jaeger:16686/trace/{trace_id}`); unset: no link",
    }),
    prometheusUrl: url({
      env: 'ASYA_GATEWAY_PROMETHEUS_URL',
      doc: "the Prometheus that scrapes the sidecars: the console's actors page reads their metrics from it ([console.md](console.md#actors)); unset: the page says the gateway does not know its actors (`asya dev` fills it in itself)",
    }),
    prometheusSelector: string({
      env: 'ASYA_GATEWAY_PROMETHEUS_SELECTOR',
      doc: 'label matchers added to every query the console makes to Prometheus, to pick one installation\'s sidecars, e.g. `namespace="ml-prod"`',
      defaultDoc: 'none (every sidecar Prometheus has)',
    }),
    prometheusMetricsNamespace: describedAs(METRICS_NAMESPACE, { doc: "the prefix of the sidecars' metric names (set as theirs is), which the console asks Prometheus for" }),
    logLevel: LOG_LEVEL,
    ...PAYLOAD_STORE_SETTINGS,
    payloadResolveBytes: int({
      env: 'ASYA_PAYLOAD_RESOLVE_BYTES',
      doc: 'an offloaded result up to this size is resolved for the client (`GET /envelopes/{id}`, MCP results); a larger one is answered with its reference and `result_url`, which streams it ([payloads.md](payloads.md))',
      default: 10 * 1024 * 1024,
      defaultDoc: '`10485760` (10 MiB)',
      min: 0,
    }),
    logFormat: LOG_FORMAT,
  },
  [{ env: 'ASYA_DB_MIN_CONNS', action: 'warn', reason: 'the pool opens connections on demand' }],
);
