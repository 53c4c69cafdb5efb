/** The recommended Kubernetes labels every platform object carries, so `kubectl get -l app.kubernetes.io/part-of=asya` finds them all. */
import pkg from '../package.json' with { type: 'json' };

export const PART_OF = 'asya';

export type Component = 'controller' | 'gateway' | 'crew' | 'monitoring' | 'trial-rabbitmq' | 'trial-postgresql' | 'namespace' | 'network-policy' | 'otel-collector';

export function platformLabels(name: string, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    // One instance of each platform part per namespace, so its name is unique where it runs.
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/version': pkg.version,
    'app.kubernetes.io/managed-by': 'asya-synth',
  };
}

/** Selector labels stay stable across versions: a Deployment's selector is immutable. */
export function selectorFor(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': PART_OF };
}
