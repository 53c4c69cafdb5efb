/** `asya krm <function> [plugin-config]`: the KRM functions without their bundles (same code, same wire). */
import { runExecutable } from '../krm-functions/exec.ts';
import { FUNCTIONS } from '../krm-functions/functions.ts';

const USAGE = `Usage: asya krm <function> [plugin-config-file] < input

Functions: ${Object.keys(FUNCTIONS).join(', ')}
Reads a ResourceList (kpt, kustomize --enable-exec) or, with a config file argument, a YAML stream
(kubectl kustomize legacy exec plugin). Examples:
  kpt fn eval pkg/ --exec "asya krm inject-sidecar" -- gatewayUrl=http://asya-gateway:8080
  kpt fn source pkg/ | asya krm keda-scaler`;

export async function runKrm(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const transform = FUNCTIONS[name];
  if (!transform) throw new Error(`unknown function '${name}' (known: ${Object.keys(FUNCTIONS).join(', ')})`);
  return runExecutable(name, transform, rest);
}
