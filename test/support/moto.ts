/** Runs moto_server as a child process for SQS/S3 tests: `const moto = await startMoto()` in beforeAll. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface MotoServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** Client settings that talk to this server with moto's dummy credentials. */
  readonly clientConfig: {
    region: string;
    endpoint: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * moto_server answers each request on its own thread, and its S3 conditional write (If-None-Match: *) checks for the
 * key and then writes it without a lock, so two concurrent writers can both win, which S3 itself never allows. A test
 * of what S3 guarantees to concurrent writers runs moto one request at a time instead (`serial`). Not for SQS: a long
 * poll would hold every other request.
 */
const serialMoto = [
  'import sys',
  'from werkzeug.serving import run_simple',
  'from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app',
  'run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False)',
].join('\n');

export async function startMoto(options: { command?: string; readyTimeoutMs?: number; serial?: boolean } = {}): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const [command, args] = options.serial
    ? ['python3', ['-c', serialMoto, '127.0.0.1', String(port)]]
    : [options.command ?? 'moto_server', ['-H', '127.0.0.1', '-p', String(port)]];
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (spawnError) throw new Error(`cannot start moto_server: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
    try {
      await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`moto_server did not answer on ${endpoint}: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    endpoint,
    clientConfig: { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}
