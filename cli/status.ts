/** `asya status <id>`: one envelope as the gateway holds it; with --wait, until it is final. */
import { oneEnvelopeId, parseClientCommand } from './client/parse-options.ts';
import { CliError, EXIT } from './client/exit-codes.ts';
import { followToFinal } from './client/follow.ts';
import { gatewayFrom, isFinalStatus } from './client/gateway-client.ts';
import { progressView } from './client/progress.ts';

export const STATUS_USAGE = `Usage: asya status <envelope id> [options]

Prints the envelope (GET /envelopes/{id}) as JSON: status, progress, current actor, result or error.

Options:
  --wait               Follow its progress and print it once it is final; the exit code is then 0 succeeded, 1 failed
  --timeout <seconds>  With --wait: stop waiting after this long (exit 6)
  --gateway <url>      The gateway (default: ASYA_GATEWAY_URL, else http://127.0.0.1:8089 where asya dev runs)
  --token <token>      Bearer token (default: ASYA_GATEWAY_API_TOKEN, else ASYA_GATEWAY_TOKEN)
  -h, --help           Show this help

Exit codes: 0 found (with --wait: succeeded), 1 failed (with --wait), 2 usage, 3 gateway unreachable,
4 no such envelope, 5 gateway error, 6 --timeout passed, 130 interrupted.`;

export async function runStatus(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const parsed = parseClientCommand(argv, { wait: { type: 'boolean', default: false }, timeout: { type: 'string' } }, STATUS_USAGE);
  if (!parsed) return EXIT.ok;
  const { values, positionals } = parsed;
  const id = oneEnvelopeId(positionals, STATUS_USAGE);
  const timeoutSeconds = values.timeout === undefined ? 0 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) throw new CliError(EXIT.usage, `--timeout expects seconds, got ${JSON.stringify(values.timeout)}`);
  const gateway = gatewayFrom(values, env);
  let envelope = await gateway.envelope(id);
  if (!values.wait) {
    process.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`);
    return EXIT.ok;
  }
  if (!isFinalStatus(envelope.status)) {
    await followToFinal(gateway, id, progressView(process.stderr, id.slice(0, 8)), { timeoutSeconds });
    envelope = await gateway.envelope(id);
  }
  process.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`);
  return envelope.status === 'succeeded' ? EXIT.ok : EXIT.failed;
}
