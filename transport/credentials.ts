/**
 * Credentials from `<NAME>` or from the file named by `<NAME>_FILE` (a Secret mounted as files, so it is not in
 * the process environment). Both set is a mistake worth stopping on; an unreadable file too.
 */
import { readFileSync } from 'node:fs';

export class TransportConfigError extends Error {
  override readonly name = 'TransportConfigError';
}

/** `name`'s value, from the variable or from the file `<name>_FILE` names. */
export function credential(name: string, value: string | undefined, file: string | undefined): string | undefined {
  if (file === undefined) return value;
  if (value !== undefined) throw new TransportConfigError(`set ${name} or ${name}_FILE, not both`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TransportConfigError(`${name}_FILE=${file} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const trimmed = text.replace(/\r?\n$/, '');
  return trimmed ? trimmed : undefined;
}
