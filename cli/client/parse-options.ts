/**
 * node:util parseArgs, with a mistyped option answered by the nearest valid one ("Unknown option '--prot'
 * (did you mean --port?)"), for every command that parses options.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { didYouMean } from '../../api/nearest-name.ts';
import { asError, errorText } from '../../protocol/errors.ts';
import { CliError, EXIT } from './exit-codes.ts';

export function parseOptions<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const unknown = /^Unknown option '(-{1,2})([^']+)'/.exec(errorText(err));
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) {
      const hint = didYouMean(unknown[2]!, Object.keys(config.options ?? {}), '--');
      if (hint) asError(err).message = `Unknown option '${unknown[1]}${unknown[2]}'${hint}`;
    }
    throw err;
  }
}

/** The one envelope id a client command takes (`status`, `resume`); anything else is a usage error. */
export function oneEnvelopeId(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new CliError(EXIT.usage, `${positionals.length === 0 ? 'missing the envelope id' : `one envelope id, got ${positionals.length}`}\n\n${usage}`);
  return positionals[0]!;
}

const CLIENT_OPTIONS = {
  gateway: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies OptionsConfig;

/**
 * A client command's command line (`status`, `resume`): its own options plus --gateway, --token and --help.
 * A parse error is a usage error that shows the usage; undefined once --help has printed it.
 */
export function parseClientCommand<const O extends OptionsConfig>(argv: string[], own: O, usage: string) {
  const config: { args: string[]; allowPositionals: true; options: O & typeof CLIENT_OPTIONS } = {
    args: argv,
    allowPositionals: true,
    options: { ...own, ...CLIENT_OPTIONS },
  };
  let parsed;
  try {
    parsed = parseOptions(config);
  } catch (err) {
    throw new CliError(EXIT.usage, `${errorText(err)}\n\n${usage}`);
  }
  // Generic here, so the option types are not resolved yet; --help is always declared (CLIENT_OPTIONS).
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    return undefined;
  }
  return parsed;
}
