/**
 * Both functions in the order every route runs them (kpt pipeline, kustomize transformers, the controller,
 * the cdk8s construct). Both validate the AsyncActors, so a problem is reported once, not twice.
 */
import { injectSidecar } from './inject-sidecar/transform.ts';
import { kedaScaler } from './keda-scaler/transform.ts';
import type { FunctionOutput, KubeObject } from './resource-list.ts';

export function renderPipeline(items: KubeObject[], functionConfig: unknown): FunctionOutput {
  const injected = injectSidecar(items, functionConfig);
  const scaled = kedaScaler(injected.items, functionConfig);
  const seen = new Set<string>();
  const results = [...injected.results, ...scaled.results].filter((r) => {
    const key = `${r.severity}|${r.resourceRef?.namespace}/${r.resourceRef?.name}|${r.field?.path}|${r.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  return { items: scaled.items, results };
}
