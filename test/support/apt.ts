/**
 * Debian packages a test needs and installs itself when missing (as test/services.sh does for a whole run):
 * `apt-get install`, and once more after `apt-get update` if the package lists were stale.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Installs the package when `binary` is missing; answers why it cannot be had, or undefined when it is there. */
export function ensureAptBinary(binary: string, pkg: string): string | undefined {
  if (existsSync(binary)) return undefined;
  if (process.getuid?.() !== 0) return `${binary} is missing and installing it needs root (apt-get install ${pkg})`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => execFileSync('apt-get', ['install', '-y', '-q', pkg], { stdio: 'ignore', env, timeout: 600_000 });
  try {
    install();
  } catch {
    try {
      execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', timeout: 300_000 });
      install();
    } catch (err) {
      return `apt-get install ${pkg} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    }
  }
  return existsSync(binary) ? undefined : `apt-get install ${pkg} did not provide ${binary}`;
}
