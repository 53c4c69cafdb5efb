/** Crew settings from the environment: the original's S3 variables, the gateway, and error-end's retries. */
import { createLogger, DEFAULT_RUNTIME_TIMEOUT, DLQ_QUEUE, parseDuration, ERROR_END, HAPPY_END, parseLogLevel, type Logger } from '../protocol/index.ts';
import { gatewayClient, type GatewayClient } from '../protocol/gateway-client.ts';
import { DEFAULT_RETRY_POLICY, parseRetryPolicy, type RetryPolicy } from './retry-policy.ts';
import { storageFromEnv, type Storage } from './storage.ts';

export interface CrewConfig {
  storage: Storage;
  /** `ASYA_S3_RESULTS_PREFIX`, default `happy-asya/`. */
  resultsPrefix: string;
  /** `ASYA_S3_ERRORS_PREFIX`, default `error-asya/`. */
  errorsPrefix: string;
  /** Set when `ASYA_GATEWAY_URL` is; without it the crew only stores. */
  gateway?: GatewayClient;
  happyEnd: string;
  errorEnd: string;
  /** `ASYA_DLQ_QUEUE`, default `asya-dlq`. */
  dlqQueue: string;
  /** For error envelopes without `x-asya-retry-policy`: `ASYA_RETRY_POLICY` (JSON spec.retry) or the defaults. */
  defaultPolicy: RetryPolicy;
  log: Logger;
}

/**
 * While the gateway is away the sidecar holds the message and calls the handler again, so one handler call
 * only tries briefly, and must end well inside the runtime timeout: a timed-out end handler counts toward
 * the DLQ. Two attempts, each given at most a quarter of that timeout (and never more than 5 s).
 */
export function reportBudget(runtimeTimeout: string | undefined): { attempts: number; timeoutMs: number } {
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(runtimeTimeout ?? DEFAULT_RUNTIME_TIMEOUT, 'ASYA_RUNTIME_TIMEOUT');
  } catch (err) {
    throw new CrewConfigError((err as Error).message);
  }
  return { attempts: 2, timeoutMs: Math.max(100, Math.min(5_000, Math.floor(timeoutMs / 4))) };
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
  if ((env.ASYA_HANDLER_MODE || 'payload').toLowerCase() !== 'envelope') {
    throw new CrewConfigError('End handlers must run in envelope mode (ASYA_HANDLER_MODE=envelope)');
  }
  if ((env.ASYA_ENABLE_VALIDATION ?? 'true').toLowerCase() === 'true') {
    throw new CrewConfigError('End handlers must run with validation disabled (ASYA_ENABLE_VALIDATION=false)');
  }
}

export function crewConfigFromEnv(env: Env = process.env, name = 'crew'): CrewConfig {
  const get = (key: string) => (env[key]?.trim() ? env[key]!.trim() : undefined);
  const log = createLogger(parseLogLevel(env.ASYA_LOG_LEVEL), `asya.crew.${name}`);
  const { policy, problem } = parseRetryPolicy(get('ASYA_RETRY_POLICY'));
  if (problem) throw new CrewConfigError(`Invalid ASYA_RETRY_POLICY: ${problem}`);
  const url = get('ASYA_GATEWAY_URL');
  return {
    storage: storageFromEnv(env),
    resultsPrefix: env.ASYA_S3_RESULTS_PREFIX ?? 'happy-asya/',
    errorsPrefix: env.ASYA_S3_ERRORS_PREFIX ?? 'error-asya/',
    ...(url ? { gateway: gatewayClient({ url, token: get('ASYA_GATEWAY_TOKEN'), log, ...reportBudget(get('ASYA_RUNTIME_TIMEOUT')) }) } : {}),
    happyEnd: get('ASYA_ACTOR_HAPPY_END') ?? HAPPY_END,
    errorEnd: get('ASYA_ACTOR_ERROR_END') ?? ERROR_END,
    dlqQueue: get('ASYA_DLQ_QUEUE') ?? DLQ_QUEUE,
    defaultPolicy: policy ?? DEFAULT_RETRY_POLICY,
    log,
  };
}

/** What a crew handler needs, built once from the environment on first use (see happy-end.ts). */
export function lazyHandler<T>(name: string, create: (config: CrewConfig) => (envelope: unknown) => Promise<T>): (envelope: unknown) => Promise<T> {
  let handler: ((envelope: unknown) => Promise<T>) | undefined;
  return (envelope) => {
    if (!handler) {
      assertEndHandlerEnv(process.env);
      handler = create(crewConfigFromEnv(process.env, name));
    }
    return handler(envelope);
  };
}
