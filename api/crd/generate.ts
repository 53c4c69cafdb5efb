/** Writes api/crd/asyncactors.asya.sh.yaml from the schema (`make crd`); api/crd.test.ts keeps it in sync. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdYaml } from '../crd.ts';

const file = join(import.meta.dirname, 'asyncactors.asya.sh.yaml');
writeFileSync(file, crdYaml());
process.stdout.write(`wrote ${file}\n`);
