/** asya dev --transport sqs: the same stack and demo against SQS (moto_server). */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ASYA_BIN, copyExample } from './support/dev-process.ts';
import { startMoto, type MotoServer } from './support/moto.ts';

let moto: MotoServer;
const example = copyExample('hello');
beforeAll(async () => {
  moto = await startMoto();
}, 240_000);
afterAll(async () => {
  await moto?.stop();
  example.cleanup();
}, 240_000);

test('--transport sqs --demo ends as demo.yaml expects', () => {
  const run = spawnSync(process.execPath, [ASYA_BIN, 'dev', example.dir, '--transport', 'sqs', '--demo'], {
    cwd: example.dir,
    env: {
      ...process.env,
      ASYA_SQS_ENDPOINT: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      // Short polls, so the drain at the end does not wait out a 20 s receive.
      ASYA_SQS_WAIT_TIME_SECONDS: '1',
    },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  expect(run.stderr).toContain('on the sqs transport');
  expect(run.stdout).toContain('3 of 3 demo calls ended as expected');
  expect(run.stdout).toContain('"verdict": "negative (score -2 over 6 words)"');
}, 240_000);
