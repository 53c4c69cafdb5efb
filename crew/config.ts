/** Crew settings from the environment: the original's S3 variables, the gateway, and error-end's retries. */
import { createLogger, type Logger } from '../protocol/index.ts';
import { gatewayClient, type GatewayClient } from '../protocol/gateway-client.ts';
import { fromEnv, readSettings, type Settings } from '../settings/index.ts';
import { CREW_RUNTIME_SETTINGS, CREW_SETTINGS } from './settings.ts';
import { storageFromSettings, type Storage } from './storage.ts';
import { startTracing } from '../telemetry/index.ts';

/** The values as the table reads them: a change of a declaration is a type change here. */
type Read = Settings<typeof CREW_SETTINGS>;

/** What the crew's handlers use, built from the table; each field's type is its declaration's. */
export interface CrewConfig {
  /** Built from the S3 settings, or ASYA_RESULTS_DIR. */
  storage: Storage;
  resultsPrefix: Read['resultsPrefix'];
  errorsPrefix: Read['errorsPrefix'];
  /** Set when `ASYA_GATEWAY_URL` is; without it the crew only stores. */
  gateway?: GatewayClient;
  happyEnd: Read['happyEnd'];
  errorEnd: Read['errorEnd'];
  dlqQueue: Read['dlqQueue'];
  /** For error envelopes without `x-asya-retry-policy`: `ASYA_RETRY_POLICY` (JSON spec.retry) or the defaults. */
  defaultPolicy: Read['defaultPolicy'];
  log: Logger;
}

/**
 * While the gateway is away the sidecar holds the message and calls the handler again, so one handler call
 * only tries briefly, and must end well inside the runtime timeout: a timed-out end handler counts toward
 * the DLQ. Two attempts, each given at most a quarter of that timeout (and never more than 5 s).
 */
export function reportBudget(runtimeTimeoutMs: number): { attempts: number; timeoutMs: number } {
  return { attempts: 2, timeoutMs: Math.max(100, Math.min(5_000, Math.floor(runtimeTimeoutMs / 4))) };
}

export class CrewConfigError extends Error {
  override readonly name = 'CrewConfigError';
}

type Env = Record<string, string | undefined>;

/**
 * The crew reads whole envelopes and answers with its own shapes, so the runtime must hand it envelopes
 * unvalidated (the original refused to import otherwise; the messages are the original's).
 */
export function assertEndHandlerEnv(env: Env): void {
  const { values } = readSettings(CREW_RUNTIME_SETTINGS, env);
  if (values.mode !== 'envelope') throw new CrewConfigError('End handlers must run in envelope mode (ASYA_HANDLER_MODE=envelope)');
  if (values.validate) throw new CrewConfigError('End handlers must run with validation disabled (ASYA_ENABLE_VALIDATION=false)');
}

export function crewConfigFromEnv(env: Env = process.env, name = 'crew'): CrewConfig {
  const settings = fromEnv(CREW_SETTINGS, env, { error: (message) => new CrewConfigError(message) });
  const log = createLogger(settings.logLevel, 'asya.crew', { format: settings.logFormat, actor: name });
  const { gatewayUrl: url, gatewayToken: token } = settings;
  return {
    storage: storageFromSettings(settings),
    resultsPrefix: settings.resultsPrefix,
    errorsPrefix: settings.errorsPrefix,
    ...(url ? { gateway: gatewayClient({ url, token, log, ...reportBudget(settings.runtimeTimeoutMs) }) } : {}),
    happyEnd: settings.happyEnd,
    errorEnd: settings.errorEnd,
    dlqQueue: settings.dlqQueue,
    defaultPolicy: settings.defaultPolicy,
    log,
  };
}

/** What a crew handler needs, built once from the environment on first use (see happy-end.ts). */
export function lazyHandler<T>(name: string, create: (config: CrewConfig) => (envelope: unknown) => Promise<T>): (envelope: unknown) => Promise<T> {
  let handler: ((envelope: unknown) => Promise<T>) | undefined;
  return async (envelope) => {
    if (!handler) {
      assertEndHandlerEnv(process.env);
      const config = crewConfigFromEnv(process.env, name);
      // The crew's runtime is a process of its own: its spans are exported from here.
      await startTracing('crew', process.env, (message) => config.log.warn(message));
      handler ??= create(config);
    }
    return handler(envelope);
  };
}
