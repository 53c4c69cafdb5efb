/**
 * A handler's pause as the sidecar sees it (docs/sidecar.md, "Pause"): one result whose headers carry
 * PAUSE_HEADER. The sidecar strips the header, routes the result as usual to learn where the envelope goes
 * on resume, hands both to the gateway (POST /envelopes/{id}/pause) and then acks: nothing of the pause stays
 * with the broker or the sidecar. Without a gateway nothing could keep the envelope, so a pause is an error.
 */
import { FinalReportRejectedError, GatewayUnavailableError, isUnavailableStatus, postToGateway } from '../protocol/gateway-client.ts';
import { isPlainObject, type JsonObject } from '../protocol/json.ts';
import { PAUSE_HEADER, parsePauseSpec, type PauseRequest, type PauseSpec } from '../protocol/pause.ts';
import { isRuntimeError, type RuntimeResult, type RuntimeSuccess } from '../protocol/runtime-response.ts';
import { errorText } from '../protocol/errors.ts';

/** What the gateway made of a pause: kept; an id it never heard of; an envelope already final (cancelled). */
export type PauseAnswer = 'paused' | 'unknown' | 'final';

export interface PauseReporter {
  /** Rejects with GatewayUnavailableError while the gateway is away, FinalReportRejectedError when it refuses. */
  pause(id: string, request: PauseRequest): Promise<PauseAnswer>;
}

export type FoundPause =
  | { spec: PauseSpec; result: RuntimeSuccess }
  /** A pause the sidecar cannot carry out: the reason goes to error-end. */
  | { error: string };

/**
 * The pause among the runtime's results, with its header removed from the result; undefined when none asked.
 * A header the input already carried is not a pause: payload-mode runtimes copy the input's headers into
 * every result, so a producer that sent one must not make every actor on the route pause.
 */
export function findPause(results: RuntimeResult[], inputHeaders?: unknown): FoundPause | undefined {
  const carried = isPlainObject(inputHeaders) && PAUSE_HEADER in inputHeaders ? JSON.stringify(inputHeaders[PAUSE_HEADER]) : undefined;
  const asking = results.filter(
    (r) => !isRuntimeError(r) && isPlainObject(r.headers) && PAUSE_HEADER in r.headers && JSON.stringify(r.headers[PAUSE_HEADER]) !== carried,
  );
  if (asking.length === 0) return undefined;
  if (results.length !== 1) {
    return { error: `a pause must be the handler's only result; got ${results.length} results (a pause cannot be part of a fan-out)` };
  }
  const result = asking[0] as RuntimeSuccess;
  const { [PAUSE_HEADER]: raw, ...headers } = result.headers as JsonObject;
  const parsed = parsePauseSpec(raw);
  if ('error' in parsed) return { error: `invalid pause: ${parsed.error}` };
  const { headers: _all, ...rest } = result;
  return { spec: parsed.spec as PauseSpec, result: Object.keys(headers).length > 0 ? { ...rest, headers } : rest };
}

export function httpPauseReporter(options: { url: string; token?: string | undefined; attempts?: number; retryDelayMs?: number }): PauseReporter {
  const attempts = options.attempts ?? 5;
  const retryDelayMs = options.retryDelayMs ?? 200;
  return {
    async pause(id, request) {
      const path = `/envelopes/${encodeURIComponent(id)}/pause`;
      let last = '';
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const answer = await postToGateway(options.url, path, request, { token: options.token, timeoutMs: 5000 });
          if (answer.status >= 200 && answer.status < 300) return 'paused';
          if (answer.status === 404) return 'unknown';
          if (answer.status === 409) return 'final';
          last = `answered ${answer.status} ${answer.text}`;
          if (!isUnavailableStatus(answer.status)) throw new FinalReportRejectedError(`the gateway refused the pause: ${refusal(answer.text)}`);
        } catch (err) {
          if (err instanceof FinalReportRejectedError) throw err;
          last = errorText(err);
        }
        if (attempt < attempts) await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** (attempt - 1)));
      }
      throw new GatewayUnavailableError(`POST ${path} failed ${attempts} times; last: ${last}`);
    },
  };
}

function refusal(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (isPlainObject(body) && typeof body.error === 'string') return body.error;
  } catch {
    // not JSON: the text as it came
  }
  return text;
}
