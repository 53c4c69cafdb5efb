/**
 * Calls to the gateway's internal endpoints, shared by the sidecar and the crew. A final status is retried
 * a few times with backoff; a gateway that is still not available (unreachable, timing out, 5xx, 408, 429)
 * fails with GatewayUnavailableError, so the message is held and tried again later without counting toward
 * the DLQ. An id the gateway never heard of (404) is answered 'unknown'. Any other 4xx is a refusal for a
 * reason that will not pass by waiting (bad body, bad token) and throws FinalReportRejectedError.
 * Progress is best effort.
 */
import { GATEWAY_UNAVAILABLE } from './crew.ts';
import { TerminalError, errorText } from './errors.ts';
import type { FanInAnswer, FanInArrival } from './fan-in.ts';
import type { FinalReport } from './final-report.ts';
import { ErrorAnswer, type Filled, type ProgressRequest } from './gateway-contract.ts';
import { postJson } from './gateway-http.ts';
import type { Logger } from './log.ts';

/** Progress as sidecars and end actors send it: every field filled in (the contract allows any to be absent). */
export type ProgressReport = Filled<ProgressRequest, 'actors' | 'current_actor_idx' | 'status' | 'message'>;

export interface GatewayClient {
  /**
   * 'unknown': the gateway never heard of the id (it was not sent through the gateway); nothing to retry.
   * A report too large for the gateway (413 naming the envelope's status) is 'accepted': the gateway could not
   * take the result but ended the envelope itself (failed, result_too_large), so there is nothing to retry or
   * dead-letter either.
   */
  final(id: string, report: FinalReport): Promise<'accepted' | 'unknown'>;
  /** Never throws. */
  progress(id: string, report: ProgressReport): Promise<void>;
  /**
   * A fan-out child reached a fan-in step (POST /envelopes/{id}/fan-in). Unavailable (or the child not yet
   * registered, 503) throws GatewayUnavailableError, so the message is held; another 4xx is a refusal.
   */
  fanIn(childId: string, arrival: FanInArrival): Promise<FanInAnswer>;
}

/** "Not now": the same report may be taken later. Its name travels as `details.type` from a crew handler. */
export class GatewayUnavailableError extends Error {
  override readonly name = GATEWAY_UNAVAILABLE;
}

/** "Never": the gateway answered a 4xx that waiting cannot change. */
export class FinalReportRejectedError extends TerminalError {
  override readonly name = 'FinalReportRejected';
}

export interface GatewayClientOptions {
  url: string;
  token?: string;
  log: Logger;
  /** @default 5 */
  attempts?: number;
  /** First pause between attempts, doubled each time. @default 200 */
  retryDelayMs?: number;
  /** @default 5000 */
  timeoutMs?: number;
}

/** Answers that mean "not now" (the gateway or its database is away, or it sheds load); other 4xx mean "never". */
export function isUnavailableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** One JSON POST to the gateway with the internal bearer token; answers the status and the start of the body. */
export async function postToGateway(
  url: string,
  path: string,
  body: unknown,
  options: { token?: string; timeoutMs: number; maxAnswerChars?: number },
): Promise<{ status: number; text: string }> {
  return postJson(url, path, body, options);
}

/** The gateway names the envelope's status in a refusal when it settled the envelope itself. */
function settledByGateway(text: string): boolean {
  try {
    return ErrorAnswer.safeParse(JSON.parse(text)).data?.envelope_status !== undefined;
  } catch {
    return false;
  }
}

export function gatewayClient(options: GatewayClientOptions): GatewayClient {
  const attempts = options.attempts ?? 5;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 5000;
  const post = (path: string, body: unknown) => postToGateway(options.url, path, body, { token: options.token, timeoutMs });

  return {
    async final(id, report) {
      const path = `/envelopes/${encodeURIComponent(id)}/final`;
      let last = '';
      for (let attempt = 1; attempt <= attempts; attempt++) {
        let answer: { status: number; text: string } | undefined;
        try {
          answer = await post(path, report);
        } catch (err) {
          last = errorText(err);
        }
        if (answer) {
          if (answer.status >= 200 && answer.status < 300) return 'accepted';
          if (answer.status === 404) {
            options.log.warn(`Gateway does not know envelope ${id}; its final status ${report.status} is not recorded there`);
            return 'unknown';
          }
          if (answer.status === 413 && settledByGateway(answer.text)) {
            options.log.warn(`Gateway refused the final report of ${id} as too large and ended the envelope failed (result_too_large)`);
            return 'accepted';
          }
          last = `answered ${answer.status} ${answer.text}`;
          // A refusal is a bug or a misconfiguration, not an outage: waiting cannot help.
          if (!isUnavailableStatus(answer.status)) throw new FinalReportRejectedError(`POST ${path} ${last}`);
        }
        if (attempt < attempts) await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** (attempt - 1)));
      }
      throw new GatewayUnavailableError(`POST ${path} failed ${attempts} times; last: ${last}`);
    },
    async fanIn(childId, arrival) {
      const path = `/envelopes/${encodeURIComponent(childId)}/fan-in`;
      let answer: { status: number; text: string };
      try {
        answer = await postToGateway(options.url, path, arrival, { token: options.token, timeoutMs });
      } catch (err) {
        throw new GatewayUnavailableError(`POST ${path} failed: ${errorText(err)}`);
      }
      if (answer.status >= 200 && answer.status < 300) return JSON.parse(answer.text) as FanInAnswer;
      const last = `POST ${path} answered ${answer.status} ${answer.text}`;
      if (isUnavailableStatus(answer.status)) throw new GatewayUnavailableError(last);
      throw new FinalReportRejectedError(last);
    },
    async progress(id, report) {
      try {
        const { status } = await post(`/envelopes/${encodeURIComponent(id)}/progress`, report);
        if (status >= 300) options.log.debug(`progress for ${id} answered ${status}`);
      } catch (err) {
        options.log.debug(`progress for ${id} not sent: ${errorText(err)}`);
      }
    },
  };
}
