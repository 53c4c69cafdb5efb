/**
 * The public surface of `asya/krm` (package.json `exports`): the two transforms, both in pipeline order, and
 * the ResourceList runner around any transform (stdin text in; stdout, stderr and exit code out). Compiled
 * to dist/lib by `make lib`; package.test.ts pins the names.
 */
export { injectSidecar } from './inject-sidecar/transform.ts';
export { kedaScaler } from './keda-scaler/transform.ts';
export { renderPipeline } from './pipeline.ts';
export { FUNCTIONS } from './functions.ts';
export { runExecutable } from './exec.ts';
export { InputError, hasErrors, parseInput, runFunction, stringify } from './resource-list.ts';
export type { FunctionInput, FunctionOutput, FunctionRun, KrmTransform, KubeObject, ObjectMeta, ResourceRef, Result } from './resource-list.ts';
export { readPlatformConfig } from './platform-config.ts';
export type { PlatformConfig } from './platform-config.ts';
