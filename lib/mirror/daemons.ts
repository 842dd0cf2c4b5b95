/**
 * The pool's mirroring health, as `rbd mirror pool status [--verbose]`
 * works it out: image health from the images' status states, daemon health
 * from the monitors' service map (a port of the CLI's MirrorDaemonServiceInfo).
 */
import type { Cluster } from '../cluster/cluster';
import { checkBoolean, checkOptions } from '../core/validate';
import type { Pool } from '../pool/pool';
import { PAGE } from './pool-call';
import { globalStatusPages, summary, type MirrorPoolImageStatus } from './pool-status';
import type { MirrorStatusState } from './status';

/** Health as `rbd mirror pool status` reports it. */
export type MirrorHealth = 'OK' | 'UNKNOWN' | 'WARNING' | 'ERROR';

/** An rbd-mirror daemon of this cluster, as `rbd mirror pool status --verbose` lists it. */
export interface MirrorDaemon {
  /** The daemon's service id in the manager's service map. */
  serviceId: string;
  /** Its instance id for this pool ('' when it does not report the pool). */
  instanceId: string;
  /** Its daemon (client) id, e.g. 'site-a'. */
  clientId: string;
  /** The host it runs on. */
  hostname: string;
  /** Its Ceph version, e.g. '16.2.15'. */
  cephVersion: string;
  /** Whether it leads the pool's replayers. */
  leader: boolean;
  /** Its health for this pool. */
  health: MirrorHealth;
  /** The warnings and errors it reports (e.g. 'not reporting status'). */
  callouts: string[];
}

/** What `rbd mirror pool status [--verbose]` reports. */
export interface PoolMirrorStatus {
  /** The worse of daemonHealth and imageHealth. */
  health: MirrorHealth;
  /** The rbd-mirror daemons' health: WARNING without a running leader or with a daemon's warnings. */
  daemonHealth: MirrorHealth;
  /** The mirrored images' health, from their local status states. */
  imageHealth: MirrorHealth;
  /** Mirrored images by local status state, e.g. { replaying: 2 }. */
  states: Partial<Record<MirrorStatusState, number>>;
  /** With `verbose`: the rbd-mirror daemons. */
  daemons?: MirrorDaemon[];
  /** With `verbose`: every mirrored image, by name. */
  images?: MirrorPoolImageStatus[];
}

// Ordered as the CLI compares them: the worse one wins.
const HEALTH_ORDER: readonly MirrorHealth[] = ['OK', 'UNKNOWN', 'WARNING', 'ERROR'];

function worse(a: MirrorHealth, b: MirrorHealth): MirrorHealth {
  return HEALTH_ORDER.indexOf(a) >= HEALTH_ORDER.indexOf(b) ? a : b;
}

export async function poolStatus(pool: Pool, options?: { verbose?: boolean }): Promise<PoolMirrorStatus> {
  const o = checkOptions<{ verbose?: boolean }>(options);
  const verbose = o.verbose === undefined ? false : checkBoolean(o.verbose, 'verbose');
  const states = await summary(pool);
  let imageHealth: MirrorHealth = 'OK';
  for (const s of Object.keys(states)) {
    if (s !== 'replaying' && s !== 'stopped') imageHealth = worse(imageHealth, 'WARNING');
    if (s === 'error') imageHealth = 'ERROR';
  }
  const { health: daemonHealth, daemons } = await serviceDaemons(pool);
  const out: PoolMirrorStatus = { health: worse(imageHealth, daemonHealth), daemonHealth, imageHealth, states };
  if (verbose) {
    out.daemons = daemons;
    const images: MirrorPoolImageStatus[] = [];
    for await (const s of globalStatusPages(pool, PAGE)) images.push(s);
    out.images = images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return out;
}

/** The rbd-mirror daemons and their health for this pool, as the CLI's MirrorDaemonServiceInfo works them out. */
async function serviceDaemons(pool: Pool): Promise<{ health: MirrorHealth; daemons: MirrorDaemon[] }> {
  const cluster: Cluster = pool.cluster;
  const dump = JSON.parse((await cluster.monCommand({ prefix: 'service dump', format: 'json' })).output || '{}') as {
    services?: Record<string, { daemons?: Record<string, unknown> }>;
  };
  const services = new Map<string, MirrorDaemon>();
  for (const [id, d] of Object.entries(dump.services?.['rbd-mirror']?.daemons ?? {})) {
    const md = (d as { metadata?: Record<string, unknown> } | null)?.metadata;
    if (d === null || typeof d !== 'object' || !md) continue;
    const str = (v: unknown): string => (typeof v === 'string' ? v : '');
    services.set(id, {
      serviceId: id,
      instanceId: '',
      clientId: str(md.id),
      hostname: str(md.hostname),
      cephVersion: str(md.ceph_version_short),
      leader: false,
      health: 'UNKNOWN',
      callouts: [],
    });
  }
  if (services.size === 0) return { health: 'UNKNOWN', daemons: [] };
  const status = JSON.parse((await cluster.monCommand({ prefix: 'service status', format: 'json' })).output || '{}') as Record<
    string,
    Record<string, { status?: { json?: string } }>
  >;
  const poolId = String(pool.id());
  let foundPool = false;
  let foundLeader = false;
  for (const [id, d] of Object.entries(status['rbd-mirror'] ?? {})) {
    const svc = services.get(id);
    if (!svc) continue;
    const json = d?.status?.json;
    if (typeof json !== 'string') {
      svc.callouts.push('not reporting status');
      svc.health = 'WARNING';
      continue;
    }
    const perPool = (JSON.parse(json) as Record<string, unknown>)[poolId] as
      | { instance_id?: string; leader?: boolean; callouts?: Record<string, { level?: string; text?: string }> }
      | undefined;
    if (!perPool) {
      svc.callouts.push('not reporting status for pool');
      svc.health = 'WARNING';
      continue;
    }
    foundPool = true;
    if (typeof perPool.instance_id === 'string') svc.instanceId = perPool.instance_id;
    if (perPool.leader === true) {
      svc.leader = true;
      foundLeader = true;
    }
    let h: MirrorHealth = 'OK';
    for (const c of Object.values(perPool.callouts ?? {})) {
      if (c.level === 'error') h = 'ERROR';
      else if (c.level === 'warning') h = worse(h, 'WARNING');
      if (typeof c.text === 'string') svc.callouts.push(c.text);
    }
    svc.health = h;
  }
  let health: MirrorHealth = !foundPool ? 'ERROR' : !foundLeader ? 'WARNING' : 'OK';
  for (const s of services.values()) health = worse(health, s.health);
  return { health, daemons: [...services.values()] };
}
