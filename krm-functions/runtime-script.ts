/**
 * The Python runtime that the `asya-runtime` ConfigMap carries. The KRM executables are single files with no
 * repository beside them, so their bundle embeds the script (esbuild `define`); from source it is read
 * from runtime/python.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

declare const __ASYA_RUNTIME_SCRIPT__: string | undefined;

let cached: string | undefined;

export function runtimeScript(): string {
  if (typeof __ASYA_RUNTIME_SCRIPT__ === 'string') return __ASYA_RUNTIME_SCRIPT__;
  cached ??= readFileSync(fileURLToPath(new URL('../runtime/python/asya_runtime.py', import.meta.url)), 'utf8');
  return cached;
}
