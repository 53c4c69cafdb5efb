/** `asya migrate operator-values <values.yaml>`: the original operator's Helm values as our platform settings. */
import { readFileSync, writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { CliError, EXIT } from './client/exit-codes.ts';
import { convertOperatorValues } from './migrate/operator-values.ts';
import { errorText } from '../protocol/errors.ts';

const USAGE = `Usage: asya migrate operator-values <values.yaml> [-o <platform.yaml>]

Writes the platform settings (an AsyaPlatform resource, for asya synth --platform, the KRM functions and the
controller) from the original asya-operator chart's Helm values: transports, their queue settings, the
gateway URL and the sidecar's resources. Keys that have no place there are listed on stderr with what to do
instead (docs/migrating.md). Without -o the settings go to stdout.`;

export async function runMigrate(args: string[], out: (text: string) => void = (t) => void process.stdout.write(t), err: (text: string) => void = (t) => void process.stderr.write(t)): Promise<number> {
  const [what, ...rest] = args;
  if (!what || what === '--help' || what === '-h') {
    out(`${USAGE}\n`);
    return what ? 0 : 2;
  }
  if (what !== 'operator-values') throw new CliError(EXIT.usage, `unknown migration '${what}' (known: operator-values)\n\n${USAGE}`);
  const outAt = rest.findIndex((a) => a === '-o' || a === '--out');
  const target = outAt >= 0 ? rest[outAt + 1] : undefined;
  if (outAt >= 0 && !target) throw new CliError(EXIT.usage, '-o needs a file name');
  const files = rest.filter((_, i) => outAt < 0 || (i !== outAt && i !== outAt + 1));
  if (files.length !== 1) throw new CliError(EXIT.usage, `give exactly one values file\n\n${USAGE}`);
  const file = files[0]!;
  let values: unknown;
  try {
    values = YAML.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(EXIT.usage, `${file}: ${errorText(e)}`);
  }
  const { platform, unmapped } = convertOperatorValues(values);
  const text = `# Platform settings converted from ${file} by asya migrate operator-values.\n${YAML.stringify(platform)}`;
  if (target) writeFileSync(target, text);
  else out(text);
  for (const u of unmapped) err(`${u.note ? 'note' : 'not mapped'}: ${u.key}: ${u.reason}\n`);
  err(`${unmapped.filter((u) => !u.note).length} key(s) not mapped${target ? `; settings written to ${target}` : ''}\n`);
  return 0;
}
