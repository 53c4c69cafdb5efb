/**
 * CPU time by process group, read from /proc: what each tool call costs the load generator, the gateway,
 * PostgreSQL and RabbitMQ. On a machine whose cores all four share, the sum is what bounds calls per
 * second, so it shows where a gap to the baseline comes from even when a loaded machine moves the rates.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpuMs } from '../support.ts';

export type CpuGroups = Record<string, number>;

function commandOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Every live process whose command matches, summed; a process gone since the last reading is lost. */
function cpuOfCommand(pattern: RegExp): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || !pattern.test(commandOf(pid))) continue;
    try {
      total += cpuMs(Number(pid));
    } catch {
      // exited between the listing and the read
    }
  }
  return total;
}

export function readCpu(gatewayPid: number): CpuGroups {
  const self = process.cpuUsage();
  return {
    load: (self.user + self.system) / 1000,
    gateway: cpuMs(gatewayPid),
    postgres: cpuOfCommand(/^postgres/),
    rabbitmq: cpuOfCommand(/^beam/),
  };
}

export function cpuSince(before: CpuGroups, after: CpuGroups, calls: number): CpuGroups {
  return Object.fromEntries(Object.keys(before).map((k) => [k, ((after[k] as number) - (before[k] as number)) / calls]));
}
