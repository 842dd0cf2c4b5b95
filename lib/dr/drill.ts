/**
 * The DR drill: prove that the secondary site can take over, without stopping
 * production. `drill({ primary, secondary, image })`:
 *
 * 1. checks the copy on `secondary` is a non-primary mirrored copy that is
 *    replaying (refusals: MirroringNotEnabled, CopyIsPrimary, NoConsistentPoint);
 * 2. finds a consistent point on it:
 *    - snapshot mode: the newest complete non-primary mirror snapshot of the
 *      copy (what rbd-mirror last finished copying), which names the primary
 *      snapshot it copies;
 *    - journal mode: a user snapshot taken now on the primary
 *      (`xrbd-drill-<drill name>`), awaited until rbd-mirror has replayed it into
 *      the copy (journal replay creates it there at the same point of the
 *      write stream);
 * 3. copies the copy into a new, unmirrored, writable image on `secondary`
 *    (the drill image; features without journaling or non-primary);
 * 4. checks its sha256 against the primary at the point (the primary image
 *    opened at the primary snapshot) and keeps it only when they are equal.
 *
 * What is copied, snapshot mode: rbd-mirror creates a non-primary snapshot and
 * then copies that sync's data into the copy's head, so on 16.2 the newest
 * complete non-primary snapshot freezes the data of the primary's *previous*
 * mirror snapshot. The drill first copies the head (which holds the newest
 * sync's data while no other sync runs) and keeps it if it equals the primary
 * at the newest synced snapshot; else it copies the frozen snapshot and
 * compares it with the primary's previous mirror snapshot, then the newest.
 * A mismatch everywhere (a sync ran during the copy, the point was pruned) is
 * tried again from the newer point, at most MAX_ATTEMPTS times, then
 * DrillChecksumMismatch. Journal mode: the copy at the replayed drill snapshot.
 *
 * The caller then mounts/boots/tests the drill image (`handle.open()`), and
 * `handle.cleanup()` (or `await using`) removes it — and, in journal mode,
 * the drill snapshot on the primary (its removal replicates too). Nothing is
 * demoted or promoted, no daemon is touched, replication goes on throughout;
 * the only change to the primary is the journal-mode drill snapshot, which
 * the handle names (`point.snapshotName`, `point.createdOnPrimary`).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:os';

import { InvalidArgument, MirroringNotEnabled, RbdError, type ErrorContext } from '../core/errors';
import { sleep } from '../core/poll';
import { isHandle } from '../core/resource';
import { checkBoolean, checkInt, checkName, checkOptions } from '../core/validate';
import type { Image } from '../image/image';
import type { Pool } from '../pool/pool';
import type { MirrorImageMode } from '../mirror/status';
import type { SnapshotInfo } from '../image/snapshots';
import { withImage } from './copies';

const { EAGAIN, EINVAL, EIO, ETIMEDOUT } = constants.errno;

/** The copy on the secondary is the primary one: a drill runs on the non-primary copy (nothing is demoted for it). */
export class CopyIsPrimary extends InvalidArgument {}
/**
 * The non-primary copy has no consistent point to drill from yet: snapshot
 * mode, no complete non-primary mirror snapshot (the first sync is still
 * running); journal mode, the copy is not replaying (bootstrapping, syncing,
 * in error) or the drill snapshot did not arrive in time. EAGAIN: try again later.
 */
export class NoConsistentPoint extends RbdError {}
/** The drill image's sha256 differs from the primary's at the same point (the drill image was removed). EIO. */
export class DrillChecksumMismatch extends RbdError {
  /** sha256 of the drill image. */
  drill?: string;
  /** sha256 of the primary image at the point. */
  primary?: string;
}

/** Options of drill(). */
export interface DrillOptions {
  /** The pool on the site whose copy is primary (read for the checksum; journal mode: the drill snapshot is taken there). */
  primary: Pool;
  /** The pool on the site the drill runs on, where the copy is non-primary. The drill image is made here. */
  secondary: Pool;
  /** The mirrored image. */
  image: string;
  /** The drill image's name (default `<image>-drill-<time>`). */
  drillName?: string;
  /** Bound on finding the point (journal mode: the drill snapshot reaching the copy), in ms (default 120000). */
  timeoutMs?: number;
  /** Poll interval while waiting for the point, in ms (default 500). */
  pollMs?: number;
}

/** Where the drill image was made from. */
export interface DrillPoint {
  /** 'snapshot': the newest complete non-primary mirror snapshot; 'journal': a drill snapshot taken on the primary and replicated. */
  mode: MirrorImageMode;
  /**
   * What was copied: 'head', the copy's head while its newest mirror snapshot was complete (snapshot mode; the
   * freshest point, proven by the checksum), or 'snapshot', the copy at `snapshotId`.
   */
  source: 'head' | 'snapshot';
  /** The snapshot's id on the secondary copy (snapshot mode: its newest complete non-primary mirror snapshot). */
  snapshotId: number;
  /** Its name on the secondary copy. */
  snapshotName: string;
  /**
   * The snapshot of the primary whose data the drill image holds (its sha256 matched). Snapshot mode: on 16.2
   * the newest complete non-primary mirror snapshot freezes the copy as it was when that sync began — the data
   * of the primary's previous mirror snapshot; the sync's own data is in the copy's head. Both are tried.
   */
  primarySnapshotId: number;
  /** Snapshot mode: the primary snapshot the non-primary snapshot names (mirror.primarySnapId); journal mode: primarySnapshotId. */
  namedPrimarySnapshotId: number;
  /** When the primary took it: the drill image holds every write acknowledged on the primary before this. */
  timestamp: Date;
  /** Journal mode: the drill snapshot on the primary (removed by cleanup()); null in snapshot mode (nothing made on the primary). */
  createdOnPrimary: string | null;
}

/** A running drill: the drill image, where it came from, its checks, and its cleanup. */
export interface DrillHandle extends AsyncDisposable {
  /** The drill image's name, in `pool`. */
  readonly image: string;
  /** The secondary pool's name. */
  readonly pool: string;
  /** The secondary pool's RBD namespace ('' for the default one). */
  readonly namespace: string;
  /** `pool[/namespace]/image`, as rbd takes it. */
  readonly spec: string;
  /** The consistent point the drill image was made from. */
  readonly point: DrillPoint;
  /** The checksums compared (equal: the drill is refused otherwise). */
  readonly checksums: {
    /** sha256 of the drill image as made. */
    drill: string;
    /** sha256 of the primary at the same point. */
    primary: string;
    /** The bytes hashed. */
    size: number;
  };
  /** How long each step took. */
  readonly timings: {
    /** Finding (or, in journal mode, making and waiting for) the consistent point, in ms. */
    pointMs: number;
    /** Making the drill image, in ms. */
    copyMs: number;
    /** Hashing both sides, in ms. */
    verifyMs: number;
    /** The whole drill() call, in ms. */
    totalMs: number;
    /** Tries before the checksums agreed (snapshot mode may try the next point). */
    attempts: number;
  };
  /** Open the drill image (read-write by default) on the secondary pool. */
  open(options?: { readOnly?: boolean }): Promise<Image>;
  /** Remove the drill image, and in journal mode the drill snapshot on the primary. Idempotent. */
  cleanup(): Promise<void>;
}

const DEFAULT_TIMEOUT = 120_000;
const DEFAULT_POLL = 500;
const MAX_ATTEMPTS = 3;
/** The features a drill image keeps: never journaling (no mirroring in pool mode) nor non-primary. */
const DRILL_FEATURES = new Set(['layering', 'exclusive-lock', 'object-map', 'fast-diff', 'deep-flatten', 'striping']);

/** sha256 of every byte of the image (at the snapshot it was opened at). */
export async function imageSha256(image: Image): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of image.createReadStream()) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

function ctx(pool: Pool, image: string): ErrorContext {
  return { op: 'drill', cluster: pool.cluster.name, pool: pool.name, namespace: pool.namespace, image };
}

/** The newest complete non-primary mirror snapshot (by the primary snapshot it copies), or null. */
export function newestConsistent(snaps: readonly SnapshotInfo[]): SnapshotInfo | null {
  let best: SnapshotInfo | null = null;
  for (const s of snaps) {
    const m = s.mirror;
    if (!m || !m.complete || m.primarySnapId === null) continue;
    if (m.state !== 'non-primary' && m.state !== 'non-primary-demoted') continue;
    if (best === null || (m.primarySnapId as number) > (best.mirror?.primarySnapId as number)) best = s;
  }
  return best;
}

function checkDrillOptions(options: unknown): Required<Omit<DrillOptions, 'drillName'>> & { drillName: string } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options must be an object');
  const o = checkOptions<DrillOptions>(options);
  if (!isHandle<Pool>(o.primary, 'pool')) throw new TypeError('primary must be a Pool (the pool on the site whose copy is primary)');
  if (!isHandle<Pool>(o.secondary, 'pool')) throw new TypeError('secondary must be a Pool (the pool on the site the drill runs on)');
  const image = checkName(o.image, 'image');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const drillName = o.drillName === undefined ? `${image}-drill-${stamp}` : checkName(o.drillName, 'drillName');
  if (drillName === image) throw new RangeError('drillName must differ from the image name');
  return {
    primary: o.primary,
    secondary: o.secondary,
    image,
    drillName,
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_TIMEOUT : checkInt(o.timeoutMs, 'timeoutMs', 1, 2 ** 31 - 1),
    pollMs: o.pollMs === undefined ? DEFAULT_POLL : checkInt(o.pollMs, 'pollMs', 10, 600_000),
  };
}

/** The snapshots of the copy, through a fresh read-only handle (a long-lived one may miss rbd-mirror's). */
async function freshSnapshots(pool: Pool, name: string): Promise<SnapshotInfo[]> {
  return withImage(pool, name, (i) => i.snapshots.list(), { readOnly: true });
}

/**
 * Make a drill image on `secondary` from the newest consistent point of its
 * non-primary copy of `image`, verified against `primary`. See the top of this file.
 */
export async function drill(options: DrillOptions): Promise<DrillHandle> {
  const o = checkDrillOptions(options);
  const { primary, secondary, image: name, drillName } = o;
  if (primary.cluster.fsid() === secondary.cluster.fsid()) {
    throw new RangeError(`primary and secondary are pools of the same cluster (fsid ${primary.cluster.fsid()}): they must be on different sites`);
  }
  const t0 = Date.now();
  const c = ctx(secondary, name);
  // 1. the copy on the secondary: mirrored, non-primary, replaying
  const { mode, status } = await withImage(secondary, name, async (i) => {
    const inf = await i.mirror.info();
    if (inf.state === 'disabled') {
      throw new MirroringNotEnabled(EINVAL, c, `mirroring is not enabled on the image: nothing to drill on`, 'rbd_mirror_image_get_info');
    }
    if (inf.primary) {
      throw new CopyIsPrimary(EINVAL, c, `the copy on this site is primary: a drill runs on the non-primary (secondary) copy, and demotes nothing`);
    }
    return { mode: await i.mirror.mode(), status: await i.mirror.status() };
  }, { readOnly: true });
  const l = status.local;
  if (!l || !l.up || l.state !== 'replaying') {
    throw new NoConsistentPoint(
      EAGAIN,
      c,
      `the copy is not replaying (${l ? `${l.up ? 'up' : 'down'}+${l.state}: ${l.description}` : 'no status'}): no consistent point to drill from yet`,
    );
  }
  const made: { snapshot: string | null } = { snapshot: null };
  const timings = { pointMs: 0, copyMs: 0, verifyMs: 0, totalMs: 0, attempts: 0 };
  const tried: string[] = [];
  try {
    for (;;) {
      timings.attempts++;
      const tp = Date.now();
      const found = mode === 'journal' ? await journalPoint(o, c, made) : await snapshotPoint(o, c);
      timings.pointMs += Date.now() - tp;
      // Snapshot mode: first the copy's head while the newest mirror snapshot is complete (it holds that sync's
      // data; a sync starting meanwhile shows as a mismatch), then the frozen snapshot. Journal mode: the snapshot.
      const sources: Array<{ from: 'head' | 'snapshot'; candidates: SnapshotInfo[] }> = [];
      const named = found.candidates.find((x) => x.id === found.point.namedPrimarySnapshotId);
      if (mode === 'snapshot' && named) sources.push({ from: 'head', candidates: [named] });
      sources.push({ from: 'snapshot', candidates: found.candidates });
      for (const src of sources) {
        const r = await copyAndVerify(o, c, src.from === 'head' ? undefined : found.point.snapshotId, src.candidates, timings, tried);
        if (r !== null) {
          const p: DrillPoint = {
            ...found.point,
            source: src.from,
            primarySnapshotId: r.snap.id,
            timestamp: r.snap.timestamp,
          };
          timings.totalMs = Date.now() - t0;
          return handle(o, p, { drill: r.sha256, primary: r.sha256, size: r.size }, timings, made);
        }
      }
      // snapshot mode: rbd-mirror moved on while we copied (a new sync, the point pruned): again from the newer point
      if (mode !== 'snapshot' || timings.attempts >= MAX_ATTEMPTS) {
        const e = new DrillChecksumMismatch(
          EIO,
          c,
          `the drill image matched the primary at no point tried (${tried.join('; ')}); no drill image was left`,
        );
        throw e;
      }
      await sleep(o.pollMs, undefined);
    }
  } catch (err) {
    await secondary.removeImage(drillName).catch(() => undefined);
    if (made.snapshot !== null) {
      const snap = made.snapshot;
      await withImage(primary, name, (i) => i.snapshots.remove(snap)).catch(() => undefined);
    }
    throw err;
  }
}

/**
 * Copy the secondary copy (its head, or at `snapshotId`) into the drill image and compare its sha256 with the
 * primary at each candidate snapshot: the first match, or null (the drill image removed again).
 */
async function copyAndVerify(
  o: ReturnType<typeof checkDrillOptions>,
  c: ErrorContext,
  snapshotId: number | undefined,
  candidates: readonly SnapshotInfo[],
  timings: DrillHandle['timings'],
  tried: string[],
): Promise<{ snap: SnapshotInfo; sha256: string; size: number } | null> {
  const { secondary, primary, image: name, drillName } = o;
  const tc = Date.now();
  try {
    await withImage(secondary, name, async (src) => {
      const st = await src.stat();
      const features = st.features.filter((f) => DRILL_FEATURES.has(f)) as string[];
      if (features.includes('fast-diff') && !features.includes('object-map')) features.splice(features.indexOf('fast-diff'), 1);
      await src.copy(secondary, drillName, { features, order: st.order });
    }, snapshotId === undefined ? { readOnly: true } : { snapshotId });
  } catch (err) {
    await secondary.removeImage(drillName).catch(() => undefined);
    // the point was pruned while we read it: not this one
    if (err instanceof RbdError && err.code === 'ENOENT' && snapshotId !== undefined) {
      tried.push(`snapshot ${snapshotId} of the copy: gone while copied`);
      return null;
    }
    throw err;
  } finally {
    timings.copyMs += Date.now() - tc;
  }
  const tv = Date.now();
  try {
    const d = await withImage(secondary, drillName, imageSha256, { readOnly: true });
    for (const snap of candidates) {
      const pr = await withImage(primary, name, imageSha256, { snapshotId: snap.id }).catch((err: unknown) => {
        if (err instanceof RbdError && err.code === 'ENOENT') return null; // pruned meanwhile
        throw err;
      });
      const from = snapshotId === undefined ? 'head' : `snapshot ${snapshotId}`;
      if (pr === null) {
        tried.push(`${from} vs primary snapshot ${snap.id}: gone`);
        continue;
      }
      tried.push(`${from} (sha256 ${d.sha256}) vs primary snapshot ${snap.id} (sha256 ${pr.sha256})`);
      if (pr.sha256 === d.sha256 && pr.size === d.size) return { snap, sha256: d.sha256, size: d.size };
    }
    await secondary.removeImage(drillName);
    return null;
  } finally {
    timings.verifyMs += Date.now() - tv;
  }
}

/** A point to copy from, and the primary snapshots its data may match (tried in order). */
interface Candidate {
  point: Omit<DrillPoint, 'primarySnapshotId' | 'timestamp' | 'source'>;
  candidates: SnapshotInfo[];
}

/**
 * Snapshot mode: the newest complete non-primary mirror snapshot of the copy. Its data is the primary's at the
 * mirror snapshot before the one it names (16.2: rbd-mirror creates the non-primary snapshot, then copies the
 * sync's data into the head), or at the one it names: both are candidates, the previous one first.
 */
async function snapshotPoint(o: ReturnType<typeof checkDrillOptions>, c: ErrorContext): Promise<Candidate> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const best = newestConsistent(await freshSnapshots(o.secondary, o.image));
    if (best === null) {
      throw new NoConsistentPoint(
        EAGAIN,
        c,
        'the copy holds no complete non-primary mirror snapshot yet (its first sync is not done): no consistent point to drill from yet',
      );
    }
    const named = best.mirror?.primarySnapId as number;
    const mirrorSnaps = (await withImage(o.primary, o.image, (i) => i.snapshots.list(), { readOnly: true })).filter(
      (s) => s.namespace === 'mirror' && s.id <= named,
    );
    const exact = mirrorSnaps.find((s) => s.id === named);
    const previous = mirrorSnaps.filter((s) => s.id < named).sort((x, y) => y.id - x.id)[0];
    const candidates = [previous, exact].filter((s): s is SnapshotInfo => s !== undefined);
    if (candidates.length) {
      return {
        point: { mode: 'snapshot', snapshotId: best.id, snapshotName: best.name, namedPrimarySnapshotId: named, createdOnPrimary: null },
        candidates,
      };
    }
    // The primary pruned them: a newer mirror snapshot is being synced; wait for it.
    if (Date.now() + o.pollMs > deadline) {
      throw new NoConsistentPoint(
        EAGAIN,
        c,
        `the mirror snapshots the copy's newest complete one stands for (primary snapshot ${named} and the one before) are gone from the primary, and no newer one completed in ${o.timeoutMs} ms`,
      );
    }
    await sleep(o.pollMs, undefined);
  }
}

/** Journal mode: a drill snapshot on the primary, awaited on the copy. */
async function journalPoint(o: ReturnType<typeof checkDrillOptions>, c: ErrorContext, made: { snapshot: string | null }): Promise<Candidate> {
  const snapName = `xrbd-drill-${o.drillName}`;
  const primarySnap = await withImage(o.primary, o.image, async (i) => {
    if (!(await i.mirror.info()).primary) {
      throw new InvalidArgument(EINVAL, { ...c, cluster: o.primary.cluster.name, pool: o.primary.name }, 'the copy given as primary is not primary');
    }
    await i.snapshots.create(snapName);
    made.snapshot = snapName;
    return (await i.snapshots.list()).find((s) => s.name === snapName) as SnapshotInfo;
  });
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const here = (await freshSnapshots(o.secondary, o.image)).find((s) => s.name === snapName);
    if (here) {
      return {
        point: { mode: 'journal', snapshotId: here.id, snapshotName: snapName, namedPrimarySnapshotId: primarySnap.id, createdOnPrimary: snapName },
        candidates: [primarySnap],
      };
    }
    if (Date.now() + o.pollMs > deadline) {
      throw new NoConsistentPoint(ETIMEDOUT, c, `the drill snapshot ${snapName} taken on the primary has not been replayed into the copy in ${o.timeoutMs} ms`);
    }
    await sleep(o.pollMs, undefined);
  }
}

function handle(
  o: ReturnType<typeof checkDrillOptions>,
  point: DrillPoint,
  checksums: DrillHandle['checksums'],
  timings: DrillHandle['timings'],
  made: { snapshot: string | null },
): DrillHandle {
  const { secondary, primary, drillName } = o;
  let cleaned: Promise<void> | null = null;
  const cleanup = (): Promise<void> =>
    (cleaned ??= (async () => {
      await secondary.removeImage(drillName).catch((err: unknown) => {
        if (!(err instanceof RbdError && err.code === 'ENOENT')) throw err;
      });
      const snap = made.snapshot;
      if (snap !== null) {
        await withImage(primary, o.image, (i) => i.snapshots.remove(snap)).catch((err: unknown) => {
          if (!(err instanceof RbdError && err.code === 'ENOENT')) throw err;
        });
        made.snapshot = null;
      }
    })().catch((err: unknown) => {
      cleaned = null; // let a later call try again
      throw err;
    }));
  return {
    image: drillName,
    pool: secondary.name,
    namespace: secondary.namespace,
    spec: [secondary.name, secondary.namespace || undefined, drillName].filter((x) => x !== undefined).join('/'),
    point,
    checksums,
    timings,
    open: (opts?: { readOnly?: boolean }) => {
      const ro = checkOptions<{ readOnly?: boolean }>(opts).readOnly;
      return secondary.openImage(drillName, { readOnly: ro === undefined ? false : checkBoolean(ro, 'readOnly') });
    },
    cleanup,
    [Symbol.asyncDispose]: cleanup,
  };
}
