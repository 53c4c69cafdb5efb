/** The KRM functions by name: what `asya krm <name>`, the bundles and the controller look up. */
import { injectSidecar, FUNCTION_NAME as INJECT } from './inject-sidecar/transform.ts';
import { kedaScaler, FUNCTION_NAME as KEDA } from './keda-scaler/transform.ts';
import type { KrmTransform } from './resource-list.ts';

export const FUNCTIONS: Record<string, KrmTransform> = { [INJECT]: injectSidecar, [KEDA]: kedaScaler };
