/** `asya runtime`: load the handler, serve the socket, clean up on SIGTERM. */
import { loadRuntimeConfig, RuntimeConfigError } from './config.ts';
import { HandlerLoadError, loadHandler } from './load-handler.ts';
import { createLogger } from '../../protocol/log.ts';
import { logFormatFromEnv, logLevelFromEnv } from '../../protocol/settings.ts';
import { startRuntimeServer } from './server.ts';
import { errorText } from '../../protocol/errors.ts';
import { exitWithParent } from '../../protocol/parent-pipe.ts';

export async function runRuntime(env: Record<string, string | undefined> = process.env): Promise<void> {
  const log = createLogger(logLevelFromEnv(env), 'asya.runtime', { format: logFormatFromEnv(env) });
  let server;
  try {
    const config = loadRuntimeConfig(env);
    // Before the handler loads: a parent that dies meanwhile (a slow import) must not leave us behind.
    exitWithParent(config.parentPipeFd);
    const handler = await loadHandler(config.handler);
    server = await startRuntimeServer(config, handler, createLogger(config.logLevel, 'asya.runtime', { format: config.logFormat }));
  } catch (err) {
    const known = err instanceof RuntimeConfigError || err instanceof HandlerLoadError;
    log.error(`FATAL: ${known ? errorText(err) : `could not start the runtime: ${errorText(err)}`}`);
    process.exit(1);
  }
  const stop = (signal: string) => {
    log.info(`Received ${signal}: finishing requests in flight`);
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
