/**
 * Mirror-snapshot schedules: `rbd mirror snapshot schedule ...`. They live in
 * the manager's rbd_support module, not in librbd; these helpers send the
 * commands the rbd CLI sends (`rbd mirror snapshot schedule add|remove|list|status`
 * with a `level_spec` of `pool/`, `pool/ns/`, `pool/image` or `pool/ns/image`).
 * `pool.mirror` exposes them.
 */
import type { Cluster } from '../cluster/cluster';
import { closedError } from '../core/errors';
import { checkBoolean, checkName, checkOptions, checkString } from '../core/validate';
import type { Pool } from '../pool/pool';

/** One schedule item: every `interval`, optionally anchored at `startTime`. */
export interface SnapshotScheduleItem {
  /** As the manager normalises it: '30m', '2h', '1d'. */
  interval: string;
  /** The anchor time as the manager stores it (ISO time of day, e.g. '14:00:00'), or null. */
  startTime: string | null;
}

/** The schedules set at one level (a row of `rbd mirror snapshot schedule ls -R`). */
export interface SnapshotScheduleLevel {
  /** The pool's name, or null for the cluster-wide level. */
  pool: string | null;
  /** The namespace ('' for the default one), or null when the level covers every namespace of the pool. */
  namespace: string | null;
  /** The image's name, or null for a pool or namespace level. */
  image: string | null;
  /** The schedules set at this level. */
  schedules: SnapshotScheduleItem[];
}

/** An image waiting for its next scheduled mirror snapshot (a row of `rbd mirror snapshot schedule status`). */
export interface SnapshotScheduleStatus {
  /** The next run as the manager reports it: 'YYYY-MM-DD HH:MM:00' (the manager's clock, UTC). */
  scheduleTime: string;
  /** The image spec: 'pool/image' or 'pool/ns/image'. */
  image: string;
}

const INTERVAL = /^\d+[dhm]?$/;

/** An interval as the manager accepts it: minutes, or a count of m / h / d. */
export function checkInterval(value: unknown): string {
  const s = checkName(value, 'interval');
  if (!INTERVAL.test(s) || /^0+[dhm]?$/.test(s)) {
    throw new RangeError(`interval must be a positive count of minutes, hours or days like '30m', '1h', '1d'`);
  }
  return s;
}

/** The manager's level spec for a pool (namespace) and optional image, as the CLI builds it. */
export function levelSpec(pool: string, namespace: string, image?: string): string {
  if (pool.includes('/')) throw new RangeError('pool name must not contain /');
  if (namespace.includes('/')) throw new RangeError('namespace must not contain /');
  if (image === undefined) return namespace ? `${pool}/${namespace}/` : `${pool}/`;
  checkName(image, 'image');
  if (image.includes('/') || image.includes('@')) throw new RangeError('image name must not contain / or @');
  return namespace ? `${pool}/${namespace}/${image}` : `${pool}/${image}`;
}

/** A level name as the manager reports it ('', 'p/', 'p/ns/', 'p/img', 'p/ns/img'), parsed as the CLI does. */
function parseLevelName(name: string): { pool: string | null; namespace: string | null; image: string | null } | null {
  const m = /^(?:([^/]+)\/(?:(?:([^/]+)\/|)(?:([^/@]+))?)?)?$/.exec(name);
  if (!m) return null;
  return {
    pool: m[1] ?? null,
    namespace: m[2] !== undefined ? m[2] : m[3] !== undefined ? '' : null,
    image: m[3] ?? null,
  };
}

function parseJson(output: string, what: string): unknown {
  try {
    return JSON.parse(output) as unknown;
  } catch {
    throw new Error(`the manager answered ${what} with invalid JSON`);
  }
}

function items(v: unknown): SnapshotScheduleItem[] {
  if (!Array.isArray(v)) return [];
  return v
    .filter((i): i is { interval: string; start_time?: unknown } => typeof (i as { interval?: unknown })?.interval === 'string')
    .map((i) => ({ interval: i.interval, startTime: typeof i.start_time === 'string' && i.start_time ? i.start_time : null }))
    .sort((a, b) => (a.interval + (a.startTime ?? '')).localeCompare(b.interval + (b.startTime ?? '')));
}

export async function addSchedule(cluster: Cluster, spec: string, interval: string, startTime?: string): Promise<void> {
  await cluster.mgrCommand({
    prefix: 'rbd mirror snapshot schedule add',
    level_spec: spec,
    interval,
    ...(startTime !== undefined ? { start_time: startTime } : {}),
  });
}

export async function removeSchedule(
  cluster: Cluster,
  spec: string,
  interval?: string,
  startTime?: string,
): Promise<void> {
  await cluster.mgrCommand({
    prefix: 'rbd mirror snapshot schedule remove',
    level_spec: spec,
    ...(interval !== undefined ? { interval } : {}),
    ...(startTime !== undefined ? { start_time: startTime } : {}),
  });
}

/**
 * The levels the manager lists for `spec` (that level, its nearest scheduled
 * parent and its children); `recursive: false` keeps only `spec` itself, as
 * `rbd mirror snapshot schedule ls` without -R does.
 */
export async function listSchedules(cluster: Cluster, spec: string, recursive: boolean): Promise<SnapshotScheduleLevel[]> {
  const r = await cluster.mgrCommand({ prefix: 'rbd mirror snapshot schedule list', level_spec: spec });
  const root = parseJson(r.output || '{}', 'schedule list');
  if (root === null || typeof root !== 'object') return [];
  const out: Array<SnapshotScheduleLevel & { name: string }> = [];
  for (const v of Object.values(root as Record<string, unknown>)) {
    const entry = v as { name?: unknown; schedule?: unknown };
    if (typeof entry?.name !== 'string') continue;
    if (!recursive && entry.name !== spec) continue;
    const level = parseLevelName(entry.name);
    if (!level) continue;
    out.push({ name: entry.name, ...level, schedules: items(entry.schedule) });
  }
  out.sort((a, b) => a.name.localeCompare(b.name));
  return out.map(({ name: _name, ...level }) => level);
}

export async function scheduleStatus(cluster: Cluster, spec: string): Promise<SnapshotScheduleStatus[]> {
  const r = await cluster.mgrCommand({ prefix: 'rbd mirror snapshot schedule status', level_spec: spec });
  const root = parseJson(r.output || '{}', 'schedule status') as { scheduled_images?: unknown };
  const rows = Array.isArray(root?.scheduled_images) ? root.scheduled_images : [];
  return rows
    .filter(
      (x): x is { schedule_time: string; image: string } =>
        typeof (x as { schedule_time?: unknown })?.schedule_time === 'string' &&
        typeof (x as { image?: unknown })?.image === 'string',
    )
    .map((x) => ({ scheduleTime: x.schedule_time, image: x.image }));
}

/** A start time as the CLI passes it on (the manager parses it; e.g. '14:00', '2020-01-01T14:00:00Z'). */
export function checkStartTime(value: unknown): string {
  return checkName(checkString(value, 'startTime'), 'startTime');
}

// ---- the pool-level calls (pool.mirror.addSnapshotSchedule() ...) ----------------------

/** Where a mirror snapshot schedule applies: the pool (namespace), or one image of it. */
export interface SnapshotScheduleOptions {
  /** An image of this pool instead of the whole pool (namespace). */
  image?: string;
  /** Anchor time, e.g. '14:00' or '2024-01-01T14:00:00+02:00' (the manager parses it). */
  startTime?: string;
}

/** The level spec of the pool (namespace), or of one of its images. */
function poolLevelSpec(pool: Pool, image: unknown): string {
  if (pool.closed) throw closedError({ op: 'mirror.snapshotSchedule', pool: pool.name }, 'pool');
  return levelSpec(pool.name, pool.namespace, image === undefined ? undefined : checkName(image, 'image'));
}

export async function addPoolSchedule(pool: Pool, interval: string, options?: SnapshotScheduleOptions): Promise<void> {
  const i = checkInterval(interval);
  const o = checkOptions<SnapshotScheduleOptions>(options);
  const start = o.startTime === undefined ? undefined : checkStartTime(o.startTime);
  await addSchedule(pool.cluster, poolLevelSpec(pool, o.image), i, start);
}

export async function removePoolSchedule(pool: Pool, interval?: string, options?: SnapshotScheduleOptions): Promise<void> {
  const i = interval === undefined ? undefined : checkInterval(interval);
  const o = checkOptions<SnapshotScheduleOptions>(options);
  if (o.startTime !== undefined && i === undefined) throw new TypeError('startTime needs an interval');
  const start = o.startTime === undefined ? undefined : checkStartTime(o.startTime);
  await removeSchedule(pool.cluster, poolLevelSpec(pool, o.image), i, start);
}

export async function listPoolSchedules(pool: Pool, options?: { image?: string; recursive?: boolean }): Promise<SnapshotScheduleLevel[]> {
  const o = checkOptions<{ image?: string; recursive?: boolean }>(options);
  const recursive = o.recursive === undefined ? false : checkBoolean(o.recursive, 'recursive');
  return listSchedules(pool.cluster, poolLevelSpec(pool, o.image), recursive);
}

export async function poolScheduleStatus(pool: Pool, options?: { image?: string }): Promise<SnapshotScheduleStatus[]> {
  const o = checkOptions<{ image?: string }>(options);
  return scheduleStatus(pool.cluster, poolLevelSpec(pool, o.image));
}
