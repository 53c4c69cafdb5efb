/**
 * Calls to the gateway's internal endpoints, shared by the sidecar and the crew. A final status is retried
 * with backoff and, if the gateway still does not take it, fails with FINAL_REPORT_REFUSED so the message is
 * kept and tried again later; an id the gateway never heard of (404) is answered 'unknown', and a body it
 * refuses for good throws a plain Error. Progress is best effort.
 */
import { FINAL_REPORT_REFUSED } from './crew.ts';
import type { FinalReport } from './final-report.ts';
import type { Logger } from './log.ts';

export interface ProgressReport {
  actors: string[];
  current_actor_idx: number;
  status: 'processing';
  message: string;
}

export interface GatewayClient {
  /** 'unknown': the gateway never heard of the id (it was not sent through the gateway); nothing to retry. */
  final(id: string, report: FinalReport): Promise<'accepted' | 'unknown'>;
  /** Never throws. */
  progress(id: string, report: ProgressReport): Promise<void>;
}

export class FinalReportRefusedError extends Error {
  override readonly name = FINAL_REPORT_REFUSED;
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

/** 4xx answers that say "this request is wrong" rather than "not now": retrying the same body cannot help. */
const PERMANENT = new Set([400, 405, 409, 413, 415, 422]);

/** One JSON POST to the gateway with the internal bearer token; answers the status and the start of the body. */
export async function postToGateway(
  url: string,
  path: string,
  body: unknown,
  options: { token?: string; timeoutMs: number },
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(`${url.replace(/\/+$/, '')}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  return { status: res.status, text: (await res.text()).slice(0, 300) };
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
          last = (err as Error).message;
        }
        if (answer) {
          if (answer.status >= 200 && answer.status < 300) return 'accepted';
          if (answer.status === 404) {
            options.log.warn(`Gateway does not know envelope ${id}; its final status ${report.status} is not recorded there`);
            return 'unknown';
          }
          last = `answered ${answer.status} ${answer.text}`;
          // A body the gateway refuses is a bug, not an outage: fail for good (dead-lettered by the sidecar).
          if (PERMANENT.has(answer.status)) throw new Error(`POST ${path} ${last}`);
        }
        if (attempt < attempts) await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** (attempt - 1)));
      }
      throw new FinalReportRefusedError(`POST ${path} failed ${attempts} times; last: ${last}`);
    },
    async progress(id, report) {
      try {
        const { status } = await post(`/envelopes/${encodeURIComponent(id)}/progress`, report);
        if (status >= 300) options.log.debug(`progress for ${id} answered ${status}`);
      } catch (err) {
        options.log.debug(`progress for ${id} not sent: ${(err as Error).message}`);
      }
    },
  };
}
