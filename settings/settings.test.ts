import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, expectTypeOf, test } from 'vitest';
import { z } from 'zod';
import { bool, duration, fromEnv, hostPort, int, isSet, json, list, literalBool, oneOf, readSettings, renderSettingsDocs, renderSettingsTable, settingsTable, SettingsError, string, toEnv, toEnvRecord, url, intKind, type HostPort } from './index.ts';

const table = settingsTable(
  'example',
  {
    name: string({ env: 'X_NAME', doc: 'who', required: 'the name of the thing' }),
    workers: int({ env: 'X_WORKERS', doc: 'how many', default: 1, min: 1, aliases: ['X_OLD_WORKERS'] }),
    port: int({ env: 'X_PORT', doc: 'port', default: 8080, min: 0, max: 65535 }),
    timeout: duration({ env: 'X_TIMEOUT', doc: 'how long', default: '5m' }),
    idle: duration({ env: 'X_IDLE', doc: 'idle exit' }),
    lease: duration({ env: 'X_LEASE', doc: 'lease', default: '30s', minMs: 1 }),
    enabled: bool({ env: 'X_ENABLED', doc: 'on?', default: true }),
    validate: literalBool({ env: 'X_VALIDATE', doc: 'only true', default: true, literal: 'true' }),
    leader: literalBool({ env: 'X_LEADER', doc: 'only false', default: true, literal: 'false' }),
    addr: hostPort({ env: 'X_ADDR', doc: 'where', default: { port: 8080 }, defaultDoc: '`:8080`' }),
    mode: oneOf(['payload', 'envelope'], { env: 'X_MODE', doc: 'mode', default: 'payload', caseInsensitive: true }),
    policy: json(z.object({ attempts: z.number().int().min(1) }), '{attempts}', { env: 'X_POLICY', doc: 'policy' }),
    origins: list(intKind(1), { env: 'X_NUMBERS', doc: 'numbers', default: [] }),
    gateway: url({ env: 'X_URL', doc: 'gateway' }),
    prefix: string({ env: 'X_PREFIX', doc: 'prefix', default: 'p/', keepEmpty: true }),
    token: string({ env: 'X_TOKEN', doc: 'secret', secret: true }),
    retries: int({ env: 'X_RETRIES', doc: 'lenient', default: 3, min: 1, strictness: 'lenient' }),
  },
  [
    { env: 'X_PREFETCH', action: 'warn', reason: 'set X_WORKERS' },
    { env: 'X_REGISTRY', action: 'refuse', reason: 'use a platform file' },
  ],
);

describe('reading', () => {
  test('defaults, and the value type derived from the table', () => {
    const values = fromEnv(table, { X_NAME: 'a' });
    expect(values).toEqual({
      name: 'a', workers: 1, port: 8080, timeout: 300_000, lease: 30_000, enabled: true, validate: true, leader: true,
      addr: { port: 8080 }, mode: 'payload', origins: [], prefix: 'p/', retries: 3,
    });
    expectTypeOf(values.workers).toEqualTypeOf<number>();
    expectTypeOf(values.mode).toEqualTypeOf<'payload' | 'envelope'>();
    expectTypeOf(values.addr).toEqualTypeOf<HostPort>();
    expectTypeOf(values.idle).toEqualTypeOf<number | undefined>();
    expectTypeOf(values.policy).toEqualTypeOf<{ attempts: number } | undefined>();
    expectTypeOf(values.name).toEqualTypeOf<string>();
  });

  test('every kind reads its text', () => {
    const values = fromEnv(table, {
      X_NAME: ' b ', X_WORKERS: '4', X_PORT: '65535', X_TIMEOUT: '1m30s', X_IDLE: '30', X_ENABLED: 'off', X_VALIDATE: 'TRUE', X_LEADER: 'false',
      X_ADDR: '127.0.0.1:9090', X_MODE: 'Envelope', X_POLICY: '{"attempts":2}', X_NUMBERS: '1, 2,,3', X_URL: 'http://gw:8080/', X_PREFIX: '', X_TOKEN: 't',
    });
    expect(values).toMatchObject({
      name: 'b', workers: 4, port: 65535, timeout: 90_000, idle: 30_000, enabled: false, validate: true, leader: false,
      addr: { host: '127.0.0.1', port: 9090 }, mode: 'envelope', policy: { attempts: 2 }, origins: [1, 2, 3], gateway: 'http://gw:8080', prefix: '', token: 't',
    });
  });

  test('an empty value counts as unset unless the setting keeps it', () => {
    expect(fromEnv(table, { X_NAME: 'a', X_WORKERS: '  ', X_PREFIX: '' })).toMatchObject({ workers: 1, prefix: '' });
  });

  test('every wrong variable is reported at once, each by name', () => {
    const { errors } = readSettings(table, { X_WORKERS: '0', X_PORT: '70000', X_TIMEOUT: 'soon', X_LEASE: '0s', X_ENABLED: 'maybe', X_ADDR: '8080', X_MODE: 'x', X_POLICY: '{"attempts":0}', X_URL: 'gw', X_REGISTRY: '{}' });
    expect(errors).toEqual([
      'X_REGISTRY is not read any more: use a platform file',
      'X_NAME is required: the name of the thing',
      'Invalid X_WORKERS="0": expected an integer >= 1',
      'Invalid X_PORT="70000": expected an integer from 0 to 65535',
      'Invalid X_TIMEOUT="soon": expected seconds (300) or a duration such as 300s, 5m, 1m30s, 500ms',
      'Invalid X_LEASE="0s": expected a duration above 0',
      'Invalid X_ENABLED="maybe": expected true/false, 1/0, yes/no or on/off',
      'Invalid X_ADDR="8080": expected [host]:port, e.g. :8080',
      'Invalid X_MODE="x": expected payload or envelope',
      'Invalid X_POLICY: attempts: Too small: expected number to be >=1 (expected {attempts})',
      'Invalid X_URL="gw": expected an absolute URL such as http://host:8080',
    ]);
    expect(() => fromEnv(table, { X_WORKERS: '0' }, { warn: () => {} })).toThrow(SettingsError);
    expect(() => fromEnv(table, { X_WORKERS: '0' }, { warn: () => {} })).toThrow('2 settings are invalid: X_NAME is required: the name of the thing; Invalid X_WORKERS="0"');
    expect(() => fromEnv(table, {}, { error: (m) => new RangeError(m) })).toThrow(RangeError);
  });

  test('isSet: whether the user gave a value, under its name, an old name or a file, as the reader sees it', () => {
    expect(isSet(table, 'workers', {})).toBe(false);
    expect(isSet(table, 'workers', { X_WORKERS: '  ' })).toBe(false);
    expect(isSet(table, 'workers', { X_WORKERS: '2' })).toBe(true);
    expect(isSet(table, 'workers', { X_OLD_WORKERS: '2' })).toBe(true);
    expect(isSet(table, 'prefix', { X_PREFIX: '' })).toBe(true);
    expect(() => isSet(table, 'nope' as 'workers', {})).toThrow('settings table example has no setting nope');
  });
  test('a secret is never echoed', () => {
    const secretTable = settingsTable('s', { tokens: int({ env: 'X_TOKENS', doc: 'tokens', secret: true }) });
    expect(readSettings(secretTable, { X_TOKENS: 'hunter2' }).errors).toEqual(['Invalid X_TOKENS: expected an integer']);
  });

  test('a lenient setting falls back to its default with a warning', () => {
    const { values, errors, warnings } = readSettings(table, { X_NAME: 'a', X_RETRIES: 'many' });
    expect(errors).toEqual([]);
    expect(values.retries).toBe(3);
    expect(warnings).toEqual(['Invalid X_RETRIES="many": expected an integer >= 1; using the default 3']);
  });

  test('a literal switch warns when the value reads the other way', () => {
    const { values, warnings } = readSettings(table, { X_NAME: 'a', X_LEADER: 'no', X_VALIDATE: 'yes' });
    expect(values).toMatchObject({ leader: true, validate: false });
    expect(warnings).toEqual(['X_VALIDATE="yes" is read as false: only the literal true changes it', 'X_LEADER="no" is read as true: only the literal false changes it']);
  });
});

describe('values from files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'asya-settings-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files = settingsTable('files', { password: string({ env: 'X_PASSWORD', doc: 'password', default: 'guest', secret: true, fromFile: true }) });

  test('<name>_FILE holds the value, one trailing newline dropped', () => {
    writeFileSync(join(dir, 'password'), 's3cret\n');
    expect(fromEnv(files, { X_PASSWORD_FILE: join(dir, 'password') })).toEqual({ password: 's3cret' });
    expect(fromEnv(files, {})).toEqual({ password: 'guest' });
  });

  test('both, or a file that cannot be read, is an error naming the variable', () => {
    writeFileSync(join(dir, 'password'), 'x');
    expect(readSettings(files, { X_PASSWORD: 'a', X_PASSWORD_FILE: join(dir, 'password') }).errors).toEqual(['set X_PASSWORD or X_PASSWORD_FILE, not both']);
    expect(readSettings(files, { X_PASSWORD_FILE: join(dir, 'missing') }).errors).toEqual([expect.stringMatching(/^X_PASSWORD_FILE=.*missing cannot be read: ENOENT/)]);
  });

  test('the docs row says so', () => {
    expect(renderSettingsTable(files)).toContain('| `X_PASSWORD` | `guest` | password. Or `X_PASSWORD_FILE`: a file holding the value (a mounted Secret); not both |');
  });
});

describe('old names', () => {
  test('a deprecated alias maps, with a warning', () => {
    const { values, warnings } = readSettings(table, { X_NAME: 'a', X_OLD_WORKERS: '5' });
    expect(values.workers).toBe(5);
    expect(warnings).toEqual(['X_OLD_WORKERS is deprecated: read as X_WORKERS; rename it']);
  });

  test('the new name wins over the alias, and the alias is reported as ignored', () => {
    const { values, warnings } = readSettings(table, { X_NAME: 'a', X_OLD_WORKERS: '5', X_WORKERS: '2' });
    expect(values.workers).toBe(2);
    expect(warnings).toEqual(['X_OLD_WORKERS is deprecated and ignored because X_WORKERS is set']);
  });

  test('a bad value under the old name is reported under the old name', () => {
    expect(readSettings(table, { X_NAME: 'a', X_OLD_WORKERS: 'x' }).errors).toEqual(['Invalid X_OLD_WORKERS="x": expected an integer >= 1']);
  });

  test('a retired name is warned about or refused, never ignored silently', () => {
    const warned: string[] = [];
    expect(fromEnv(table, { X_NAME: 'a', X_PREFETCH: '10' }, { warn: (m) => warned.push(m) })).toMatchObject({ workers: 1 });
    expect(warned).toEqual(['X_PREFETCH is not read any more: set X_WORKERS']);
    expect(() => fromEnv(table, { X_NAME: 'a', X_REGISTRY: '{}' }, { warn: () => {} })).toThrow('X_REGISTRY is not read any more: use a platform file');
  });

  test('a name is declared once per table', () => {
    expect(() => settingsTable('dup', { a: string({ env: 'X_A', doc: 'a' }), b: string({ env: 'X_B', doc: 'b', aliases: ['X_A'] }) })).toThrow('settings table dup: X_A declared twice');
  });
});

describe('writing', () => {
  test('the values given, in the order given, as the reader reads them back', () => {
    const values = { name: 'a', timeout: 300_000, addr: { port: 9090 }, policy: { attempts: 2 }, enabled: false, origins: [1, 2], idle: 1500, workers: undefined };
    const env = toEnv(table, values);
    expect(env).toEqual([
      { name: 'X_NAME', value: 'a' },
      { name: 'X_TIMEOUT', value: '300s' },
      { name: 'X_ADDR', value: ':9090' },
      { name: 'X_POLICY', value: '{"attempts":2}' },
      { name: 'X_ENABLED', value: 'false' },
      { name: 'X_NUMBERS', value: '1,2' },
      { name: 'X_IDLE', value: '1500ms' },
    ]);
    expect(fromEnv(table, toEnvRecord(table, values))).toMatchObject({ ...values, workers: 1 });
  });

  test('a value the reader would refuse is not written', () => {
    expect(() => toEnv(table, { workers: 0 })).toThrow('settings table example: writing X_WORKERS="0", which its reader refuses: expected an integer >= 1');
    expect(() => toEnv(table, { gateway: 'not a url' })).toThrow('writing X_URL="not a url"');
    expect(toEnv(table, { gateway: '' })).toEqual([{ name: 'X_URL', value: '' }]);
  });

  test('defaults can be left out', () => {
    expect(toEnv(table, { name: 'a', workers: 1, timeout: 300_000, mode: 'envelope' }, { omitDefaults: true })).toEqual([
      { name: 'X_NAME', value: 'a' },
      { name: 'X_MODE', value: 'envelope' },
    ]);
  });
});

describe('docs', () => {
  test('one row per setting, old names and retired names included', () => {
    const rows = renderSettingsTable(table).split('\n');
    expect(rows.slice(0, 2)).toEqual(['| variable | default | meaning |', '|---|---|---|']);
    expect(rows).toContain('| `X_NAME` | required | who |');
    expect(rows).toContain('| `X_WORKERS` | `1` | how many (formerly `X_OLD_WORKERS`: still read, with a deprecation warning) |');
    expect(rows).toContain('| `X_TIMEOUT` | `5m` | how long |');
    expect(rows).toContain('| `X_IDLE` | – | idle exit |');
    expect(rows).toContain('| `X_ADDR` | `:8080` | where |');
    expect(rows).toContain("| `X_PREFETCH` | not read (warning) | the original's; set X_WORKERS |");
    expect(rows).toContain("| `X_REGISTRY` | refused | the original's; use a platform file |");
  });

  test('tables are replaced between their markers, the prose kept; markers and tables must match', () => {
    const doc = 'intro\n<!-- settings:example -->\nstale\n<!-- /settings -->\nafter\n';
    const fresh = renderSettingsDocs(doc, [table]);
    expect(fresh.startsWith('intro\n<!-- settings:example -->\n| variable |')).toBe(true);
    expect(fresh.endsWith('<!-- /settings -->\nafter\n')).toBe(true);
    expect(renderSettingsDocs(fresh, [table])).toBe(fresh);
    expect(() => renderSettingsDocs('none', [table])).toThrow('no docs marker for the settings of example');
    expect(() => renderSettingsDocs(doc, [])).toThrow('docs marker settings:example has no settings table');
  });
});
