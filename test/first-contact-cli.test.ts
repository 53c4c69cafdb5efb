/**
 * The small things a new user meets first, from their own directory outside the repository: the version,
 * a mistyped command or option, the Makefile keeping what `make krm` built, and test/services.sh leaving a
 * broker it did not start alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { applyFlags } from '../cli/client/tool-arguments.ts';
import { asya } from './support/dev-process.ts';
import { freePort } from './support/moto.ts';
import { amqpAnswers } from './support/private-rabbitmq.ts';
import { emptyProject, type Project } from './support/new-project.ts';
import { REPO_ROOT } from './support/runtime-process.ts';

let project: Project | undefined;
afterEach(() => {
  project?.cleanup();
  project = undefined;
});

test('asya --version and asya -V print the package version', async () => {
  project = emptyProject();
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V', 'version']) {
    const run = await asya([flag], {}, project.dir);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`asya ${version}\n`);
  }
});

test('a mistyped command or option is answered with the nearest valid one', async () => {
  project = emptyProject();
  const command = await asya(['staus', 'x'], {}, project.dir);
  expect(command.status).toBe(2);
  expect(command.stderr).toContain("asya: unknown command 'staus' (did you mean status?)");
  for (const [args, hint] of [
    [['dev', '.', '--prot', '1'], "Unknown option '--prot' (did you mean --port?)"],
    [['status', 'x', '--gatway', 'http://127.0.0.1:1'], "Unknown option '--gatway' (did you mean --gateway?)"],
    [['tools', '--jsn'], "Unknown option '--jsn' (did you mean --json?)"],
    [['synth', '--namespce', 'x'], "Unknown option '--namespce' (did you mean --namespace?)"],
  ] as const) {
    const run = await asya([...args], {}, project.dir);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(hint);
  }
});

test("asya call warns about a tool argument the tool does not declare, naming the nearest one", () => {
  const warnings: string[] = [];
  applyFlags({}, [{ key: 'nmae', value: 'Ada' }], { type: 'object', properties: { name: { type: 'string' } } }, (w) => warnings.push(w));
  expect(warnings).toEqual(['the tool declares no argument "nmae" (did you mean --name?) (it has: name); sending --nmae as given']);
});

test("make build's clean step removes only the bundle: dist/krm (from make krm) stays", () => {
  project = emptyProject();
  const dist = join(project.dir, 'dist');
  mkdirSync(join(dist, 'krm'), { recursive: true });
  for (const file of ['asya.js', 'chunk-ABC123.js', 'krm/inject-sidecar.cjs']) writeFileSync(join(dist, file), '');
  const run = spawnSync('make', ['-s', '-C', REPO_ROOT, 'clean-cli', `DIST=${dist}`], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  expect(existsSync(join(dist, 'asya.js'))).toBe(false);
  expect(existsSync(join(dist, 'chunk-ABC123.js'))).toBe(false);
  expect(existsSync(join(dist, 'krm/inject-sidecar.cjs'))).toBe(true);
  // make build runs that step instead of removing dist/ as a whole.
  const plan = spawnSync('make', ['-n', '-C', REPO_ROOT, 'build', `DIST=${dist}`], { encoding: 'utf8' }).stdout;
  expect(plan).toContain(`rm -f ${dist}/*.js`);
  expect(plan).not.toMatch(/rm -rf dist\b/);
});

test('test/services.sh leaves a wedged broker alone and starts one of the suite\'s own, which the tests then use', async () => {
  // Something on the port that accepts connections and never speaks AMQP, like a wedged broker.
  const held: Socket[] = [];
  const server = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const fallbackPort = await freePort();
  const distPort = await freePort();
  const node = `asya-services-${fallbackPort}@localhost`;
  const envFile = join(mkdtempSync(join(tmpdir(), 'asya-services-')), 'services.env');
  try {
    const run = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const env = { ...process.env, ASYA_SERVICES_RABBITMQ_PORT: String(port), ASYA_SERVICES_FALLBACK_RABBITMQ_PORT: String(fallbackPort), ASYA_SERVICES_FALLBACK_RABBITMQ_DIST_PORT: String(distPort), ASYA_SERVICES_ENV: envFile, ASYA_SERVICES_GREET_TRIES: '1' };
      const child = spawn('bash', [join(REPO_ROOT, 'test/services.sh')], { env });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('close', (status) => resolve({ status, stderr }));
    });
    expect(run.stderr).toContain(`something accepts connections on ${port} but does not answer AMQP within a minute; it was running before this script and is left alone`);
    expect(run.stderr).toContain(`starting a RabbitMQ node of the suite's own (${node} on ${fallbackPort}`);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(envFile, 'utf8')).toBe(`ASYA_TEST_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:${fallbackPort}\nRABBITMQ_NODENAME=${node}\n`);
    expect(await amqpAnswers(fallbackPort)).toBe(true);
    // Still there: nothing stopped it.
    expect(server.listening).toBe(true);
  } finally {
    for (const socket of held) socket.destroy();
    server.close();
    spawnSync('rabbitmqctl', ['-n', node, 'stop'], { timeout: 60_000 });
    rmSync(`/tmp/asya-services-rabbitmq-${fallbackPort}`, { recursive: true, force: true });
  }
}, 300_000);
