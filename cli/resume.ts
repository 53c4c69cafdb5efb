/** `asya resume <id>`: answers a paused envelope (POST /envelopes/{id}/resume) so its pipeline goes on. */
import { readFileSync } from 'node:fs';
import { oneEnvelopeId, parseClientCommand } from './client/parse-options.ts';
import { CliError, EXIT } from './client/exit-codes.ts';
import { gatewayFrom } from './client/gateway-client.ts';
import { errorText } from '../protocol/errors.ts';

export const RESUME_USAGE = `Usage: asya resume <envelope id> [options]

Resumes a paused envelope with input (checked by the gateway against the pause's schema) and prints the
envelope as JSON. Without --input the input is null. 'asya status <id>' shows what it waits for.

Options:
  --input <json|@file>  The answer: JSON text, or @path to a file holding JSON
  --gateway <url>       The gateway (default: ASYA_GATEWAY_URL, else http://127.0.0.1:8089 where asya dev runs)
  --token <token>       Bearer token (default: ASYA_GATEWAY_API_TOKEN, else ASYA_GATEWAY_TOKEN)
  -h, --help            Show this help

Exit codes: 0 resumed, 2 usage or input refused by the schema, 3 gateway unreachable, 4 no such envelope,
5 gateway error (e.g. the envelope is not paused).`;

function readInput(raw: string | undefined): unknown {
  if (raw === undefined) return null;
  let text = raw;
  if (raw.startsWith('@')) {
    try {
      text = readFileSync(raw.slice(1), 'utf8');
    } catch (err) {
      throw new CliError(EXIT.usage, `cannot read --input file ${raw.slice(1)}: ${errorText(err)}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(EXIT.usage, `--input is not JSON: ${errorText(err)}`);
  }
}

export async function runResume(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const parsed = parseClientCommand(argv, { input: { type: 'string' } }, RESUME_USAGE);
  if (!parsed) return EXIT.ok;
  const { values, positionals } = parsed;
  const id = oneEnvelopeId(positionals, RESUME_USAGE);
  const envelope = await gatewayFrom(values, env).resume(id, readInput(values.input));
  process.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`);
  return EXIT.ok;
}
