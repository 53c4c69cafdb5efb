/**
 * The exit codes of the client commands (`asya call`, `asya status`, `asya tools`), documented in
 * docs/cli.md. Scripts branch on them, so each cause keeps its own number.
 */
export const EXIT = {
  /** The call succeeded (status: the envelope was found). */
  ok: 0,
  /** The envelope ended `failed`. */
  failed: 1,
  /** Bad command line: unknown option, bad JSON, an argument the tool's schema or the gateway refused. */
  usage: 2,
  /** No answer from the gateway at all (connection refused, DNS, timeout). */
  unreachable: 3,
  /** No such tool, or no such envelope id. */
  notFound: 4,
  /** The gateway answered with an error: 401, 5xx, the envelope could not be published. */
  gatewayError: 5,
  /** --timeout passed before the envelope reached a final status; it goes on running. */
  timedOut: 6,
  /** Interrupted (Ctrl-C) while waiting; the envelope goes on running. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that knows which exit code it means; main prints its message and exits with it. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}
