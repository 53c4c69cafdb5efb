/** Entry point of the bundled inject-sidecar executable (krm-functions/build.ts). */
import { runExecutable } from '../exec.ts';
import { FUNCTIONS } from '../functions.ts';

// No top-level await: the bundle is CommonJS so that it runs from any directory without a package.json.
void runExecutable('inject-sidecar', FUNCTIONS['inject-sidecar']!, process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
