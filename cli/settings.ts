/**
 * The settings the CLI's own commands read, declared once: `asya call`, `status` and `tools` find the gateway
 * and its client token here, `asya dlq` reads the crew's queue and gateway, `asya dev` its log level.
 * docs/configuration.md's CLI section is generated from these tables (`make docs`).
 */
import type { LogLevel } from '../protocol/log.ts';
import { DLQ_QUEUE_NAME, GATEWAY_TOKEN, GATEWAY_URL, LOG_FORMAT, LOG_LEVEL } from '../protocol/settings.ts';
import { custom, describedAs, pickSettings, readSettings, settingsTable, string, urlKind, type Env, type Kind, type SettingOptions } from '../settings/index.ts';

/** Where `asya dev` serves the gateway unless told otherwise. */
export const DEV_GATEWAY_URL = 'http://127.0.0.1:8089';

/** The CLI speaks HTTP to the gateway: any other scheme is a mistake worth naming before a request. */
export const gatewayUrlKind: Kind<string> = {
  ...urlKind,
  describe: 'http(s) URL',
  parse(raw) {
    if (!/^https?:\/\/[^/]/.test(raw)) throw new Error('expected an http:// or https:// URL such as http://127.0.0.1:8089');
    return urlKind.parse(raw);
  },
};

/** `asya call`, `status`, `tools`. */
export const CLI_SETTINGS = settingsTable('cli', {
  gatewayUrl: custom(gatewayUrlKind, {
    env: 'ASYA_GATEWAY_URL',
    doc: 'the gateway `asya call`, `status` and `tools` talk to; `--gateway` overrides it',
    default: DEV_GATEWAY_URL,
    defaultDoc: `\`${DEV_GATEWAY_URL}\` (where \`asya dev\` listens)`,
  }),
  apiToken: string({
    env: 'ASYA_GATEWAY_API_TOKEN',
    doc: "bearer token sent to the gateway (the gateway's client token); `--token` overrides it",
    secret: true,
  }),
  gatewayToken: describedAs(GATEWAY_TOKEN, { doc: 'the token sent when `ASYA_GATEWAY_API_TOKEN` is unset, so one exported token serves a dev shell either way' }),
  // asya dev hosts every component in one process, so their chatter would drown its own lines.
  logLevel: custom<LogLevel, SettingOptions<LogLevel> & { default: LogLevel }>(LOG_LEVEL.kind, {
    ...LOG_LEVEL.options,
    doc: '`asya dev`: the level of the components it hosts. Any command: `DEBUG` also prints the stack trace of a CLI error',
    default: 'WARNING',
    defaultDoc: '`WARNING`',
  }),
  logFormat: describedAs(LOG_FORMAT, { doc: "`asya dev`: the format of its own lines and of every component it hosts (`json`: the demo's output and the closing table too, as JSON lines); the service commands (`gateway`, `sidecar`, `crew`, `runtime`, `controller`) read it through their own tables. `json` also makes a failing command's error one JSON line" }),
});

/**
 * `asya dlq`: the crew's own declarations (the same reading as error-end's), since it acts on error-end's
 * queue and gateway. Plus the transport variables, as for the sidecar.
 */
export const DLQ_CLI_SETTINGS = settingsTable('cli-dlq', {
  dlqQueue: describedAs(DLQ_QUEUE_NAME, { doc: 'the queue error-end puts dead letters in; `--queue` overrides it' }),
  gatewayUrl: describedAs(GATEWAY_URL, { doc: '`asya dlq replay` first reopens the envelope at this gateway ([crew.md](crew.md#asya-dlq)); unset: it replays without the gateway' }),
  gatewayToken: describedAs(GATEWAY_TOKEN, { doc: "bearer token for the gateway's internal endpoints (the reopen)" }),
});

/**
 * The CLI's log level without a word on stderr: for places that must not warn again (`asya dev` has read it
 * once already), or that only decide whether to print a stack trace.
 */
export function cliLogLevel(env: Env): LogLevel {
  return readSettings(LOG_LEVEL_ONLY, env).values.logLevel;
}

const LOG_LEVEL_ONLY = pickSettings(CLI_SETTINGS, ['logLevel']);
