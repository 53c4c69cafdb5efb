/**
 * The same actors in a cdk8s app, through the AsyncActor construct (charts-ts/async-actor.ts), which runs
 * the inject-sidecar and keda-scaler functions: the output equals the kpt and kustomize routes.
 *   npx tsx examples/pipeline/cdk8s.ts [outdir]      (default dist/pipeline-cdk8s)
 * In your own cdk8s project, import AsyncActor from this repository's charts-ts/ the same way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Chart } from 'cdk8s';
import YAML from 'yaml';
import { AsyncActor, type AsyncActorProps } from '../../charts-ts/async-actor.ts';

const here = import.meta.dirname;
const outdir = resolve(process.argv[2] ?? join(here, '../../dist/pipeline-cdk8s'));
const platform = (YAML.parse(readFileSync(join(here, 'platform.yaml'), 'utf8')) as { spec: AsyncActorProps['platform'] }).spec;

const app = new App({ outdir });
const chart = new Chart(app, 'document-pipeline', { namespace: 'documents', disableResourceNameHashes: true });
for (const file of readdirSync(join(here, 'actors')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()) {
  const actor = YAML.parse(readFileSync(join(here, 'actors', file), 'utf8')) as Pick<AsyncActorProps, 'metadata' | 'spec'>;
  new AsyncActor(chart, actor.metadata.name, { metadata: actor.metadata, spec: actor.spec, platform });
}
app.synth();
process.stdout.write(`wrote ${join(outdir, 'document-pipeline.k8s.yaml')}\n`);
