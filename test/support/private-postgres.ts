/**
 * A PostgreSQL cluster of a test's own (initdb into a temporary directory, its own port), so a test may stop
 * it, kill it with SIGKILL and start it again on the same data without touching the shared server. As root
 * the cluster runs as the `postgres` user, because initdb refuses to run as root.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { waitUntil } from './gateway-harness.ts';
import { freePort } from './moto.ts';
import { processAlive } from './process-group.ts';

const run = promisify(execFile);

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  start(): Promise<void>;
  /** A fast shutdown (connections are closed, the data is kept). */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster: a crash; the next start recovers from the WAL. */
  kill(): Promise<void>;
  /** True when the server accepts a query. */
  accepts(): Promise<boolean>;
  dispose(): Promise<void>;
}

function binDir(): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  }
  throw new Error('private PostgreSQL: no initdb under /usr/lib/postgresql/*/bin (apt-get install postgresql)');
}

/** The uid and gid to run the cluster as: `postgres` when we are root, else ourselves. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const owner = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'asya-postgres-'));
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!);
  const data = join(dir, 'data');
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const options = { ...owner, cwd: dir, timeout: 120_000 };
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], options);

  const accepts = async () => {
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
      return true;
    } catch {
      return false;
    } finally {
      await sql.end({ timeout: 1 }).catch(() => undefined);
    }
  };
  const postmasterPid = (): number | undefined => {
    const file = join(data, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  let disposed = false;

  const server: PrivatePostgres = {
    url,
    port,
    accepts,
    async start() {
      // Sockets in the data's parent directory, not /var/run/postgresql, which belongs to the shared server.
      await run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '120', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'], options);
      await waitUntil(accepts, 60_000, `private PostgreSQL on ${port} accepting queries`);
    },
    async stop() {
      await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], options).catch(() => undefined);
    },
    async kill() {
      const pid = postmasterPid();
      if (pid !== undefined && processAlive(pid)) process.kill(pid, 'SIGKILL');
      await waitUntil(() => !processAlive(pid), 30_000, `private PostgreSQL postmaster ${pid} exiting`);
      // Backends outlive a killed postmaster briefly; they exit once they notice it is gone.
      await waitUntil(async () => !(await accepts()), 30_000, `private PostgreSQL on ${port} refusing connections`);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await server.stop();
      const pid = postmasterPid();
      if (processAlive(pid)) process.kill(pid!, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (err) {
    await server.dispose();
    throw err;
  }
  return server;
}
