/**
 * The process around a transform: stdin in, stdout out, exit code. Used by the bundled executables and by
 * `asya krm <function>`; kustomize's legacy plugin protocol passes the config file as the first argument.
 */
import { readFileSync } from 'node:fs';
import { runFunction, type KrmTransform } from './resource-list.ts';
import { errorText } from '../protocol/errors.ts';

export function usage(name: string): string {
  return `Usage: ${name} [plugin-config-file] < input

KRM function (kpt fn eval --exec / kpt fn render --allow-exec / kustomize --enable-exec):
  reads a ResourceList on stdin and writes one to stdout.
kustomize legacy exec plugin (kubectl kustomize --enable-alpha-plugins):
  reads the plugin config from the file argument and a YAML stream on stdin.
Exits 1 when any result is an error. See krm-functions/${name}/README.md.`;
}

export async function runExecutable(name: string, transform: KrmTransform, args: string[]): Promise<number> {
  if (args[0] === '--help' || args[0] === '-h') {
    process.stdout.write(`${usage(name)}\n`);
    return 0;
  }
  if (process.stdin.isTTY) {
    process.stderr.write(`${name}: nothing on stdin\n\n${usage(name)}\n`);
    return 2;
  }
  let legacyConfig: string | undefined;
  if (args[0] !== undefined) {
    try {
      legacyConfig = readFileSync(args[0], 'utf8');
    } catch (err) {
      process.stderr.write(`${name}: cannot read plugin config ${args[0]}: ${errorText(err)}\n`);
      return 1;
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const run = runFunction(transform, Buffer.concat(chunks).toString('utf8'), legacyConfig);
  if (run.stderr) process.stderr.write(run.stderr);
  await new Promise<void>((resolve) => process.stdout.write(run.stdout, () => resolve()));
  return run.exitCode;
}
