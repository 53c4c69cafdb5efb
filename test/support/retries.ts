/** What error-end schedules, computed from the same policy code, for tests that check retries really waited. */
import { backoffMs, parseRetryPolicy, retryMessage } from '../../crew/retry-policy.ts';

/**
 * The pauses error-end schedules after failures 1..count under the actors' ASYA_RETRY_POLICY (jitter off),
 * with the progress message that announces each: what a test compares the actual retries with.
 */
export function scheduledPauses(sidecarEnv: Record<string, string | undefined>, count: number): Array<{ ms: number; message: string }> {
  const { policy, problem } = parseRetryPolicy(sidecarEnv.ASYA_RETRY_POLICY);
  if (!policy || policy.jitter) throw new Error(`the actors need a retry policy without jitter (${problem ?? 'jitter is on'})`);
  return Array.from({ length: count }, (_, i) => {
    const ms = backoffMs(i + 1, policy);
    return { ms, message: retryMessage(i + 1, policy.maxAttempts, ms) };
  });
}
