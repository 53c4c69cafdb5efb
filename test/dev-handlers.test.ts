/**
 * asya dev while a user works on the handlers: a saved edit restarts only that actor's runtime, and a
 * handler that does not import is one clear error while the other actors keep serving; the calls routed to
 * it wait in its queue and finish once the handler is fixed.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { asya, copyExample, editFile, startDev, type DevProcess } from './support/dev-process.ts';

let example: { dir: string; cleanup: () => void } | undefined;
let dev: DevProcess | undefined;

afterEach(async () => {
  if (dev) expect(await dev.stop()).toBe(0);
  example?.cleanup();
  dev = undefined;
  example = undefined;
}, 240_000);

async function report(url: string, text: string): Promise<{ title: string; reports_so_far: number; verdict: string }> {
  const run = await asya(['call', 'analyze_text', '--text', text, '--gateway', url]);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { title: string; reports_so_far: number; verdict: string };
}

test('an edited handler file (Python, then TypeScript) restarts that actor\'s runtime, and the next call runs the new code', async () => {
  example = copyExample('hello');
  dev = await startDev(example.dir, ['--data-dir', join(example.dir, '.store')]);
  expect(await report(dev.url, 'good news')).toMatchObject({ title: 'Sentiment report', reports_so_far: 1 });
  expect(await report(dev.url, 'more good news')).toMatchObject({ reports_so_far: 2 });

  editFile(join(example.dir, 'handlers/report.py'), (text) => text.replace('title="Sentiment report"', 'title="Edited report"'));
  await dev.waitFor(/actor report: handler changed; runtime restarted/);
  // A fresh process: the class handler's state starts over, with the new default.
  expect(await report(dev.url, 'good news again')).toMatchObject({ title: 'Edited report', reports_so_far: 1 });
  expect(dev.output()).not.toMatch(/actor (normalize|sentiment): handler changed/);
  expect(dev.output().match(/handler changed; runtime restarted/g)).toHaveLength(1);

  // The TypeScript actor too: 'work' becomes a positive word.
  expect(await report(dev.url, 'good work')).toMatchObject({ verdict: 'positive (score +1 over 2 words)' });
  editFile(join(example.dir, 'handlers/sentiment.ts'), (text) => text.replace("'nice']", "'nice', 'work']"));
  await dev.waitFor(/actor sentiment: handler changed; runtime restarted/);
  expect(await report(dev.url, 'good work')).toMatchObject({ verdict: 'positive (score +2 over 2 words)' });
}, 240_000);

test('a handler that fails to import is one clear error; the other actors keep running; fixing it lets its calls finish', async () => {
  example = copyExample('hello');
  // A second tool that skips the broken actor.
  appendFileSync(
    join(example.dir, 'tools.yaml'),
    `
- name: score_words
  parameters:
    text: {type: string, required: true}
    words: {type: integer, required: true}
  route: [sentiment, report]
  progress: true
`,
  );
  const normalize = join(example.dir, 'handlers/normalize.py');
  editFile(normalize, (text) => `import no_such_module_for_asya\n${text}`);
  dev = await startDev(example.dir, ['--data-dir', join(example.dir, '.store')]);
  const env = { ASYA_GATEWAY_URL: dev.url };

  const errors = dev.output().match(/^.*actor normalize: its handler failed to load.*$/gm) ?? [];
  expect(errors).toHaveLength(1);
  expect(errors[0]).toContain("No module named 'no_such_module_for_asya'");
  // One error, not a traceback plus an error.
  expect(dev.output().match(/no_such_module_for_asya/g)).toHaveLength(1);
  expect(dev.output()).toMatch(/actor sentiment: up/);
  expect(dev.output()).toMatch(/actor report: up/);

  const other = await asya(['call', 'score_words', '--text', 'great and easy', '--words', '3'], env);
  expect(other.status, other.stderr).toBe(0);
  expect(JSON.parse(other.stdout)).toMatchObject({ verdict: 'positive (score +2 over 3 words)' });

  const queued = await asya(['call', 'analyze_text', '--text', 'nice work', '--no-wait'], env);
  expect(queued.status, queued.stderr).toBe(0);
  const { envelope_id: id } = JSON.parse(queued.stdout) as { envelope_id: string };
  expect(JSON.parse((await asya(['status', id], env)).stdout)).toMatchObject({ status: 'pending' });

  editFile(normalize, (text) => text.replace('import no_such_module_for_asya\n', ''));
  await dev.waitFor(/actor normalize: up/);
  const finished = await asya(['status', id, '--wait'], env);
  expect(finished.status, finished.stderr).toBe(0);
  expect(JSON.parse(finished.stdout)).toMatchObject({ status: 'succeeded', result: { verdict: 'positive (score +1 over 2 words)' } });
}, 240_000);
