/** `asya controller`: the live AsyncActor controller (docs/controller.md); configured by environment variables. */
import { ControllerConfigError, loadControllerConfig } from '../controller/config.ts';
import { startController } from '../controller/controller.ts';
import { createLogger } from '../protocol/index.ts';
import { logFormatFromEnv, logLevelFromEnv } from '../protocol/settings.ts';

export async function runController(): Promise<number | void> {
  let config;
  try {
    config = loadControllerConfig();
  } catch (err) {
    if (!(err instanceof ControllerConfigError)) throw err;
    createLogger(logLevelFromEnv(process.env), 'asya.controller', { format: logFormatFromEnv(process.env) }).error(err.message);
    return 2;
  }
  const log = createLogger(config.logLevel, 'asya.controller', { format: config.logFormat });
  const controller = await startController({ config, log });
  const stop = (why: string, code: number) => {
    log.info(`${why}: stopping`);
    void controller.stop().then(() => process.exit(code));
  };
  // A replica that lost its Lease exits; Kubernetes restarts it as a candidate.
  void controller.lost.then(() => stop('lost the leader Lease', 1));
  process.once('SIGTERM', () => stop('SIGTERM', 0));
  process.once('SIGINT', () => stop('SIGINT', 0));
}
