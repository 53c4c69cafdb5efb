/**
 * Leader election on a coordination.k8s.io Lease, so that only one controller replica writes. A replica
 * takes the lease when it is free or its holder has not renewed it within leaseDurationSeconds, renews it
 * while it leads, and reports losing it (a renewal that fails for a whole lease duration) so the process can
 * stop writing. Updates go through replace with the resourceVersion read, so two replicas racing for an
 * expired lease cannot both win.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../protocol/index.ts';
import { sleep } from '../protocol/index.ts';
import { errorText } from '../protocol/errors.ts';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  /** How often the leader renews and a candidate retries. */
  retryPeriodMs: number;
}

export interface Election {
  /** Resolves when this replica becomes the leader. */
  readonly leading: Promise<void>;
  /** Resolves if leadership is lost after it was won. */
  readonly lost: Promise<void>;
  isLeader(): boolean;
  /** Stop campaigning; a leader gives the lease up so another replica takes over at once. */
  stop(): Promise<void>;
}

const code = (err: unknown) => (err as { code?: number }).code;

export function elect(config: k8s.KubeConfig, options: LeaderOptions, log: Logger): Election {
  const api = config.makeApiClient(k8s.CoordinationV1Api);
  const { namespace, name, identity } = options;
  let leader = false;
  let stopped = false;
  const abort = new AbortController();
  let won = () => {};
  let lose = () => {};
  const leading = new Promise<void>((resolve) => (won = resolve));
  const lost = new Promise<void>((resolve) => (lose = resolve));

  /** One attempt to hold the lease; true when this replica holds it afterwards. */
  async function tryHold(): Promise<boolean> {
    const now = new Date();
    let lease: k8s.V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (code(err) !== 404) throw err;
      const spec = { holderIdentity: identity, leaseDurationSeconds: options.leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 };
      await api.createNamespacedLease({ namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec } });
      return true;
    }
    const spec = lease.spec ?? {};
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? options.leaseDurationSeconds) * 1000 < now.getTime();
    const mine = spec.holderIdentity === identity;
    if (!mine && spec.holderIdentity && !expired) return false;
    const next = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: options.leaseDurationSeconds,
      renewTime: now,
      ...(mine ? {} : { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    await api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec: next } });
    return true;
  }

  void (async () => {
    let lastRenewal = 0;
    while (!stopped) {
      try {
        const holding = await tryHold();
        if (holding) lastRenewal = Date.now();
        if (holding && !leader) {
          leader = true;
          log.info(`leader election: ${identity} leads (Lease ${namespace}/${name})`);
          won();
        }
      } catch (err) {
        if (code(err) !== 409) log.warn(`leader election: ${errorText(err)}`);
      }
      if (leader && Date.now() - lastRenewal > options.leaseDurationSeconds * 1000) {
        leader = false;
        log.warn(`leader election: ${identity} could not renew Lease ${namespace}/${name}; stepping down`);
        lose();
        return;
      }
      await sleep(options.retryPeriodMs, abort.signal).catch(() => {});
    }
  })();

  return {
    leading,
    lost,
    isLeader: () => leader,
    async stop() {
      stopped = true;
      abort.abort();
      if (!leader) return;
      leader = false;
      try {
        const lease = await api.readNamespacedLease({ name, namespace });
        if (lease.spec?.holderIdentity === identity) {
          await api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: undefined } } });
        }
      } catch (err) {
        log.warn(`leader election: could not release Lease ${namespace}/${name}: ${errorText(err)}`);
      }
    },
  };
}
