/** `asya sidecar`: configuration from the environment, transport from ASYA_TRANSPORT, drain on SIGTERM. */
import { createLogger, sidecarQueueSettings } from '../protocol/index.ts';
import { logFormatFromEnv, logLevelFromEnv } from '../protocol/settings.ts';
import { ConfigError, loadSidecarConfig, queuePolicyOfConfig } from '../sidecar/config.ts';
import { startSidecar } from '../sidecar/sidecar.ts';
import { startTracing } from '../telemetry/index.ts';

export async function runSidecar(env: Record<string, string | undefined> = process.env): Promise<void> {
  let config;
  try {
    config = loadSidecarConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger(logLevelFromEnv(env), 'asya.sidecar', { format: logFormatFromEnv(env) }).error(`FATAL: ${err.message}`);
    process.exit(1);
  }
  const log = createLogger(config.logLevel, 'asya.sidecar', { format: config.logFormat, actor: config.actorName });
  const tracing = await startTracing('sidecar', env, (message) => log.warn(message));
  const { createTransport } = await import('../transport/factory.ts');
  const transport = await createTransport(env, { logger: log });
  const sidecar = await startSidecar({ config, transport, log, queue: sidecarQueueSettings(queuePolicyOfConfig(config)) });
  const stop = (signal: string) => {
    log.info(`${signal}: draining`);
    void sidecar
      .stop()
      .then(() => transport.close())
      .then(() => tracing.shutdown())
      .then(() => process.exit(0));
  };
  void sidecar.finished.then(() => stop('idle'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
