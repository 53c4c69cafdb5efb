/** The platform's namespace, labelled for the restricted Pod Security Standard every platform pod meets. */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import type { Construct } from 'constructs';
import { platformLabels } from './labels.ts';

export class NamespaceChart extends Chart {
  constructor(scope: Construct, id: string, namespace: string) {
    super(scope, id);
    // Every platform pod, the trial StatefulSets included, meets "restricted": enforcing it catches regressions.
    const enforce = 'restricted';
    new k8s.KubeNamespace(this, 'namespace', {
      metadata: { name: namespace, labels: { ...platformLabels(namespace, 'namespace'), 'pod-security.kubernetes.io/enforce': enforce } },
    });
  }
}
