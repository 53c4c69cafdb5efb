/** docs/configuration.md's settings tables are generated from the declarations (`make docs`). */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { CONFIGURATION_DOC, configurationDoc, DOCUMENTED_SETTINGS } from '../cli/settings-docs.ts';

test('the committed tables are what the declarations render (run `make docs` after changing a settings table)', () => {
  expect(readFileSync(CONFIGURATION_DOC, 'utf8')).toBe(configurationDoc());
});

test('every declared variable has its row, once per table', () => {
  const doc = readFileSync(CONFIGURATION_DOC, 'utf8');
  for (const table of DOCUMENTED_SETTINGS) {
    const block = doc.slice(doc.indexOf(`<!-- settings:${table.component} -->`), doc.indexOf('<!-- /settings -->', doc.indexOf(`<!-- settings:${table.component} -->`)));
    for (const setting of Object.values(table.settings)) expect(block.split(`| \`${setting.options.env}\` |`).length - 1).toBe(1);
  }
});
