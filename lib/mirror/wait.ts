/**
 * Waiting on mirroring: `image.mirror.waitForReplication()` and
 * `image.mirror.waitForState()`.
 *
 * rbd-mirror rewrites `rbd mirror image status` only every 30 s, so the wait
 * prefers fresher signals where there are some:
 *
 * - journal mode: the wait first flushes the image, which on the lock owner
 *   appends a flush event after every write acknowledged before the call
 *   (rbd-mirror commits a replayed write only once its replay flushes: without
 *   a flush event a write could stay uncommitted for good). The target is the
 *   newest flush event in the journal's data objects right after that flush
 *   (image.mirror.journalAppended()); replication is done when every peer's
 *   rbd-mirror client has committed up to it (positions compare by tag tid,
 *   then entry tid). rbd-mirror writes its commit position every
 *   `rbd_mirror_journal_commit_age` (5 s by default, 1 s in the lab), which
 *   bounds how soon after the data arrives the wait can see it.
 * - snapshot mode: a mirror snapshot is taken at the call; replication is done
 *   when the non-primary side reports (status description,
 *   `local_snapshot_timestamp`) that it has synced a snapshot at least that
 *   recent and is not syncing any more. The SDK does not expose the mirror
 *   snapshot namespace (primary snap id, complete flag), so this lags by up to
 *   the 30 s status period. A `peer` handle makes the status read come from
 *   the peer site's own status of its copy.
 */
import { constants } from 'node:os';
import { InvalidArgument, RbdError, Timeout, rbdError, type ErrorContext } from '../core/errors';
import { poll as corePoll, type PollGuard } from '../core/poll';
import type { Image } from '../image/image';
import type { MirrorImageStatus } from './image-mirror';
import { journalCaughtUp } from './journal-position';
import type { JournalPosition, MirrorSiteStatus, MirrorStatusState } from './status';
import type { MirrorSnapshotInfo } from '../image/snapshots';

// Their home is lib/core/poll.ts and lib/mirror/journal-position.ts; re-exported for the importers of this file.
export { AbortError } from '../core/poll';
export { journalCaughtUp, newestPosition, positionReached } from './journal-position';

const { ETIMEDOUT, EINVAL } = constants.errno;

/** The Timeout a wait rejects with: the last mirroring status seen (null when none could be read). */
export type MirrorWaitTimeout = Timeout & {
  /** The last mirroring status read before giving up, or null when none could be read. */
  lastStatus: MirrorImageStatus | null;
};

/** Bounds of `image.mirror.waitForReplication()` and `waitForState()`. */
export interface MirrorWaitOptions {
  /** Give up after this many ms (default 300000) with a Timeout (ETIMEDOUT) that carries `lastStatus`. */
  timeoutMs?: number;
  /** Aborting rejects the wait with an AbortError. */
  signal?: AbortSignal;
  /** How often to poll, in ms (default 1000; waitForReplication in journal mode: 250, a poll there being one read of the journal header). */
  pollMs?: number;
}

/** Options of `image.mirror.waitForReplication()`. */
export interface WaitForReplicationOptions extends MirrorWaitOptions {
  /**
   * The same image opened on the peer cluster. Optional: in snapshot mode the
   * wait then reads the peer copy's own mirror snapshots and resolves once one
   * is a complete non-primary copy of the snapshot taken at the call (source
   * 'peer-snapshot'); without it, the primary's mirroring status is read
   * (source 'status', which lags by up to rbd-mirror's status period).
   */
  peer?: Image;
}

/** What waitForState matches: every given field must hold. */
export interface MirrorStateMatch {
  /** This site's status state, e.g. 'replaying' (of a non-primary copy) or 'stopped' (a primary). */
  local?: MirrorStatusState;
  /** Every peer site's status state (and there is at least one peer status). */
  peer?: MirrorStatusState;
  /** Whether the sites named by `local`/`peer` (just the local one when neither is given) are up. */
  up?: boolean;
}

const DEFAULT_TIMEOUT = 300_000;
const DEFAULT_POLL = 1000;
/** Journal mode's default poll: a poll there is one small read of the journal header. */
const JOURNAL_POLL = 250;
const STATUS_ON_TIMEOUT_MS = 3000;

function context(image: Image, op: string): ErrorContext {
  const p = image.pool;
  return { op: `mirror.${op}`, cluster: p.cluster.name, pool: p.name, namespace: p.namespace, image: image.name };
}

function checkWaitOptions(options: unknown): { timeoutMs: number; pollMs: number; signal: AbortSignal | undefined } {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new TypeError('options must be an object');
  }
  const o = (options ?? {}) as MirrorWaitOptions;
  // undefined means the default; null is a mistake, not "no value".
  const timeoutMs = o.timeoutMs === undefined ? DEFAULT_TIMEOUT : o.timeoutMs;
  if (typeof timeoutMs !== 'number') throw new TypeError(`timeoutMs must be a number, got ${timeoutMs === null ? 'null' : typeof timeoutMs}`);
  if (!(timeoutMs >= 0)) throw new RangeError('timeoutMs must be a number >= 0');
  const pollMs = o.pollMs === undefined ? DEFAULT_POLL : o.pollMs;
  if (typeof pollMs !== 'number') throw new TypeError(`pollMs must be a number, got ${pollMs === null ? 'null' : typeof pollMs}`);
  if (!Number.isFinite(pollMs) || pollMs < 10) throw new RangeError('pollMs must be a number >= 10');
  const signal = o.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw new TypeError('signal must be an AbortSignal');
  }
  return { timeoutMs, pollMs, signal };
}

/** Whether `s` matches `m` (see MirrorStateMatch). Pure. */
export function matchesMirrorState(s: MirrorImageStatus, m: MirrorStateMatch): boolean {
  const sites: MirrorSiteStatus[] = [];
  if (m.local !== undefined) {
    if (s.local === null || s.local.state !== m.local) return false;
    sites.push(s.local);
  }
  if (m.peer !== undefined) {
    if (s.peers.length === 0 || !s.peers.every((p) => p.state === m.peer)) return false;
    sites.push(...s.peers);
  }
  if (m.up !== undefined) {
    if (m.local === undefined && m.peer === undefined) {
      if (s.local === null) return false;
      sites.push(s.local);
    }
    if (!sites.every((x) => x.up === m.up)) return false;
  }
  return true;
}

/**
 * The poll loop: `probe` runs every pollMs until it returns true; a timeout
 * rejects with MirrorWaitTimeout (lastStatus from `lastStatus()`), an abort with AbortError.
 * Everything, the set-up included, runs under the timeout and the signal (core poll's 'interrupt' mode).
 */
async function poll(
  image: Image,
  op: string,
  opts: { timeoutMs: number; pollMs: number; signal: AbortSignal | undefined },
  prepare: (guard: PollGuard) => Promise<() => Promise<boolean>>,
  lastStatus: () => MirrorImageStatus | null,
  what: string | (() => string),
  started = Date.now(),
): Promise<void> {
  const timeout = async (): Promise<MirrorWaitTimeout> => {
    const err = rbdError(ETIMEDOUT, context(image, op), `timed out after ${opts.timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`) as MirrorWaitTimeout;
    let status = lastStatus();
    if (status === null) {
      // Nothing seen yet (a very short timeout): one bounded read, so that the error says where things stand.
      let t: NodeJS.Timeout | undefined;
      status = await Promise.race([
        image.mirror.status().catch(() => null),
        new Promise<null>((r) => {
          t = setTimeout(() => r(null), STATUS_ON_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(t);
    }
    err.lastStatus = status;
    return err;
  };
  await corePoll<true>(
    {
      mode: 'interrupt',
      deadline: started + opts.timeoutMs,
      // Read when each pause starts: the journal wait's prepare step lowers the default.
      get pollMs() {
        return opts.pollMs;
      },
      signal: opts.signal,
      onTimeout: timeout,
    },
    async (guard) => {
      const probe = await prepare(guard);
      return async () => ((await probe()) ? true : undefined);
    },
  );
}

/** image.mirror.waitForState(). */
export async function waitForState(
  image: Image,
  match: ((s: MirrorImageStatus) => boolean) | MirrorStateMatch,
  options?: MirrorWaitOptions,
): Promise<MirrorImageStatus> {
  let pred: (s: MirrorImageStatus) => boolean;
  if (typeof match === 'function') pred = match;
  else if (match !== null && typeof match === 'object') pred = (s) => matchesMirrorState(s, match);
  else throw new TypeError('match must be a predicate or { local?, peer?, up? }');
  const opts = checkWaitOptions(options);
  let last: MirrorImageStatus | null = null;
  await poll(
    image,
    'waitForState',
    opts,
    async () => async () => {
      last = await image.mirror.status();
      return pred(last);
    },
    () => last,
    'the mirroring state',
  );
  return last as unknown as MirrorImageStatus;
}

/** What `image.mirror.waitForReplication()` resolves with: how completion was established. */
export interface ReplicationWaitResult {
  /** The image's mirroring mode. */
  mode: 'journal' | 'snapshot';
  /**
   * Where completion was read: 'journal' (every peer's rbd-mirror committed up
   * to the target in this image's journal), 'peer-snapshot' (the peer copy,
   * through `options.peer`, holds a complete non-primary copy of the mirror
   * snapshot taken at the call), 'status' (the mirroring status' description
   * says a snapshot at least that recent was synced; lags by up to
   * rbd-mirror's status period).
   */
  source: 'journal' | 'peer-snapshot' | 'status';
  /** Snapshot mode: the id of the primary mirror snapshot taken at the call; null in journal mode. */
  snapshotId: number | null;
  /** Journal mode: the journal position waited for (null: the journal held no entry); null in snapshot mode. */
  target: JournalPosition | null;
  /** How long the wait took, in ms. */
  elapsedMs: number;
}

/** image.mirror.waitForReplication(). */
export async function waitForReplication(image: Image, options?: WaitForReplicationOptions): Promise<ReplicationWaitResult> {
  const opts = checkWaitOptions(options);
  const peer = (options ?? {}).peer;
  // A Pool has a `mirror` too: look for what only an image's has.
  const peerMirror = (peer as { mirror?: { waitForReplication?: unknown } } | null | undefined)?.mirror;
  if (peer !== undefined && (peer === null || typeof peer !== 'object' || typeof peerMirror?.waitForReplication !== 'function')) {
    throw new TypeError('peer must be an Image');
  }
  const started = Date.now();
  const result: ReplicationWaitResult = { mode: 'journal', source: 'journal', snapshotId: null, target: null, elapsedMs: 0 };
  let last: MirrorImageStatus | null = null;
  const refresh = async (): Promise<MirrorImageStatus | null> => {
    try {
      last = await image.mirror.status();
    } catch (err) {
      if (!(err instanceof RbdError)) throw err;
    }
    return last;
  };
  let what = 'the peers to catch up';
  // Everything, the set-up included, runs under the timeout and the signal.
  const prepare = async (guard: PollGuard): Promise<() => Promise<boolean>> => {
    const info = await guard(image.mirror.info());
    if (info.state === 'disabled') {
      throw rbdError(EINVAL, context(image, 'waitForReplication'), 'mirroring is not enabled on the image') as InvalidArgument;
    }
    if (!info.primary) {
      throw rbdError(
        EINVAL,
        context(image, 'waitForReplication'),
        'the image is not primary: wait for replication on the primary copy (the one written to)',
      ) as InvalidArgument;
    }
    const mode = await guard(image.mirror.mode());
    if (mode === 'journal') {
      what = 'the peers to replay the journal up to the call';
      // rbd-mirror's replay makes a replayed write safe, and so commits its
      // position in this journal, only when its replay flushes: on a replayed
      // flush event, with 64 writes in flight, or on a 30 s task that is only
      // armed once some entry was committed. A write never followed by a flush
      // was seen never to be committed. A flush on this handle appends a
      // flush event after every write acknowledged on it (when it holds the
      // exclusive lock, as a handle that wrote does).
      await guard(image.flush());
      const [appended, lock] = await guard(Promise.all([image.mirror.journalAppended(), image.lockOwners()]));
      // The target: the newest flush event (ours or a later one), read from the journal's
      // data objects, not the master's commit position (written only every rbd_journal_commit_age).
      // Not the lock owner: our flush appended nothing; cover whatever was appended.
      const target = lock.isOwner ? (appended.newestFlush ?? appended.newest) : appended.newest;
      result.target = target;
      if ((options ?? {}).pollMs === undefined) opts.pollMs = JOURNAL_POLL;
      let refreshed = 0;
      return async () => {
        // The status (for a Timeout's lastStatus) at most once a second.
        const now = Date.now();
        const status = now - refreshed >= DEFAULT_POLL ? ((refreshed = now), refresh()) : Promise.resolve(last);
        const [j] = await Promise.all([image.mirror.journalStatus(), status]);
        return journalCaughtUp(j.clients, target);
      };
    }
    // Snapshot mode: a mirror snapshot taken now (librbd flushes the image first).
    result.mode = 'snapshot';
    if (peer !== undefined) {
      const snapId = await guard(image.mirror.createSnapshot());
      result.snapshotId = snapId;
      result.source = 'peer-snapshot';
      what = `the peer copy to hold a complete non-primary copy of mirror snapshot ${snapId}`;
      // The primary mirror uuid a non-primary snapshot names is this pool's mirror uuid.
      const ours = await guard(image.pool.mirror.uuid()).catch((err: unknown) => {
        if (err instanceof RbdError) return null;
        throw err;
      });
      return async () => {
        await refresh();
        // Through a fresh read-only handle: one opened read-only registers no header
        // watch, so the caller's handle may never see the snapshots rbd-mirror adds.
        const snaps = await (async () => {
          const fresh = await peer.pool.openImage(peer.name, { readOnly: true });
          try {
            return await fresh.snapshots.list();
          } finally {
            await fresh.close();
          }
        })().catch((err: unknown) => {
          if (err instanceof RbdError) return [];
          throw err;
        });
        return snaps.some((x) => copiesAtLeast(x.mirror, snapId, ours));
      };
    }
    // Without a peer handle: the status description. Its timestamps are whole seconds: ours must be
    // in a later second than any earlier mirror snapshot, or a synced earlier one would pass for it.
    result.source = 'status';
    const before = await guard(image.snapshots.list());
    const newest = Math.max(0, ...before.filter((s) => s.namespace === 'mirror').map((s) => s.timestamp.getTime()));
    const nextSecond = (Math.floor(newest / 1000) + 1) * 1000;
    if (Date.now() < nextSecond) await guard(new Promise((r) => setTimeout(r, nextSecond - Date.now() + 20)));
    const snapId = await guard(image.mirror.createSnapshot());
    result.snapshotId = snapId;
    what = `the peers to sync mirror snapshot ${snapId}`;
    const snap = (await guard(image.snapshots.list())).find((s) => s.id === snapId);
    const targetSec = Math.floor((snap?.timestamp.getTime() ?? started) / 1000);
    const synced = (s: MirrorSiteStatus): boolean => {
      const r = s.replay;
      if (r === null || r.kind !== 'snapshot' || r.localSnapshotTimestamp === null) return false;
      return Math.floor(r.localSnapshotTimestamp.getTime() / 1000) >= targetSec && r.replayState !== 'syncing';
    };
    return async () => {
      const s = await refresh();
      return s !== null && s.peers.length > 0 && s.peers.every(synced);
    };
  };
  await poll(image, 'waitForReplication', opts, prepare, () => last, () => what, started);
  result.elapsedMs = Date.now() - started;
  return result;
}

/**
 * Whether a peer copy's mirror snapshot is a complete non-primary copy of
 * primary snapshot `snapId` or a later one (of the primary whose pool mirror
 * uuid is `primaryUuid`, when known). Pure.
 */
export function copiesAtLeast(m: MirrorSnapshotInfo | undefined, snapId: number, primaryUuid: string | null): boolean {
  if (m === undefined || !m.complete || m.primarySnapId === null || m.primarySnapId < snapId) return false;
  if (m.state !== 'non-primary' && m.state !== 'non-primary-demoted') return false;
  return primaryUuid === null || primaryUuid === '' || m.primaryMirrorUuid === primaryUuid;
}

