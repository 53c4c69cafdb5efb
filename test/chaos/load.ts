/**
 * A steady stream of tool calls (POST /tools/call), one every `intervalMs`, each answered or not on its own
 * time, as independent clients would. Every call is recorded with what its client learnt: an envelope id
 * (accepted), an error answer (refused; a refused publish still names its envelope), or nothing at all (the
 * connection failed, e.g. the gateway was killed while it held the call).
 */
import { CLIENT_TOKEN, TOOL } from './world.ts';
import { errorText } from '../../protocol/errors.ts';

export type CallKind = 'accepted' | 'refused' | 'unanswered';

export interface CallRecord {
  n: number;
  /** When the call was made (ms since the epoch). */
  sentAt: number;
  kind: CallKind;
  /** The envelope the answer named, if any. */
  id?: string;
  detail?: string;
}

/** A call the gateway holds this long is given up by its client (and then counts as unanswered). */
const CLIENT_TIMEOUT_MS = 120_000;

async function callOnce(gatewayUrl: string, scenario: string, n: number, seconds: number): Promise<CallRecord> {
  const sentAt = Date.now();
  const record = (kind: CallKind, fields: { id?: string; detail?: string }): CallRecord => ({ n, sentAt, kind, ...fields });
  let res: Response;
  try {
    res = await fetch(`${gatewayUrl}/tools/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: TOOL, arguments: { scenario, n, seconds } }),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
  } catch (err) {
    return record('unanswered', { detail: errorText(err) });
  }
  const text = await res.text().catch((err: Error) => `(body lost: ${err.message})`);
  if (res.status !== 200) return record('refused', { detail: `${res.status} ${text.slice(0, 200)}` });
  let body: { content?: Array<{ text?: string }>; isError?: boolean };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return record('refused', { detail: `200 with a body that is not JSON: ${text.slice(0, 200)}` });
  }
  const answer = body.content?.[0]?.text ?? '';
  if (body.isError) {
    const named = /\(envelope ([^)]+)\)$/.exec(answer)?.[1];
    return record('refused', { ...(named ? { id: named } : {}), detail: answer.slice(0, 200) });
  }
  const id = (JSON.parse(answer) as { envelope_id?: string }).envelope_id;
  if (!id) throw new Error(`an accepted call without an envelope id: ${answer}`);
  return record('accepted', { id });
}

export interface Load {
  readonly calls: readonly CallRecord[];
  /** Calls sent so far (answered or not). */
  sent(): number;
  /** Calls whose client is still waiting. */
  pending(): number;
  /** One extra call in the stream whose handler takes `handlerSeconds`; resolves with its record. */
  send(handlerSeconds: number): Promise<CallRecord>;
  /** Stops sending and waits for every call to be answered or to fail. */
  stop(): Promise<void>;
}

export function steadyLoad(gatewayUrl: string, scenario: string, options: { intervalMs: number; handlerSeconds: number }): Load {
  const calls: CallRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  const send = (handlerSeconds: number) => {
    const n = sent++;
    const answered = callOnce(gatewayUrl, scenario, n, handlerSeconds);
    const call = answered.then((record) => {
      calls.push(record);
      inFlight.delete(call);
    });
    inFlight.add(call);
    return answered;
  };
  const tick = () => void send(options.handlerSeconds);
  const timer = setInterval(tick, options.intervalMs);
  tick();
  return {
    calls,
    sent: () => sent,
    pending: () => inFlight.size,
    send,
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
    },
  };
}
