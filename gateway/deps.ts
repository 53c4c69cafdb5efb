/** What the HTTP and MCP layers are built from; server.ts assembles it, tests build their own. */
import type { Logger } from '../protocol/log.ts';
import type { GatewayPayloads } from './core/payloads.ts';
import type { AuthMode } from './config.ts';
import type { Transport } from '../transport/transport.ts';
import type { ConsoleSources } from './console/sources.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { EnvelopeStore } from './store/index.ts';
import type { ToolSet } from './tools/index.ts';

export interface AppOptions {
  /** `none` opens every endpoint; with `token` an endpoint whose token is not configured admits nobody. */
  auth: AuthMode;
  apiToken?: string | undefined;
  adminToken?: string | undefined;
  clientTokens?: Record<string, string>;
  internalToken?: string | undefined;
  /** @default 10 MiB */
  maxBodyBytes?: number;
  /** @default DEFAULT_BODY_BUDGET_BYTES (32 MiB) */
  bodyBudgetBytes?: number;
  /** @default none: no CORS headers */
  corsOrigins?: string[];
  /** @default 15000 */
  sseKeepAliveMs?: number;
  /** Suggested to MCP task clients. @default 1000 */
  taskPollIntervalMs?: number;
  /** Reported as a task's ttl; 0 means kept forever. @default 0 */
  retentionMs?: number;
  /** How long a tool call owns its envelope's outbox entry before a relay may publish it. @default 30000 */
  outboxLeaseMs?: number;
  /** The longest a pause waits for input; 0: a pause without a timeout waits forever. @default DEFAULT_PAUSE_MAX_MS (a week) */
  pauseMaxMs?: number;
  /** Serve the console at /ui and its endpoints under /console/api. @default false */
  ui?: boolean;
  /** The console's trace link, `{trace_id}` replaced. */
  traceUrl?: string | undefined;
}

export interface GatewayDeps {
  store: EnvelopeStore;
  transport: Transport;
  tools: ToolSet;
  log: Logger;
  metrics: GatewayMetrics;
  options: AppOptions;
  /** The claim check: large arguments offloaded, offloaded results resolved. Absent: payloads travel inline. */
  payloads?: GatewayPayloads;
  /** Long-lived responses (SSE, waiting tool calls) register here so shutdown can end them. */
  closers: Set<() => void>;
  /** What the console shows beyond the store (DLQ, actors); see console/sources.ts. */
  consoleSources?: ConsoleSources;
}
