/**
 * Trash purge schedules: `rbd trash purge schedule add|remove|ls|status`. Like
 * mirror snapshot schedules (lib/mirror/schedules.ts) they live in the
 * manager's rbd_support module, not in librbd: these helpers send the commands
 * the rbd CLI sends, with a `level_spec` of `pool/` or `pool/ns/` (trash purge
 * schedules have no image level). A manager without rbd_support makes them
 * reject with MgrModuleUnavailable (cluster.mgrCommand). `pool.trash` exposes them.
 */
import type { Cluster } from '../cluster/cluster';
import { levelSpec } from '../mirror/schedules';

/** One schedule item: every `interval`, optionally anchored at `startTime`. */
export interface PurgeScheduleItem {
  /** As the manager normalises it: '30m', '2h', '1d'. */
  interval: string;
  /** The anchor time as the manager stores it, or null. */
  startTime: string | null;
}

/** The trash purge schedules set at one level (a row of `rbd trash purge schedule ls -R`). */
export interface PurgeScheduleLevel {
  /** The pool's name, or null for the cluster-wide level. */
  pool: string | null;
  /** The namespace ('' for the default one), or null when the level covers every namespace of the pool. */
  namespace: string | null;
  /** The schedules set at this level. */
  schedules: PurgeScheduleItem[];
}

/** A pool (namespace) waiting for its next scheduled purge (a row of `rbd trash purge schedule status`). */
export interface PurgeScheduleStatus {
  /** The next run as the manager reports it: 'YYYY-MM-DD HH:MM:00' (the manager's clock, UTC). */
  scheduleTime: string;
  /** The pool's name. */
  pool: string;
  /** The namespace ('' for the default one). */
  namespace: string;
}

const PREFIX = 'rbd trash purge schedule';

/** The level spec of a pool (namespace), as the CLI builds it. */
export function purgeLevelSpec(pool: string, namespace: string): string {
  return levelSpec(pool, namespace);
}

function parseJson(output: string, what: string): unknown {
  try {
    return JSON.parse(output) as unknown;
  } catch {
    throw new Error(`the manager answered ${what} with invalid JSON`);
  }
}

/** A level name as the manager reports it ('', 'p/', 'p/ns/'). */
function parseLevel(name: string): { pool: string | null; namespace: string | null } | null {
  if (name === '') return { pool: null, namespace: null };
  const m = /^([^/]+)\/(?:([^/]+)\/)?$/.exec(name);
  if (!m) return null;
  return { pool: m[1], namespace: m[2] ?? null };
}

export async function addPurgeSchedule(cluster: Cluster, spec: string, interval: string, startTime?: string): Promise<void> {
  await cluster.mgrCommand({
    prefix: `${PREFIX} add`,
    level_spec: spec,
    interval,
    ...(startTime !== undefined ? { start_time: startTime } : {}),
  });
}

export async function removePurgeSchedule(cluster: Cluster, spec: string, interval?: string, startTime?: string): Promise<void> {
  await cluster.mgrCommand({
    prefix: `${PREFIX} remove`,
    level_spec: spec,
    ...(interval !== undefined ? { interval } : {}),
    ...(startTime !== undefined ? { start_time: startTime } : {}),
  });
}

/** The levels the manager lists for `spec`; `recursive: false` keeps only `spec` itself (the CLI without -R). */
export async function listPurgeSchedules(cluster: Cluster, spec: string, recursive: boolean): Promise<PurgeScheduleLevel[]> {
  const r = await cluster.mgrCommand({ prefix: `${PREFIX} list`, level_spec: spec });
  const root = parseJson(r.output || '{}', 'trash purge schedule list');
  if (root === null || typeof root !== 'object') return [];
  const out: Array<PurgeScheduleLevel & { name: string }> = [];
  for (const v of Object.values(root as Record<string, unknown>)) {
    const entry = v as { name?: unknown; schedule?: unknown };
    if (typeof entry?.name !== 'string') continue;
    if (!recursive && entry.name !== spec) continue;
    const level = parseLevel(entry.name);
    if (!level) continue;
    const schedules = (Array.isArray(entry.schedule) ? entry.schedule : [])
      .filter((i): i is { interval: string; start_time?: unknown } => typeof (i as { interval?: unknown })?.interval === 'string')
      .map((i) => ({ interval: i.interval, startTime: typeof i.start_time === 'string' && i.start_time ? i.start_time : null }))
      .sort((a, b) => (a.interval + (a.startTime ?? '')).localeCompare(b.interval + (b.startTime ?? '')));
    out.push({ name: entry.name, ...level, schedules });
  }
  out.sort((a, b) => a.name.localeCompare(b.name));
  return out.map(({ name: _name, ...level }) => level);
}

export async function purgeScheduleStatus(cluster: Cluster, spec: string): Promise<PurgeScheduleStatus[]> {
  const r = await cluster.mgrCommand({ prefix: `${PREFIX} status`, level_spec: spec });
  const root = parseJson(r.output || '{}', 'trash purge schedule status') as { scheduled?: unknown };
  const rows = Array.isArray(root?.scheduled) ? root.scheduled : [];
  return rows
    .filter(
      (x): x is { schedule_time: string; pool_name: string; namespace?: unknown } =>
        typeof (x as { schedule_time?: unknown })?.schedule_time === 'string' &&
        typeof (x as { pool_name?: unknown })?.pool_name === 'string',
    )
    .map((x) => ({ scheduleTime: x.schedule_time, pool: x.pool_name, namespace: typeof x.namespace === 'string' ? x.namespace : '' }));
}
