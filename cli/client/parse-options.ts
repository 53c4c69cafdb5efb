/**
 * node:util parseArgs, with a mistyped option answered by the nearest valid one ("Unknown option '--prot'
 * (did you mean --port?)"), for every command that parses options.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { didYouMean } from '../../api/nearest-name.ts';
import { asError, errorText } from '../../protocol/errors.ts';

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
