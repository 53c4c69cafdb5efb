/**
 * `asya call <tool> [json] [--key value ...]`: one tool call through the gateway's REST API, its progress
 * from the envelope's SSE stream, and the result on stdout. The exit code follows the final status
 * (cli/client/exit-codes.ts).
 */
import { payloadRefOf } from '../protocol/payload-ref.ts';
import { CliError, EXIT } from './client/exit-codes.ts';
import { followToFinal } from './client/follow.ts';
import { failureText } from './client/failure-text.ts';
import { gatewayFrom } from './client/gateway-client.ts';
import { progressView } from './client/progress.ts';
import { applyFlags, parseArgumentsJson, type FlagArgument } from './client/tool-arguments.ts';
import { idempotencyKeyProblem } from '../protocol/gateway-contract.ts';

export const CALL_USAGE = `Usage: asya call <tool> ['<json arguments>'] [--<argument> <value> ...] [options]

Calls a tool through the gateway, shows its progress (a bar on a terminal, lines otherwise, on stderr)
and prints the result as JSON on stdout.

Arguments: a JSON object, and/or one flag per argument. Flag values are converted to the type the tool
declares (asya tools lists them): --count 3 sends a number, --dry-run alone sends true, an array may be
repeated (--tag a --tag b) or given as JSON. Flags override keys of the JSON object. An argument whose name
is also an option below goes after '--' (everything after '--' is for the tool).

Options:
  --gateway <url>      The gateway (default: ASYA_GATEWAY_URL, else http://127.0.0.1:8089 where asya dev runs)
  --token <token>      Bearer token (default: ASYA_GATEWAY_API_TOKEN, else ASYA_GATEWAY_TOKEN)
  --timeout <seconds>  Stop waiting after this long (exit 6); the envelope goes on. Default: wait until final
  --no-wait            Print the envelope id and exit without waiting
  --idempotency-key <key>
                       Name this call: run again with the same key and arguments (after a lost
                       answer, a timeout), it follows the first call's envelope instead of starting
                       another; the same key with other arguments is refused (exit 2). A call that
                       gets no answer, or 502/503/504, is sent again (3 tries in all). 1 to 255
                       visible ASCII characters; keys last as long as the gateway keeps the envelope
  --json               Print the whole final envelope (GET /envelopes/{id}) instead of the result
  -h, --help           Show this help

Exit codes: 0 succeeded, 1 failed, 2 usage (bad option, bad JSON, arguments refused), 3 gateway unreachable,
4 unknown tool, 5 gateway error (401, 5xx, not queued), 6 --timeout passed, 130 interrupted.`;

interface CallLine {
  help: boolean;
  tool?: string;
  json?: string;
  flags: FlagArgument[];
  gateway?: string;
  token?: string;
  timeoutSeconds?: number;
  idempotencyKey?: string;
  noWait: boolean;
  jsonOutput: boolean;
}

const usage = (message: string) => new CliError(EXIT.usage, `${message}\n\n${CALL_USAGE}`);
const VALUED = new Set(['gateway', 'token', 'timeout', 'idempotency-key']);

/** asya's own options are taken wherever they appear before '--'; every other --flag is a tool argument. */
export function scanCallLine(argv: string[]): CallLine {
  const line: CallLine = { help: false, flags: [], noWait: false, jsonOutput: false };
  const positionals: string[] = [];
  let ownOptions = true;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      ownOptions = false;
      continue;
    }
    if (!token.startsWith('--')) {
      if (ownOptions && token === '-h') line.help = true;
      else if (ownOptions && /^-[a-zA-Z]/.test(token)) throw usage(`unknown option ${token}`);
      else positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const key = token.slice(2, eq < 0 ? undefined : eq);
    if (!key) throw usage(`${token} is not an option`);
    const next = argv[i + 1];
    const inline = eq < 0 ? undefined : token.slice(eq + 1);
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw usage(`--${key} needs a value`);
      i++;
      return next;
    };
    if (ownOptions && (key === 'help' || key === 'no-wait' || key === 'json')) {
      if (inline !== undefined) throw usage(`--${key} takes no value`);
      if (key === 'help') line.help = true;
      else if (key === 'no-wait') line.noWait = true;
      else line.jsonOutput = true;
      continue;
    }
    if (ownOptions && VALUED.has(key)) {
      const value = takeValue();
      if (key === 'gateway') line.gateway = value;
      else if (key === 'token') line.token = value;
      else if (key === 'idempotency-key') {
        const problem = idempotencyKeyProblem(value, '--idempotency-key');
        if (problem) throw usage(problem);
        line.idempotencyKey = value;
      } else {
        const seconds = Number(value);
        if (!Number.isFinite(seconds) || seconds < 0) throw usage(`--timeout expects seconds, got ${JSON.stringify(value)}`);
        line.timeoutSeconds = seconds;
      }
      continue;
    }
    // A tool argument: its value is the next token unless that is another flag (then it is a bare flag).
    if (inline !== undefined) line.flags.push({ key, value: inline });
    else if (next === undefined || (next.startsWith('--') && next.length > 2)) line.flags.push({ key, value: true });
    else {
      line.flags.push({ key, value: next });
      i++;
    }
  }
  if (line.help) return line;
  const [tool, json, ...extra] = positionals;
  if (!tool) throw usage('missing the tool name');
  if (extra.length > 0) throw usage(`unexpected arguments: ${extra.join(' ')} (the JSON arguments must be one quoted word)`);
  line.tool = tool;
  if (json !== undefined) line.json = json;
  return line;
}

export async function runCall(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const line = scanCallLine(argv);
  if (line.help) {
    process.stdout.write(`${CALL_USAGE}\n`);
    return EXIT.ok;
  }
  const tool = line.tool!;
  const gateway = gatewayFrom(line, env);
  let args = line.json !== undefined ? parseArgumentsJson(line.json) : {};
  if (line.flags.length > 0) {
    const tools = await gateway.listTools();
    const info = tools.find((t) => t.name === tool);
    if (!info) throw new CliError(EXIT.notFound, `the gateway at ${gateway.url} has no tool "${tool}"; it has: ${tools.map((t) => t.name).join(', ') || 'none'}`);
    args = applyFlags(args, line.flags, info.inputSchema, (message) => process.stderr.write(`asya call: warning: ${message}\n`));
  }
  const { id, replayed } = await gateway.callTool(tool, args, line.idempotencyKey, (reason, attempt, of) => {
    process.stderr.write(`asya call: ${reason}; sending the call again with its idempotency key (attempt ${attempt} of ${of})\n`);
  });
  if (replayed) process.stderr.write(`${tool}: the gateway already had this call (idempotency key ${line.idempotencyKey}): following its envelope, nothing new started\n`);
  if (line.noWait) {
    process.stdout.write(`${JSON.stringify({ envelope_id: id })}\n`);
    return EXIT.ok;
  }
  process.stderr.write(`${tool}: envelope ${id}\n`);
  const final = await followToFinal(gateway, id, progressView(process.stderr, tool), line.timeoutSeconds ? { timeoutSeconds: line.timeoutSeconds } : {});
  // The stream carries an offloaded result as its reference; the envelope read resolves it (docs/payloads.md).
  const offloaded = payloadRefOf(final.result) !== undefined;
  const envelope = line.jsonOutput || offloaded ? await gateway.envelope(id) : final;
  if (final.status === 'succeeded') {
    process.stderr.write(`✓ ${tool} succeeded\n`);
    const resultUrl = 'result_url' in envelope ? envelope.result_url : undefined;
    if (resultUrl) process.stderr.write(`the result is too large to show inline; download it from ${gateway.url}${resultUrl}\n`);
    process.stdout.write(`${JSON.stringify(line.jsonOutput ? envelope : (envelope.result ?? null), null, 2)}\n`);
    return EXIT.ok;
  }
  process.stderr.write(`✗ ${tool} failed: ${failureText(line.jsonOutput ? envelope : await gateway.envelope(id))}\n`);
  if (line.jsonOutput) process.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`);
  return EXIT.failed;
}
