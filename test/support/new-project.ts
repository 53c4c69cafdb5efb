/**
 * A user's own project, as the README has them write it: a fresh temporary directory outside the repository
 * (no .asya/, no dist/, no package.json, no tokens), with one Python actor `greet` and a tool for it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Project {
  readonly dir: string;
  write(file: string, text: string): string;
  cleanup(): void;
}

export function emptyProject(prefix = 'asya-project-'): Project {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(file, text) {
      const path = join(dir, file);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, text);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const GREET_PY = `def process(payload):
    return {"greeting": f"hello {payload['name']}"}
`;

export function actorManifest(name: string, handler: string, extraSpec = ''): string {
  return `apiVersion: asya.sh/v1alpha1
kind: AsyncActor
metadata:
  name: ${name}
spec:
  transport: rabbitmq${extraSpec}
  workload:
    kind: Deployment
    template:
      spec:
        containers:
        - name: asya-runtime
          image: python:3.12-slim
          env:
          - name: ASYA_HANDLER
            value: "${handler}"
`;
}

/** One Python actor `greet` (greet.py beside its manifest) and the tool `greet`. */
export function greetProject(): Project {
  const project = emptyProject();
  project.write('greet.py', GREET_PY);
  project.write('greet.yaml', actorManifest('greet', 'greet.process'));
  project.write('tools.yaml', `tools:\n- name: greet\n  parameters:\n    name: {type: string, required: true}\n  route: [greet]\n`);
  return project;
}
