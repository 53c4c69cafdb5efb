/**
 * Command-line tools some tests run that neither npm nor test/services.sh installs. A test that needs one
 * calls requireTools first: without the tool it is skipped with the reason (printed by test/run.mjs), and on
 * CI, where every tool must be present, it fails instead. `node --import tsx test/support/tools.ts` prints
 * what is missing and how to get it (test/services.sh runs it before the suite).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const TOOLS = {
  kpt: 'kpt 1.0 (its exec KRM functions): package google-cloud-cli-kpt from the Google Cloud CLI apt repository, or a release binary of the kptdev/kpt project on PATH',
  kubectl: 'kubectl with kustomize v5 built in (`kubectl kustomize`): package kubectl from the Kubernetes or the Google Cloud CLI apt repository',
  rabbitmqctl: 'rabbitmqctl on the machine that runs the test broker, as a user that may manage it: Debian package rabbitmq-server',
} as const;

export type Tool = keyof typeof TOOLS;
type Env = Record<string, string | undefined>;

function onPath(name: string, env: Env): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function missingTools(names: readonly Tool[], env: Env = process.env): Tool[] {
  return names.filter((name) => !onPath(name, env));
}

const whyMissing = (tools: Tool[]) => `${tools.join(' and ')} not on PATH (how to get ${tools.length > 1 ? 'them' : 'it'}: docs/testing.md, "Tools")`;

/** Skips the calling test (fails it on CI) unless every named tool is on PATH. */
export function requireTools(ctx: { skip(note?: string): void }, names: readonly Tool[], env: Env = process.env): void {
  const missing = missingTools(names, env);
  if (missing.length === 0) return;
  if (env.CI) throw new Error(`CI must have every tool the tests need, and ${whyMissing(missing)}`);
  ctx.skip(whyMissing(missing));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const missing = missingTools(Object.keys(TOOLS) as Tool[]);
  for (const tool of missing) console.error(`[tools] ${tool} is missing: the tests that run it will be skipped${process.env.CI ? ' (on CI: fail)' : ''}. Get ${TOOLS[tool]}.`);
}
