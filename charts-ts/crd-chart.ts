/** The AsyncActor CRD, exactly as api/ generates it (the same object `asya crd` prints). */
import { ApiObject, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { asyncActorCrd } from '../api/crd.ts';

export class CrdChart extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const crd = asyncActorCrd() as { apiVersion: string; kind: string; metadata: { name: string } };
    new ApiObject(this, 'asyncactors', crd);
  }
}
