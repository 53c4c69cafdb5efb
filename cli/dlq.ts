/**
 * `asya dlq list|show|replay`: what error-end gave up on, and sending it back once the cause is fixed.
 * The transport comes from the same environment variables as the sidecar (ASYA_TRANSPORT, ...). With
 * ASYA_GATEWAY_URL set, a replay first reopens the envelope at the gateway (POST /envelopes/{id}/replay),
 * so the final status the replayed envelope earns is the one clients see.
 * Exit codes: 0 done, 1 an id is unknown or a replay failed, 2 usage.
 */
import { parseOptions } from './client/parse-options.ts';
import { ErrorAnswer, type FinalRequest, type ReplayRequest } from '../protocol/gateway-contract.ts';
import type { DeadLetterRecord } from '../protocol/index.ts';
import { ensureDlqQueue, replay, withDeadLetters, type DeadLetter } from '../crew/dlq.ts';
import { fromEnv, SettingsError } from '../settings/index.ts';
import type { Transport } from '../transport/transport.ts';
import { DLQ_CLI_SETTINGS } from './settings.ts';
import { errorText } from '../protocol/errors.ts';


const USAGE = `Usage:
  asya dlq list [--queue asya-dlq] [--json]
  asya dlq show <id> [--queue asya-dlq]
  asya dlq replay <id> | --all [--queue asya-dlq]

Reads the dead letters error-end wrote (on ASYA_TRANSPORT). replay sends an envelope back to the actor that
failed, with that actor's attempt count reset, and removes it from the queue once the broker confirmed it.
With ASYA_GATEWAY_URL (and ASYA_GATEWAY_TOKEN) set, replay first reopens the envelope at the gateway.`;

export interface DlqIo {
  env?: Record<string, string | undefined>;
  /** Used instead of one built from env (tests, asya dev); not closed here. */
  transport?: Transport;
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Passed to the reader: how long to wait for more messages. */
  idleMs?: number;
  /** How long a call to the gateway may take. @default 10000 */
  gatewayTimeoutMs?: number;
}

/** Runs the command and returns its exit code. */
export async function dlqCommand(args: string[], io: DlqIo = {}): Promise<number> {
  const out = io.out ?? ((t: string) => void process.stdout.write(t));
  const err = io.err ?? ((t: string) => void process.stderr.write(t));
  let parsed;
  let settings;
  try {
    settings = fromEnv(DLQ_CLI_SETTINGS, io.env ?? process.env);
    parsed = parseOptions({
      args,
      allowPositionals: true,
      options: { queue: { type: 'string', default: settings.dlqQueue }, json: { type: 'boolean', default: false }, all: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    });
  } catch (e) {
    err(`asya dlq: ${errorText(e)}${e instanceof SettingsError ? '' : `\n\n${USAGE}`}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, id, ...extra] = positionals;
  if (values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  const usage = (problem: string) => {
    err(`asya dlq: ${problem}\n\n${USAGE}\n`);
    return 2;
  };
  if (extra.length > 0) return usage(`unexpected arguments: ${extra.join(' ')}`);
  if (action === 'list' && id) return usage('list takes no id (use show <id>)');
  if (action === 'show' && !id) return usage('show needs an id');
  if (action === 'replay' && !id === !values.all) return usage('replay needs an id or --all (not both)');
  if (action !== 'list' && action !== 'show' && action !== 'replay') return usage(action ? `unknown action '${action}'` : 'missing action');

  const env = io.env ?? process.env;
  const gateway = settings.gatewayUrl ? new GatewayReopener(settings.gatewayUrl, settings.gatewayToken, io.gatewayTimeoutMs ?? 10_000) : undefined;
  const transport = io.transport ?? (await (await import('../transport/factory.ts')).createTransport(env));
  const queue = values.queue;
  const readOptions = io.idleMs !== undefined ? { idleMs: io.idleMs } : {};
  try {
    await ensureDlqQueue(transport, queue);
    if (action === 'list') {
      const letters = await withDeadLetters(transport, queue, async (all) => ({ ack: [], result: all }), readOptions);
      out(values.json ? `${JSON.stringify(letters.map(asJson), null, 2)}\n` : table(letters, queue));
      return 0;
    }
    if (action === 'show') {
      const matches = await withDeadLetters(transport, queue, async (all) => ({ ack: [], result: all.filter((l) => l.record?.id === id) }), readOptions);
      if (matches.length === 0) {
        err(`asya dlq: no dead letter with id ${id} in ${queue}\n`);
        return 1;
      }
      out(`${JSON.stringify(matches.length === 1 ? asJson(matches[0]!) : matches.map(asJson), null, 2)}\n`);
      return 0;
    }
    return await withDeadLetters(
      transport,
      queue,
      async (all) => {
        const chosen = values.all ? all : all.filter((l) => l.record?.id === id);
        if (chosen.length === 0) {
          err(values.all ? `No dead letters in ${queue}.\n` : `asya dlq: no dead letter with id ${id} in ${queue}\n`);
          return { ack: [], result: values.all ? 0 : 1 };
        }
        const done: DeadLetter[] = [];
        let failed = 0;
        for (const letter of chosen) {
          if (!letter.record) {
            failed++;
            err(`skipped a message that is not a dead-letter record (left in ${queue}): ${letter.raw.slice(0, 120)}\n`);
            continue;
          }
          const record = letter.record;
          let reopened = false;
          try {
            // Before the publish: a fast pipeline's final must find the envelope open, or it is ignored.
            if (gateway) reopened = await gateway.reopen(record, queue, (warning) => err(`warning: ${warning}\n`));
            const target = await replay(transport, record);
            done.push(letter);
            out(`replayed ${record.id} → ${target}${reopened ? ' (reopened at the gateway)' : ''}\n`);
          } catch (e) {
            failed++;
            err(`could not replay ${record.id} (left in ${queue}): ${errorText(e)}\n`);
            // Reopened but not sent: nothing would ever finish it, so it goes back to failed.
            if (reopened && gateway) await gateway.refail(record, errorText(e), (problem) => err(`warning: ${problem}\n`));
          }
        }
        if (chosen.length > 1) out(`${done.length} replayed, ${failed} left in ${queue}\n`);
        return { ack: done, result: failed > 0 ? 1 : 0 };
      },
      readOptions,
    );
  } finally {
    if (!io.transport) await transport.close();
  }
}

/** POST /envelopes/{id}/replay on the gateway (internal token), and undoing it if the publish then fails. */
class GatewayReopener {
  private readonly url: string;

  constructor(
    url: string,
    private readonly token: string | undefined,
    private readonly timeoutMs: number,
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  /**
   * True when the gateway reopened the envelope; false (with a warning) when it refused because the
   * envelope is not failed there, or does not know it: the replay goes ahead, but its final status will
   * not change what the gateway shows. Throws when the gateway cannot be asked: then nothing is replayed.
   */
  async reopen(record: DeadLetterRecord, queue: string, warn: (text: string) => void): Promise<boolean> {
    const { status, body } = await this.post(`/envelopes/${encodeURIComponent(record.id)}/replay`, { reason: `asya dlq replay from ${queue}` } satisfies ReplayRequest);
    if (status === 200) return true;
    const problem = ErrorAnswer.safeParse(body).data?.error ?? `HTTP ${status}`;
    if (status === 409) {
      warn(`the gateway did not reopen ${record.id} (${problem}); replaying anyway, but its status there will not change`);
      return false;
    }
    if (status === 404) {
      warn(`the gateway at ${this.url} does not know ${record.id}; replaying anyway`);
      return false;
    }
    throw new Error(`the gateway at ${this.url} refused to reopen it: ${status} ${problem}`);
  }

  /** Best effort: the envelope was reopened but its replay was not sent. */
  async refail(record: DeadLetterRecord, reason: string, warn: (text: string) => void): Promise<void> {
    const error = `replay was not sent: ${reason}`;
    try {
      const { status } = await this.post(`/envelopes/${encodeURIComponent(record.id)}/final`, {
        id: record.id, status: 'failed', timestamp: new Date().toISOString(), error,
      } satisfies FinalRequest);
      if (status !== 200) throw new Error(`HTTP ${status}`);
    } catch (e) {
      warn(`${record.id} stays running at the gateway (marking it failed again did not work: ${errorText(e)})`);
    }
  }

  private async post(path: string, payload: ReplayRequest | FinalRequest): Promise<{ status: number; body: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as Error & { cause?: Error }).cause?.message ?? errorText(e);
      throw new Error(`the gateway at ${this.url} is unreachable (${cause}); fix ASYA_GATEWAY_URL, or unset it to replay without the gateway`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    return { status: res.status, body };
  }
}

/** The CLI entry: `asya dlq ...`. */
export async function runDlq(args: string[]): Promise<void> {
  process.exitCode = await dlqCommand(args, { env: process.env });
}

function asJson(letter: DeadLetter): unknown {
  return letter.record ?? { not_a_record: letter.raw };
}

function table(letters: DeadLetter[], queue: string): string {
  if (letters.length === 0) return `No dead letters in ${queue}.\n`;
  const rows = letters.map((l) =>
    l.record
      ? [l.record.id, l.record.failed_actor ?? '-', l.record.code, String(l.record.attempts), l.record.dead_lettered_at, oneLine(l.record.error)]
      : ['?', '-', 'not a record', '-', '-', oneLine(l.raw)],
  );
  const header = ['ID', 'FAILED ACTOR', 'CODE', 'ATTEMPTS', 'DEAD-LETTERED AT', 'ERROR'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n${letters.length} dead letter(s) in ${queue}\n`;
}

function oneLine(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
