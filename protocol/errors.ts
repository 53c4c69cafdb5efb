/**
 * What every component needs to know about a caught error: its text, an Error to read a name or stack
 * from, and whether trying again could ever help.
 */

/**
 * An error that trying again cannot cure: the same input meets it again (controller-runtime's
 * TerminalError). Code that retries (requeues a delivery, backs off, reconciles again) stops at one and
 * diverts, dead-letters or reports instead. Throw it, or extend it for a failure that is always terminal.
 */
export class TerminalError extends Error {
  override readonly name: string = 'TerminalError';
}

/**
 * An error class that is terminal for some instances only (a broker refusal is terminal when the message
 * is too large, not when the broker is away) says so per instance instead of extending TerminalError.
 */
export interface MaybeTerminal {
  readonly terminal: boolean;
}

export function isTerminal(err: unknown): boolean {
  return err instanceof TerminalError || (err instanceof Error && (err as Partial<MaybeTerminal>).terminal === true);
}

/** The text of anything thrown: an Error's message, or the value itself as text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Anything thrown, as an Error (a thrown string or object becomes the message, and the cause). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorText(err), { cause: err });
}
