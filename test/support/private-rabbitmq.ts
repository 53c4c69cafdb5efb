/**
 * A RabbitMQ node of a test's own: its own node name, ports and data directory, so a test may stop it, kill
 * it with SIGKILL or set a memory alarm on it without touching the broker the other test files share.
 * Starting one takes a few seconds; share one per test file.
 */
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitUntil } from './gateway-harness.ts';
import { freePort } from './moto.ts';
import { processAlive, signalGroup } from './process-group.ts';

const run = promisify(execFile);

export interface PrivateRabbitmqOptions {
  /** Extra lines for rabbitmq.conf, e.g. `max_message_size = 1048576`. */
  config?: string[];
  /** Enable the management plugin, on a free port of its own (`managementUrl`). */
  management?: boolean;
}

export interface PrivateRabbitmq {
  readonly url: string;
  readonly port: number;
  /** The HTTP management API (guest/guest), when started with `management: true`. */
  readonly managementUrl?: string;
  readonly nodeName: string;
  /** Starts the node again on the same data (after stop or kill). */
  start(): Promise<void>;
  /** A clean shutdown. */
  stop(): Promise<void>;
  /** SIGKILL to the Erlang VM: a crash, not a shutdown. */
  kill(): Promise<void>;
  /** Runs `rabbitmqctl -n <this node> ...args` and returns its stdout. */
  ctl(...args: string[]): Promise<string>;
  /** Stops the node and deletes its data. Safe to call twice. */
  dispose(): Promise<void>;
}

/** True when something on the port starts an AMQP handshake (sends Connection.Start). */
export function amqpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    socket.once('data', () => done(true));
  });
}

function giveToBrokerUser(dir: string): void {
  if (process.getuid?.() !== 0) return;
  try {
    const uid = Number(execFileSync('id', ['-u', 'rabbitmq']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'rabbitmq']).toString().trim());
    chownSync(dir, uid, gid);
  } catch {
    chmodSync(dir, 0o777);
  }
}

export async function startPrivateRabbitmq(options: PrivateRabbitmqOptions = {}): Promise<PrivateRabbitmq> {
  const dir = mkdtempSync(join(tmpdir(), 'asya-rabbitmq-'));
  // Debian's rabbitmq-server drops to the `rabbitmq` user when started as root: it must own the node's files.
  giveToBrokerUser(dir);
  const port = await freePort();
  // Erlang distribution needs a port of its own; take another free one rather than port + 20000.
  const distPort = await freePort();
  const nodeName = `asya-test-${port}@localhost`;
  const managementPort = options.management ? await freePort() : undefined;
  // The management plugin gets a port of its own: on 15672 it would fight the shared broker's.
  const management = managementPort ? [`management.tcp.ip = 127.0.0.1`, `management.tcp.port = ${managementPort}`] : [];
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [`listeners.tcp.default = 127.0.0.1:${port}`, 'loopback_users = none', ...management, ...(options.config ?? [])].join('\n') + '\n',
  );
  writeFileSync(join(dir, 'enabled_plugins'), managementPort ? '[rabbitmq_management].\n' : '[].\n');
  // The node and rabbitmqctl find the same Erlang cookie through HOME.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
  };
  let child: ChildProcess | undefined;
  let disposed = false;

  const ctl = async (...args: string[]) => {
    const { stdout } = await run('rabbitmqctl', ['-n', nodeName, ...args], { env, timeout: 60_000 });
    return stdout;
  };
  const vmPid = (): number | undefined => {
    const file = join(dir, 'rabbitmq.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };

  const start = async () => {
    rmSync(join(dir, 'rabbitmq.pid'), { force: true });
    // A process group of its own, so the script's children die with it and never with the test runner.
    const out = openSync(join(dir, 'server.log'), 'a');
    child = spawn('rabbitmq-server', [], { env, cwd: dir, stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    child.unref();
    await waitUntil(() => amqpAnswers(port), 120_000, `private RabbitMQ ${nodeName} answering AMQP on ${port}`);
  };

  const waitGone = async () => {
    await waitUntil(async () => !processAlive(vmPid()) && !(await amqpAnswers(port)), 60_000, `private RabbitMQ ${nodeName} exiting`);
  };

  const killGroup = () => signalGroup(child, 'SIGKILL');

  const broker: PrivateRabbitmq = {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    ...(managementPort ? { managementUrl: `http://127.0.0.1:${managementPort}` } : {}),
    nodeName,
    start,
    async stop() {
      await ctl('stop').catch(() => undefined);
      await waitGone().catch(() => killGroup());
    },
    async kill() {
      const pid = vmPid();
      if (pid !== undefined && processAlive(pid)) process.kill(pid, 'SIGKILL');
      killGroup();
      await waitGone();
    },
    ctl,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await broker.stop().catch(() => undefined);
      killGroup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (err) {
    await broker.dispose();
    throw err;
  }
  return broker;
}
