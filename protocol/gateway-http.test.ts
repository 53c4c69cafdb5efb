import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson } from './gateway-http.ts';

/** A gateway stand-in on a free port of loopback, answering each request as `answer` says. */
async function gatewayThat(answer: (res: ServerResponse, body: string, authorization?: string) => void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => answer(res, body, req.headers.authorization));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('postJson', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends the JSON with the bearer token and resolves every answer with its status and the start of its text', async () => {
    const seen: Array<{ body: string; authorization?: string }> = [];
    const { url, server } = await gatewayThat((res, body, authorization) => {
      seen.push({ body, authorization });
      res.writeHead(503, { 'content-type': 'text/plain' }).end('x'.repeat(1000));
    });
    servers.push(server);
    const answer = await postJson(`${url}/`, '/envelopes/e1/progress', { status: 'processing' }, { token: 't', timeoutMs: 2000 });
    expect(answer.status).toBe(503);
    expect(answer.text).toBe('x'.repeat(300));
    expect(seen).toEqual([{ body: '{"status":"processing"}', authorization: 'Bearer t' }]);
  });

  it('rejects when no answer comes within the timeout, and when an answer stops halfway', async () => {
    const silent = await gatewayThat(() => {});
    servers.push(silent.server);
    await expect(postJson(silent.url, '/envelopes/e1/final', {}, { timeoutMs: 200 })).rejects.toThrow('no answer from the gateway within 200 ms');

    const halfway = await gatewayThat((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"status":');
    });
    servers.push(halfway.server);
    await expect(postJson(halfway.url, '/envelopes/e1/final', {}, { timeoutMs: 200 })).rejects.toThrow();
  });

  it('refuses a URL that is neither http nor https', async () => {
    await expect(postJson('ftp://127.0.0.1', '/x', {}, { timeoutMs: 100 })).rejects.toThrow('unsupported gateway URL');
  });
});
