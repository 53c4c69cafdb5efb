/** The CLI clients read the gateway and its token through cli/settings.ts, with the command line first. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CliError, EXIT } from './client/exit-codes.ts';
import { gatewayFrom } from './client/gateway-client.ts';
import { CLI_SETTINGS, cliLogLevel, DEV_GATEWAY_URL } from './settings.ts';
import { fromEnv } from '../settings/index.ts';
import { errorText } from '../protocol/errors.ts';

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    return errorText(err);
  }
  throw new Error('expected a usage error');
}

describe('the gateway URL', () => {
  test('--gateway, else ASYA_GATEWAY_URL, else where asya dev listens', () => {
    expect(gatewayFrom({}, {}).url).toBe(DEV_GATEWAY_URL);
    expect(gatewayFrom({}, { ASYA_GATEWAY_URL: 'http://gw:8080/' }).url).toBe('http://gw:8080');
    expect(gatewayFrom({ gateway: 'https://other:1' }, { ASYA_GATEWAY_URL: 'http://gw:8080' }).url).toBe('https://other:1');
  });

  test('a variable that is not an http(s) URL is refused as a usage error naming it', () => {
    expect(usageError(() => gatewayFrom({}, { ASYA_GATEWAY_URL: 'gw:8080' }))).toBe('Invalid ASYA_GATEWAY_URL="gw:8080": expected an http:// or https:// URL such as http://127.0.0.1:8089');
    expect(usageError(() => gatewayFrom({ gateway: 'ftp://gw' }, {}))).toBe('Invalid --gateway "ftp://gw": expected an http:// or https:// URL such as http://127.0.0.1:8089');
  });

  test('--gateway makes a stale ASYA_GATEWAY_URL irrelevant', () => {
    expect(gatewayFrom({ gateway: 'http://gw:1' }, { ASYA_GATEWAY_URL: 'nonsense' }).url).toBe('http://gw:1');
  });
});

describe('the token a client sends', () => {
  let server: Server;
  let url: string;
  const seen: Array<string | undefined> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such envelope"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test.each([
    ['--token wins', { token: 'flag' }, { ASYA_GATEWAY_API_TOKEN: 'api', ASYA_GATEWAY_TOKEN: 'internal' }, 'Bearer flag'],
    ['then ASYA_GATEWAY_API_TOKEN', {}, { ASYA_GATEWAY_API_TOKEN: 'api', ASYA_GATEWAY_TOKEN: 'internal' }, 'Bearer api'],
    ['then ASYA_GATEWAY_TOKEN (an empty API token counts as unset)', {}, { ASYA_GATEWAY_API_TOKEN: '', ASYA_GATEWAY_TOKEN: 'internal' }, 'Bearer internal'],
    ['none at all', {}, {}, undefined],
  ])('%s', async (_, options, env, header) => {
    seen.length = 0;
    await expect(gatewayFrom({ gateway: url, ...options }, env).envelope('e1')).rejects.toMatchObject({ exitCode: EXIT.notFound });
    expect(seen).toEqual([header]);
  });
});

describe('the log level', () => {
  test('WARNING unless set, spelled as everywhere else', () => {
    expect(fromEnv(CLI_SETTINGS, {}).logLevel).toBe('WARNING');
    expect(cliLogLevel({ ASYA_LOG_LEVEL: 'debug' })).toBe('DEBUG');
    expect(cliLogLevel({ ASYA_LOG_LEVEL: 'warn' })).toBe('WARNING');
  });

  test('an unknown level falls back to WARNING: cliLogLevel stays silent, fromEnv warns', () => {
    expect(cliLogLevel({ ASYA_LOG_LEVEL: 'loud' })).toBe('WARNING');
    const warnings: string[] = [];
    expect(fromEnv(CLI_SETTINGS, { ASYA_LOG_LEVEL: 'loud' }, { warn: (m) => warnings.push(m) }).logLevel).toBe('WARNING');
    expect(warnings).toEqual(['Invalid ASYA_LOG_LEVEL="loud": expected one of DEBUG, INFO, WARNING, ERROR; using the default WARNING']);
  });
});
