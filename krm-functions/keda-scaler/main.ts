/** Entry point of the bundled keda-scaler executable (krm-functions/build.ts). */
import { runExecutable } from '../exec.ts';
import { FUNCTIONS } from '../functions.ts';

// No top-level await: the bundle is CommonJS so that it runs from any directory without a package.json.
void runExecutable('keda-scaler', FUNCTIONS['keda-scaler']!, process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
