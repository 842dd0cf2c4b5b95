/**
 * Replication lag: `image.mirror.lag()` and `pool.mirror.lag()`, in the terms
 * of the csi-addons replication spec's GetVolumeReplicationInfo (lastSyncTime,
 * lastSyncDuration, lastSyncBytes) plus what journal mode lets us know
 * (entries and bytes behind, the time of the oldest unreplicated write).
 * Every field is read, never estimated: what cannot be known is null.
 *
 * Sources, per site:
 * - snapshot mode: the site status description rbd-mirror writes
 *   (`replaying, {"local_snapshot_timestamp":..., "last_snapshot_sync_seconds":...,
 *   "last_snapshot_bytes":...}`): lastSyncTime is when the last mirror snapshot
 *   the site holds was taken on the primary (as ceph-csi reports it). With a
 *   `peer` handle, lastSyncTime comes from the peer copy's own mirror
 *   snapshots instead (the newest complete non-primary one, and the primary
 *   snapshot it copies), which is not up to 30 s old as the status can be.
 * - journal mode, on the primary copy: the journal itself. The peer's
 *   rbd-mirror client commit position says what it has replayed (and made
 *   durable); the entries after it are read from the journal's data objects,
 *   each with its payload size and the time librbd made the event. When those
 *   entries cannot all be seen (the tails read do not reach back to the commit
 *   position), the status's entries_behind_primary is reported instead, and
 *   bytes and times stay null.
 *
 * `dataAsOf`: the site holds every write acknowledged before this time
 * (snapshot mode: lastSyncTime; journal mode: the oldest unreplicated write,
 * or the read time when nothing is behind). `lagMs` = read time − dataAsOf.
 */
import type { Image } from '../image/image';
import type { Pool } from '../pool/pool';
import { RbdError } from '../core/errors';
import { native } from '../core/native';
import { checkOptions } from '../core/validate';
import { isHandle } from '../core/resource';
import { EVENT_TYPE_AIO_FLUSH, decodeJournalTailDetail, type JournalEntryDetail } from './journal';
import type { JournalPosition, MirrorImageMode, MirrorSiteStatus, MirrorStatusState } from './status';
import { newestPosition, positionReached } from './wait';
import type { MirrorImageStatus } from './image-mirror';

/** Where a site's lag figures come from. */
export type MirrorLagSource = 'journal' | 'status' | 'peer-snapshot';

/** The lag figures of one site (GetVolumeReplicationInfo's, and journal mode's own). */
export interface MirrorLagFigures {
  /** Snapshot mode: when the last mirror snapshot this site holds was taken on the primary. */
  lastSyncTime: Date | null;
  /** Snapshot mode: how long that snapshot took to copy, in seconds (rbd-mirror's last_snapshot_sync_seconds). */
  lastSyncDuration: number | null;
  /** Snapshot mode: how many bytes that snapshot copied (rbd-mirror's last_snapshot_bytes). */
  lastSyncBytes: number | null;
  /** Journal mode: journal entries not yet replayed (and committed) by this site. */
  entriesBehind: number | null;
  /** Journal mode: the payload bytes of those entries. */
  bytesBehind: number | null;
  /** Journal mode: when the oldest write not yet replayed by this site was made (null when none is behind, or unknown). */
  oldestUnreplicatedWrite: Date | null;
  /** The site holds every write acknowledged before this time; null when unknown. */
  dataAsOf: Date | null;
  /** Read time − dataAsOf, in ms; null when unknown. */
  lagMs: number | null;
}

/** One site's lag: a peer site's when read on the primary, this site's own when read on a non-primary copy. */
export interface MirrorSiteLag extends MirrorLagFigures {
  /** The site's name ('' for the local site, or a peer the pool does not name). */
  siteName: string;
  /** The site's mirror uuid ('' for the local site). */
  mirrorUuid: string;
  /** Its replay state, as in the status. */
  state: MirrorStatusState;
  /** Whether its rbd-mirror is up. */
  up: boolean;
  /** When rbd-mirror last wrote the status read; null when it has not. */
  statusUpdated: Date | null;
  /** Where the figures come from; null when nothing was known. */
  source: MirrorLagSource | null;
}

/** An image's replication lag: per site, and the worst site's figures at the top level. */
export interface MirrorImageLag extends MirrorLagFigures {
  /** The image. */
  image: string;
  /** 'journal' or 'snapshot'. */
  mode: MirrorImageMode;
  /** Whether this copy is the primary one (sites are then its peers; else its own site). */
  primary: boolean;
  /** When the figures were read. */
  at: Date;
  /** Per site. The top-level figures are the worst site's: an unknown lag counts as the worst. */
  sites: MirrorSiteLag[];
}

/** A pool's replication lag: every mirrored image, and the worst. */
export interface PoolMirrorLag {
  /** When the read started. */
  at: Date;
  /** Every mirrored image of the pool (namespace), by name. */
  images: MirrorImageLag[];
  /** The image with the largest known lagMs; null when no image's lag is known. */
  worst: MirrorImageLag | null;
  /** Images whose lag is unknown (lagMs null): they may be worse than `worst`. */
  unknown: string[];
}

/** Options of `image.mirror.lag()`. */
export interface MirrorLagOptions {
  /**
   * Snapshot mode, on the primary: the same image opened on the peer cluster.
   * lastSyncTime then comes from its mirror snapshots (source 'peer-snapshot').
   */
  peer?: Image;
}

/** Options of `pool.mirror.lag()`. */
export interface PoolMirrorLagOptions {
  /** Snapshot mode: the same pool on the peer cluster, for lastSyncTime from the peer copies' mirror snapshots. */
  peer?: Pool;
  /** Images read at a time (default 4). */
  concurrency?: number;
}

/** How much of each journal object's end is read: as image.mirror.journalAppended() reads. */
const TAIL_BYTES = 256 * 1024;
/** Object sets read at most, from the peer's commit position to the active set. */
const MAX_SETS = 3;

const NONE: MirrorLagFigures = {
  lastSyncTime: null,
  lastSyncDuration: null,
  lastSyncBytes: null,
  entriesBehind: null,
  bytesBehind: null,
  oldestUnreplicatedWrite: null,
  dataAsOf: null,
  lagMs: null,
};

/** What the journal says about one peer client. */
export interface JournalLagFacts {
  entriesBehind: number;
  bytesBehind: number;
  oldestUnreplicatedWrite: Date | null;
  /** false when a write behind has no timestamp: then the oldest write's time is unknown. */
  timesKnown: boolean;
}

/**
 * The entries of `entries` after `committed`, when they are all there: per tag,
 * the entry tids after the commit position must run without a gap (from
 * committed.entryTid + 1 in its tag, from 0 in a later tag). null otherwise. Pure.
 */
export function journalBehind(entries: readonly JournalEntryDetail[], committed: JournalPosition): JournalLagFacts | null {
  const after = entries.filter((e) => !positionReached(committed, { tagTid: e.tagTid, entryTid: e.entryTid, objectNumber: 0 }));
  const byTag = new Map<number, number[]>();
  for (const e of after) byTag.set(e.tagTid, [...(byTag.get(e.tagTid) ?? []), e.entryTid]);
  for (const [tag, tids] of byTag) {
    const sorted = [...new Set(tids)].sort((a, b) => a - b);
    const first = tag === committed.tagTid ? committed.entryTid + 1 : 0;
    if (sorted[0] !== first || sorted[sorted.length - 1] !== first + sorted.length - 1) return null;
  }
  const writes = after.filter((e) => e.eventType !== EVENT_TYPE_AIO_FLUSH);
  const times = writes.map((e) => e.timestamp);
  const timesKnown = times.every((t) => t !== null);
  const oldest = timesKnown && times.length ? new Date(Math.min(...times.map((t) => (t as Date).getTime()))) : null;
  return {
    entriesBehind: after.length,
    bytesBehind: after.reduce((n, e) => n + e.dataLength, 0),
    oldestUnreplicatedWrite: oldest,
    timesKnown: timesKnown && !(writes.length > 0 && oldest === null),
  };
}

/** A site's figures from its status (and, when given, the journal's facts or the peer copy's last sync). Pure. */
export function siteLag(
  s: MirrorSiteStatus,
  mode: MirrorImageMode,
  at: Date,
  extra: { journal?: JournalLagFacts | null; lastSync?: Date | null } = {},
): MirrorSiteLag {
  const base = { siteName: s.siteName, mirrorUuid: s.mirrorUuid, state: s.state, up: s.up, statusUpdated: s.lastUpdate };
  const r = s.replay;
  const withLag = (f: MirrorLagFigures, source: MirrorLagSource | null): MirrorSiteLag => ({
    ...base,
    ...f,
    lagMs: f.dataAsOf === null ? null : Math.max(0, at.getTime() - f.dataAsOf.getTime()),
    source,
  });
  if (mode === 'snapshot') {
    const st = r?.kind === 'snapshot' ? r : null;
    const fromPeer = extra.lastSync ?? null;
    const lastSyncTime = fromPeer ?? st?.localSnapshotTimestamp ?? null;
    const f: MirrorLagFigures = {
      ...NONE,
      lastSyncTime,
      lastSyncDuration: st?.lastSnapshotSyncSeconds ?? null,
      lastSyncBytes: st?.lastSnapshotBytes ?? null,
      dataAsOf: lastSyncTime,
    };
    return withLag(f, fromPeer ? 'peer-snapshot' : st ? 'status' : null);
  }
  if (mode === 'journal') {
    const j = extra.journal;
    if (j) {
      const nothingBehind = j.oldestUnreplicatedWrite === null && j.timesKnown;
      const f: MirrorLagFigures = {
        ...NONE,
        entriesBehind: j.entriesBehind,
        bytesBehind: j.bytesBehind,
        oldestUnreplicatedWrite: j.oldestUnreplicatedWrite,
        dataAsOf: nothingBehind ? at : j.oldestUnreplicatedWrite,
      };
      return withLag(f, 'journal');
    }
    if (r?.kind === 'journal') {
      // rbd-mirror's count when it wrote the status: caught up then means every write up to then is there.
      const f: MirrorLagFigures = {
        ...NONE,
        entriesBehind: r.entriesBehindPrimary,
        dataAsOf: r.entriesBehindPrimary === 0 ? s.lastUpdate : null,
      };
      return withLag(f, 'status');
    }
  }
  return withLag(NONE, null);
}

/** The worst of the sites' figures: an unknown lag is the worst, then the largest. Pure. */
export function worstFigures(sites: readonly MirrorLagFigures[]): MirrorLagFigures {
  if (sites.length === 0) return NONE;
  const unknown = sites.find((s) => s.lagMs === null);
  const worst = unknown ?? sites.reduce((a, b) => ((b.lagMs as number) > (a.lagMs as number) ? b : a));
  const { lastSyncTime, lastSyncDuration, lastSyncBytes, entriesBehind, bytesBehind, oldestUnreplicatedWrite, dataAsOf, lagMs } = worst;
  return { lastSyncTime, lastSyncDuration, lastSyncBytes, entriesBehind, bytesBehind, oldestUnreplicatedWrite, dataAsOf, lagMs };
}

/** Journal facts per peer client id (mirror uuid) of the primary `image`; a client absent from the map is unknown. */
async function journalFacts(image: Image): Promise<Map<string, JournalLagFacts | null>> {
  const j = await image.mirror.journalStatus();
  const out = new Map<string, JournalLagFacts | null>();
  const poolId = Number(j.objectOidPrefix.split('.')[1]);
  const entriesOf = new Map<number, JournalEntryDetail[]>();
  const readSet = async (set: number): Promise<JournalEntryDetail[]> => {
    const cached = entriesOf.get(set);
    if (cached) return cached;
    const numbers = Array.from({ length: j.splayWidth }, (_, i) => set * j.splayWidth + i);
    const tails = await image._call('mirror.lag', (n) =>
      native().mirrorImage.journalTail(n, poolId, numbers.map((o) => `${j.objectOidPrefix}${o}`), TAIL_BYTES),
    );
    const entries = tails.flatMap((t) => (t.size < 0 ? [] : decodeJournalTailDetail(t.tail, t.size <= TAIL_BYTES)));
    entriesOf.set(set, entries);
    return entries;
  };
  for (const c of j.clients) {
    if (c.id === '') continue;
    const committed = newestPosition(c.commitPosition);
    if (c.state !== 'connected' || committed === null) {
      out.set(c.id, null);
      continue;
    }
    const from = Math.max(j.minimumSet, Math.floor(committed.objectNumber / j.splayWidth));
    if (j.activeSet - from >= MAX_SETS) {
      out.set(c.id, null);
      continue;
    }
    const entries: JournalEntryDetail[] = [];
    for (let set = from; set <= j.activeSet; set++) entries.push(...(await readSet(set)));
    out.set(c.id, journalBehind(entries, committed));
  }
  return out;
}

/** Snapshot mode: when the newest mirror snapshot the `peer` copy holds complete was taken on the primary `image`; null when unknown. */
async function peerLastSync(image: Image, peer: Image): Promise<{ uuid: string; time: Date | null }> {
  const uuid = await peer.pool.mirror.uuid();
  const ours = await image.pool.mirror.uuid().catch(() => '');
  // A fresh read-only handle: one opened read-only registers no header watch and may miss rbd-mirror's snapshots.
  const fresh = await peer.pool.openImage(peer.name, { readOnly: true });
  let newest: number | null = null;
  try {
    for (const s of await fresh.snapshots.list()) {
      const m = s.mirror;
      if (!m || !m.complete || m.primarySnapId === null) continue;
      if (m.state !== 'non-primary' && m.state !== 'non-primary-demoted') continue;
      if (ours !== '' && m.primaryMirrorUuid !== '' && m.primaryMirrorUuid !== ours) continue;
      if (newest === null || m.primarySnapId > newest) newest = m.primarySnapId;
    }
  } finally {
    await fresh.close();
  }
  if (newest === null) return { uuid, time: null };
  const primarySnap = (await image.snapshots.list()).find((s) => s.id === newest);
  return { uuid, time: primarySnap ? primarySnap.timestamp : null };
}

/** `image.mirror.lag()`: see the top of this file. */
export async function imageLag(image: Image, options?: MirrorLagOptions, known?: { status: MirrorImageStatus; mode: MirrorImageMode }): Promise<MirrorImageLag> {
  const o = checkOptions<MirrorLagOptions>(options);
  const peer = o.peer;
  if (peer !== undefined && !isHandle<Image>(peer, 'image')) {
    throw new TypeError('peer must be an Image (the same image opened on the peer cluster)');
  }
  const at = new Date();
  const status = known?.status ?? (await image.mirror.status());
  const mode = known?.mode ?? (await image.mirror.mode());
  const primary = status.info.primary;
  let sites: MirrorSiteLag[];
  if (!primary) {
    sites = status.local ? [siteLag(status.local, mode, at)] : [];
  } else {
    let journal = new Map<string, JournalLagFacts | null>();
    if (mode === 'journal') {
      journal = await journalFacts(image).catch((err: unknown) => {
        if (err instanceof RbdError) return new Map<string, JournalLagFacts | null>();
        throw err;
      });
    }
    let fromPeer: { uuid: string; time: Date | null } | null = null;
    if (mode === 'snapshot' && peer !== undefined) fromPeer = await peerLastSync(image, peer);
    sites = status.peers.map((s) =>
      siteLag(s, mode, at, {
        journal: journal.get(s.mirrorUuid),
        lastSync: fromPeer !== null && fromPeer.uuid === s.mirrorUuid ? fromPeer.time : null,
      }),
    );
  }
  return { image: image.name, mode, primary, at, ...worstFigures(sites), sites };
}

/** `pool.mirror.lag()`: every mirrored image's lag, and the worst. */
export async function poolLag(pool: Pool, options?: PoolMirrorLagOptions): Promise<PoolMirrorLag> {
  const o = checkOptions<PoolMirrorLagOptions>(options);
  const concurrency = o.concurrency === undefined ? 4 : o.concurrency;
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new RangeError('concurrency must be an integer from 1 to 64');
  }
  const peerPool = o.peer;
  if (peerPool !== undefined && !isHandle<Pool>(peerPool, 'pool')) {
    throw new TypeError('peer must be a Pool (the same pool on the peer cluster)');
  }
  const at = new Date();
  const status = await pool.mirror.status({ verbose: true });
  const modes = new Map((await pool.mirror.imageInfos()).map((i) => [i.id, i.mode]));
  const todo = [...(status.images ?? [])];
  const images: MirrorImageLag[] = [];
  const one = async (s: (typeof todo)[number]): Promise<MirrorImageLag> => {
    const mode = modes.get(s.id) ?? 'journal';
    const needsImage = s.info.primary && (mode === 'journal' || peerPool !== undefined);
    if (!needsImage) {
      const sites = s.info.primary ? s.peers.map((p) => siteLag(p, mode, at)) : s.local ? [siteLag(s.local, mode, at)] : [];
      return { image: s.name, mode, primary: s.info.primary, at, ...worstFigures(sites), sites };
    }
    const image = await pool.openImage(s.name, { readOnly: true });
    try {
      const peer = mode === 'snapshot' && peerPool ? await peerPool.openImage(s.name, { readOnly: true }).catch(() => undefined) : undefined;
      try {
        return await imageLag(image, peer ? { peer } : {}, { status: s, mode });
      } finally {
        await peer?.close();
      }
    } finally {
      await image.close();
    }
  };
  const workers = Array.from({ length: Math.min(concurrency, todo.length) }, async () => {
    for (let s = todo.shift(); s !== undefined; s = todo.shift()) {
      images.push(
        await one(s).catch((err: unknown) => {
          // the image went away (or is being re-created) between the listing and the read: its lag is unknown
          if (!(err instanceof RbdError)) throw err;
          return { image: s.name, mode: modes.get(s.id) ?? 'journal', primary: s.info.primary, at, ...NONE, sites: [] } as MirrorImageLag;
        }),
      );
    }
  });
  await Promise.all(workers);
  images.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
  const known = images.filter((i) => i.lagMs !== null);
  const worst = known.length ? known.reduce((a, b) => ((b.lagMs as number) > (a.lagMs as number) ? b : a)) : null;
  return { at, images, worst, unknown: images.filter((i) => i.lagMs === null).map((i) => i.image) };
}
