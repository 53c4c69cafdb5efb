/**
 * The docs tables of docs/configuration.md, rendered from the declarations. Each table sits between
 * `<!-- settings:<component> -->` and `<!-- /settings -->`; the prose around them is left alone.
 */
import type { AnySetting, SettingsTable } from './setting.ts';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function defaultColumn(setting: AnySetting): string {
  const { options, kind } = setting;
  if (options.required !== undefined) return 'required';
  if (options.defaultDoc !== undefined) return options.defaultDoc;
  if (options.default !== undefined) return `\`${kind.format(options.default)}\``;
  return '–';
}

function meaning(setting: AnySetting): string {
  const aliases = setting.options.aliases ?? [];
  const formerly = aliases.length > 0 ? ` (formerly ${aliases.map((a) => `\`${a}\``).join(', ')}: still read, with a deprecation warning)` : '';
  const file = setting.options.fromFile ? `. Or \`${setting.options.env}_FILE\`: a file holding the value (a mounted Secret); not both` : '';
  return `${setting.options.doc}${file}${formerly}`;
}

export function renderSettingsTable(table: SettingsTable): string {
  const rows = Object.values(table.settings).map((s) => `| \`${s.options.env}\` | ${defaultColumn(s)} | ${cell(meaning(s))} |`);
  const retired = table.retired.map((r) => `| \`${r.env}\` | ${r.action === 'refuse' ? 'refused' : 'not read (warning)'} | ${cell(`the original's; ${r.reason}`)} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows, ...retired].join('\n');
}

const BLOCK = /<!-- settings:([a-z0-9-]+) -->\n[\s\S]*?<!-- \/settings -->/g;

/** The document with every marked table regenerated; a marker without a table is an error, as is a table without a marker. */
export function renderSettingsDocs(text: string, tables: readonly SettingsTable[]): string {
  const byName = new Map(tables.map((t) => [t.component, t]));
  const seen = new Set<string>();
  const out = text.replace(BLOCK, (_, name: string) => {
    const table = byName.get(name);
    if (!table) throw new Error(`docs marker settings:${name} has no settings table`);
    seen.add(name);
    return `<!-- settings:${name} -->\n${renderSettingsTable(table)}\n<!-- /settings -->`;
  });
  const missing = tables.filter((t) => !seen.has(t.component)).map((t) => t.component);
  if (missing.length > 0) throw new Error(`no docs marker for the settings of ${missing.join(', ')}`);
  return out;
}
