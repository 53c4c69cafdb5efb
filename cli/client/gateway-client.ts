/**
 * What the client commands need from a gateway: tool calls and envelope reads over REST, live updates over
 * SSE, and the tool list over MCP (the only place the gateway publishes input schemas). Bodies are built and
 * parsed with the gateway's contract (protocol/gateway-contract.ts). Every failure is a CliError carrying its
 * exit code, and names the gateway URL it tried.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { z } from 'zod';
import {
  CreatedBody,
  EnvelopeUpdate,
  EnvelopeView,
  ErrorAnswer,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  isFinalStatus,
  ToolResult,
  UPDATE_EVENT,
  type ToolCallRequest,
} from '../../protocol/gateway-contract.ts';
import { envName, fromEnv, pickSettings, type Env } from '../../settings/index.ts';
import { CLI_SETTINGS, gatewayUrlKind } from '../settings.ts';
import { CliError, EXIT } from './exit-codes.ts';
import { readSseEvents } from './sse.ts';
import { asError, errorText } from '../../protocol/errors.ts';

export { isFinalStatus, type EnvelopeUpdate, type EnvelopeView };


export interface ToolInfo {
  name: string;
  description?: string;
  inputSchema: JsonSchema;
}

/** The part of a tool's JSON Schema the CLI reads (gateway/tools/json-schema.ts writes it). */
export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  items?: JsonSchema;
}


const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/**
 * Why a request got no answer at all: a network error code in the cause chain (fetch wraps it in
 * "fetch failed"), or the reason fetch gave for refusing to connect (e.g. "bad port").
 */
function networkFailure(err: unknown): string | undefined {
  let fetchFailed = false;
  for (let e = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (asError(e).name === 'TimeoutError') return 'timed out';
    if (fetchFailed && e instanceof Error) return e.message;
    fetchFailed = e instanceof TypeError && e.message === 'fetch failed';
  }
  return fetchFailed ? 'fetch failed' : undefined;
}

/** Tries of a keyed tool call (the first included), and the answers that are worth another. */
const KEYED_ATTEMPTS = 3;
const RETRIED_STATUSES = new Set([502, 503, 504]);

// Read loose: a newer gateway may add fields, and the client passes them on.
const ENVELOPE = EnvelopeView.loose();
const UPDATE = EnvelopeUpdate.loose();

/** A final envelope read after the stream was cut, as the final update it stands for. */
function finalUpdate(e: EnvelopeView): EnvelopeUpdate {
  return {
    id: e.id,
    status: e.status,
    ...(e.message !== undefined ? { message: e.message } : {}),
    ...(e.result !== undefined ? { result: e.result } : {}),
    ...(e.error !== undefined ? { error: e.error } : {}),
    progress_percent: e.progress_percent,
    timestamp: e.updated_at,
  };
}

export class GatewayClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly token?: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  unreachable(err: unknown): CliError | undefined {
    const reason = networkFailure(err);
    if (!reason) return undefined;
    return new CliError(EXIT.unreachable, `cannot reach the gateway at ${this.url} (${reason}). Is it running? Start one with 'asya dev <dir>', or point --gateway / ASYA_GATEWAY_URL at it.`);
  }

  private async fetch(path: string, init: RequestInit = {}, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, {
        ...init,
        headers: this.headers(init.headers as Record<string, string> | undefined),
        signal: signal ?? AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.unreachable(err) ?? err;
    }
  }

  /** The gateway's `{"error": ...}` message, or the start of whatever else answered. */
  private async errorMessage(res: Response): Promise<string> {
    const text = await res.text().catch(() => '');
    try {
      return ErrorAnswer.safeParse(JSON.parse(text)).data?.error ?? text.slice(0, 500);
    } catch {
      // Not JSON (a proxy's page): the text itself is the best explanation.
      return text.slice(0, 500);
    }
  }

  /** `value` read with its contract schema; anything else is not an answer this client understands. */
  private parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new CliError(EXIT.gatewayError, `the gateway at ${this.url} answered ${what} with a body this client does not understand (${where}${issue?.message ?? 'invalid'}); is it an Asya gateway of the same version?`);
  }

  private async json<S extends z.ZodType>(res: Response, schema: S, what: string): Promise<z.output<S>> {
    const text = await res.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new CliError(EXIT.gatewayError, `the gateway at ${this.url} answered ${what} with something that is not JSON: ${text.slice(0, 200)}`);
    }
    return this.parse(schema, value, what);
  }

  private async refusal(res: Response, what: string, message?: string): Promise<CliError> {
    const detail = message ?? (await this.errorMessage(res));
    if (res.status === 401 || res.status === 403) {
      return new CliError(EXIT.gatewayError, `the gateway at ${this.url} refused ${what}: ${detail} (pass --token, or set ASYA_GATEWAY_API_TOKEN)`);
    }
    return new CliError(EXIT.gatewayError, `the gateway at ${this.url} answered ${res.status} to ${what}: ${detail}`);
  }

  /**
   * POST /tools/call; the id of the envelope the gateway queued, and whether it was an earlier call's (the
   * gateway knew the idempotency key, and started nothing new).
   *
   * With a key, a call that got no answer (connection lost or refused, timed out) or a 502/503/504 is sent
   * again, KEYED_ATTEMPTS times in all: the gateway may have started the call before the answer was lost,
   * and the key makes the next attempt find it instead of starting another. Without a key it is not sent
   * again, since that could run the pipeline twice.
   */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    idempotencyKey?: string,
    onRetry?: (reason: string, attempt: number, of: number) => void,
  ): Promise<{ id: string; replayed: boolean }> {
    const post = () => this.fetch('/tools/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(idempotencyKey !== undefined ? { [IDEMPOTENCY_KEY_HEADER]: idempotencyKey } : {}) },
      body: JSON.stringify({ name, arguments: args } satisfies ToolCallRequest),
    });
    const res = idempotencyKey === undefined ? await post() : await this.keyedRetries(post, onRetry);
    if (res.status === 404) {
      // Only the gateway's own 404 means "no such tool"; any other is a URL that is not a gateway.
      const message = await this.errorMessage(res);
      if (/^Tool ".*" not found$/.test(message)) throw new CliError(EXIT.notFound, `the gateway at ${this.url} has no tool "${name}" (asya tools lists them)`);
      throw await this.refusal(res, 'POST /tools/call (is this an Asya gateway?)', message);
    }
    // A key used before for another call, or (from an older client's check) a key the gateway refused.
    if (idempotencyKey !== undefined && (res.status === 409 || res.status === 400)) {
      throw new CliError(EXIT.usage, `the gateway refused the call to ${name}: ${await this.errorMessage(res)}`);
    }
    if (!res.ok) throw await this.refusal(res, `the call to ${name}`);
    const replayed = res.headers.get(IDEMPOTENT_REPLAYED_HEADER) === 'true';
    const body = await this.json(res, ToolResult, `the call to ${name}`);
    const text = body.content.map((c) => c.text).join('\n');
    if (body.isError) {
      // The gateway answers both a bad argument and a refused publish as isError; only the latter is its fault.
      if (text.startsWith('failed to send envelope')) throw new CliError(EXIT.gatewayError, `the gateway could not queue the call: ${text}`);
      throw new CliError(EXIT.usage, `the gateway refused the arguments of ${name}: ${text}`);
    }
    let created: unknown;
    try {
      created = JSON.parse(text);
    } catch {
      throw new CliError(EXIT.gatewayError, `the gateway at ${this.url} answered without an envelope id: ${text}`);
    }
    return { id: this.parse(CreatedBody, created, `the call to ${name}`).envelope_id, replayed };
  }

  private async keyedRetries(post: () => Promise<Response>, onRetry?: (reason: string, attempt: number, of: number) => void): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      try {
        const res = await post();
        if (!RETRIED_STATUSES.has(res.status) || attempt === KEYED_ATTEMPTS) return res;
        reason = `${res.status} ${await this.errorMessage(res)}`;
      } catch (err) {
        if (!(err instanceof CliError && err.exitCode === EXIT.unreachable) || attempt === KEYED_ATTEMPTS) throw err;
        reason = err.message;
      }
      onRetry?.(reason, attempt + 1, KEYED_ATTEMPTS);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }

  /** GET /envelopes/{id}; fields this client does not know are kept (`asya status --json` shows them). */
  async envelope(id: string): Promise<EnvelopeView> {
    const res = await this.fetch(`/envelopes/${encodeURIComponent(id)}`);
    if (res.status === 404) throw new CliError(EXIT.notFound, `the gateway at ${this.url} has no envelope ${id}`);
    if (res.status === 400) throw new CliError(EXIT.usage, `${JSON.stringify(id)} is not an envelope id: ${await this.errorMessage(res)}`);
    if (!res.ok) throw await this.refusal(res, `reading envelope ${id}`);
    return this.json(res, ENVELOPE, `reading envelope ${id}`);
  }

  /**
   * POST /envelopes/{id}/resume. Input the pause's schema refuses is a usage error (exit 2) naming the reason;
   * an envelope that is not paused is refused by the gateway (exit 5).
   */
  async resume(id: string, input: unknown): Promise<EnvelopeView> {
    const res = await this.fetch(`/envelopes/${encodeURIComponent(id)}/resume`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    });
    if (res.status === 404) throw new CliError(EXIT.notFound, `the gateway at ${this.url} has no envelope ${id}`);
    if (res.status === 400) throw new CliError(EXIT.usage, `the gateway refused the input for ${id}: ${await this.errorMessage(res)}`);
    if (!res.ok) throw await this.refusal(res, `resuming envelope ${id}`);
    return this.json(res, ENVELOPE, `resuming envelope ${id}`);
  }

  /**
   * Updates of one envelope until it is final. The gateway closes a stream after the final update, and a
   * stream cut short (gateway restart) is resumed from the last event id.
   */
  async *updates(id: string, signal: AbortSignal): AsyncGenerator<EnvelopeUpdate> {
    let lastEventId: string | undefined;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetch(`/envelopes/${encodeURIComponent(id)}/stream`, { headers: lastEventId ? { 'last-event-id': lastEventId } : {} }, signal);
      } catch (err) {
        if (attempt < 5 && err instanceof CliError && err.exitCode === EXIT.unreachable) {
          await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
          continue;
        }
        throw err;
      }
      if (res.status === 404) throw new CliError(EXIT.notFound, `the gateway at ${this.url} has no envelope ${id}`);
      if (!res.ok || !res.body) throw await this.refusal(res, `the stream of envelope ${id}`);
      try {
        for await (const event of readSseEvents(res.body)) {
          if (event.id) lastEventId = event.id;
          if (event.event !== UPDATE_EVENT) continue;
          const update = this.parse(UPDATE, JSON.parse(event.data), `the stream of envelope ${id}`);
          yield update;
          if (isFinalStatus(update.status) && update.envelope_state !== 'replayed') return;
        }
      } catch (err) {
        if (signal.aborted || err instanceof CliError) throw err;
        // A cut connection: fall through to the check below and resume.
      }
      const now = await this.envelope(id);
      if (isFinalStatus(now.status)) return yield finalUpdate(now);
      // A stream that keeps ending early must not turn into a busy loop of reconnects.
      await new Promise((r) => setTimeout(r, Math.min(200 * (attempt + 1), 2000)));
    }
  }

  /** tools/list over MCP (Streamable HTTP), every page. */
  async listTools(): Promise<ToolInfo[]> {
    const client = new Client({ name: 'asya-cli', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${this.url}/mcp`), { requestInit: { headers: this.headers() } });
    try {
      await client.connect(transport);
      const tools: ToolInfo[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {});
        tools.push(...(page.tools as ToolInfo[]));
        cursor = page.nextCursor;
      } while (cursor);
      return tools;
    } catch (err) {
      const unreachable = this.unreachable(err);
      if (unreachable) throw unreachable;
      if (err instanceof StreamableHTTPError && (err.code === 401 || err.code === 403)) {
        throw new CliError(EXIT.gatewayError, `the gateway at ${this.url} refused the tool list: ${err.message} (pass --token, or set ASYA_GATEWAY_API_TOKEN)`);
      }
      if (err instanceof StreamableHTTPError) throw new CliError(EXIT.gatewayError, `the gateway at ${this.url} refused the tool list: ${err.message}`);
      throw err;
    } finally {
      await client.close().catch(() => {});
    }
  }
}

/**
 * --gateway, else ASYA_GATEWAY_URL, else where `asya dev` listens. --token, else ASYA_GATEWAY_API_TOKEN (the
 * gateway's client token), else ASYA_GATEWAY_TOKEN (cli/settings.ts). A variable an option overrides is not
 * read, so a stale one in the shell does not stop a command that names what it wants.
 */
export function gatewayFrom(options: { gateway?: string; token?: string }, env: Env): GatewayClient {
  const overridden = options.gateway ? { [envName(CLIENT_SETTINGS, 'gatewayUrl')]: undefined } : {};
  const settings = fromEnv(CLIENT_SETTINGS, { ...env, ...overridden }, { error: (message) => new CliError(EXIT.usage, message) });
  let url = settings.gatewayUrl;
  if (options.gateway) {
    try {
      url = gatewayUrlKind.parse(options.gateway);
    } catch (err) {
      throw new CliError(EXIT.usage, `Invalid --gateway ${JSON.stringify(options.gateway)}: ${errorText(err)}`);
    }
  }
  return new GatewayClient(url, options.token || settings.apiToken || settings.gatewayToken);
}

const CLIENT_SETTINGS = pickSettings(CLI_SETTINGS, ['gatewayUrl', 'apiToken', 'gatewayToken']);
