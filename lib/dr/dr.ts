/**
 * Disaster recovery over two sites: `failover()` and `failback()`.
 *
 * The rbd docs leave this to "an external mechanism" and Cinder's RBD driver
 * has no failback; this module is that mechanism, written against two Pool
 * handles (one per site, same pool name usually) and a list of images (or
 * every mirrored image of the pool).
 *
 * Every call starts by reading where each image stands on both sites and
 * derives what is left to do from that alone, so a call that was interrupted
 * (process killed, site lost, timeout) is finished by running the same call
 * again: nothing is remembered between calls. Each image gets a report: its
 * state on both sites before and after, every action taken, the outcome, and
 * for an image left unfinished the error and what to do next.
 *
 * Planned failover (`mode: 'planned'`), per image:
 *   demote the primary copy on `from` → promote the copy on `to` without
 *   force, retried until librbd accepts it. A non-forced promote succeeds only
 *   once rbd-mirror on `to` has replayed everything up to the demotion (journal
 *   mode: the demotion tag; snapshot mode: the demotion mirror snapshot), so a
 *   successful promote is the proof that no acknowledged write was left
 *   behind. Then verify: `to` primary, `from` non-primary.
 * Forced failover (`mode: 'forced'`): promote `to` with force and never wait
 *   for `from`, which may be gone (pass `from: null`). Journal mode: then wait
 *   until rbd-mirror on `to` has stopped replaying the copy — a promote that
 *   lands while it is still bootstrapping the copy can be overrun (20.2), the
 *   copy non-primary again, and is then made again; with no live rbd-mirror
 *   on `to` reporting the copy the promote stands after a settle time. If
 *   `from` comes back its copies are still primary: a split brain, which
 *   failback() repairs.
 * Failback (`failback({ from, to })`, `to` being the site that regains the
 *   primary role): a copy on `to` that is stale — still primary next to the
 *   primary on `from` (after a forced failover), or reported by rbd-mirror as
 *   split-brain — is demoted and resynced from `from`, the resync awaited,
 *   then the primary role moves back as in a planned failover. A resync throws
 *   away the stale copy's data, so it is done ONLY for images the caller named
 *   in `images` (ceph-csi lost data to an automatic resync after a spurious
 *   split-brain report); an unnamed stale image is left as it is and reported.
 */
import { constants } from 'node:os';

import { MirroringNotEnabled, RbdError, Timeout } from '../core/errors';
import type { Image } from '../image/image';
import type { MirrorImageStatus } from '../mirror/image-mirror';
import type { JournalClient } from '../mirror/journal';
import type { JournalPosition } from '../mirror/status';
import { AbortError } from '../core/poll';
import { journalCaughtUp, newestPosition } from '../mirror/journal-position';
import type { Pool } from '../pool/pool';
import { checkInt, checkOptions } from '../core/validate';

const { EBUSY, EINVAL, EAGAIN, ENOENT, EROFS, ETIMEDOUT } = constants.errno;

/**
 * What a non-forced promote answers while the copy has not replayed the
 * peer's demotion yet: EBUSY (journal mode), EINVAL or EROFS (snapshot mode:
 * the demotion snapshot is not copied yet / rbd-mirror still holds the image),
 * EAGAIN, ENOENT (re-created by a resync). Retried until the deadline.
 */
const NOT_YET = new Set([EBUSY, EINVAL, EAGAIN, ENOENT, EROFS]);

/**
 * Journal mode, after a demote: how long the peer's rbd-mirror may report
 * "remote image is not primary" while short of the demotion before the demote
 * is undone (it commits every rbd_journal_commit_age = 5 s, and its status
 * can lag a poll or two behind).
 */
const STALL_MS = 20_000;
/** How many times one call undoes a demote and starts the move over. */
const MAX_UNDO = 3;
/** Journal mode: how many times one forced failover promotes a copy again that rbd-mirror took back. */
const MAX_FORCE_AGAIN = 3;
/**
 * Journal mode, after a forced promote: how long a copy that no live
 * rbd-mirror reports (its daemon down, or not started on the copy yet) is
 * watched before the promote stands.
 */
const SETTLE_MS = 15_000;
/**
 * Journal mode, after a forced promote: how long rbd-mirror must report
 * `stopping_replay` (it has seen the promotion and is shutting its replayer
 * down) while the copy stays primary before the promote stands. With the old
 * site gone rbd-mirror can stay in that state for good (seen in the DR demo's
 * site-loss step on 16.2: the replayer never finishes stopping against a
 * cluster that does not answer).
 */
const STOPPING_SETTLE_MS = 3_000;

/** "target T/E; peers connected at T/E, ..." for messages. */
function positions(clients: readonly JournalClient[], target: JournalPosition | null): string {
  const at = (p: JournalPosition | null): string => (p ? `${p.tagTid}/${p.entryTid}` : 'nothing');
  const peers = clients.filter((x) => x.id !== '').map((x) => `${x.state} at ${at(newestPosition(x.commitPosition))}`);
  return `target ${target ? at(target) : 'none'}; peers ${peers.length ? peers.join(', ') : 'none registered'}`;
}

/** The image's journal on `pool`: its clients, and the newest position of its own (master) client. */
async function journalOf(pool: Pool, name: string): Promise<{ clients: JournalClient[]; master: JournalPosition | null }> {
  const j = await withImage(pool, name, (image) => image.mirror.journalStatus());
  const m = j.clients.find((x) => x.id === '');
  return { clients: j.clients, master: m ? newestPosition(m.commitPosition) : null };
}

/** Where one copy of an image stands. */
export type DrCopyState =
  /** The writable copy. */
  | 'primary'
  /** A replica (rbd-mirror replays into it). */
  | 'non-primary'
  /** The image exists there but mirroring is disabled for it. */
  | 'not-mirrored'
  /** No image of that name on that site. */
  | 'missing'
  /** The site could not be asked (the error is in the image report). */
  | 'unreachable'
  /** Not looked at: a forced failover given no `from` site. */
  | 'unknown';

/** 'planned': demote, wait for the peer, promote; 'forced': promote with force, without waiting for the old site. */
export type FailoverMode = 'planned' | 'forced';

/** One step taken for an image. */
export interface DrAction {
  /** What was done (await-* steps are waits on rbd-mirror). */
  step:
    | 'demote'
    | 'promote'
    | 'force-promote'
    /**
     * Journal mode: rbd-mirror on the site took the force-promoted copy back (it read non-primary again: the promote
     * landed while rbd-mirror was bootstrapping the copy), so it was promoted with force again.
     */
    | 'force-promote-again'
    | 'resync'
    /**
     * Before a demote: until rbd-mirror on the other site reports the copy there up and replaying and, in journal
     * mode, has committed the primary's journal up to where it was when the wait began.
     */
    | 'await-replaying'
    /** Journal mode, after a demote: until the other site's rbd-mirror has committed the journal up to the demotion. */
    | 'await-demotion'
    /**
     * Journal mode: the other site's rbd-mirror stopped short of the demotion ("remote image is not primary") and
     * would never replay the rest, so the demoted copy was promoted again (it holds every write) and the move retried.
     */
    | 'undo-demote'
    /**
     * Journal mode, after a forced promote: until rbd-mirror on the site reports its replayer of the copy stopped
     * (or, with no live rbd-mirror reporting the copy, a settle time).
     */
    | 'await-promotion'
    /** Before a promote: until the copy has replayed the other site's demotion (librbd accepts the promote). */
    | 'await-peer'
    /** After a resync: until rbd-mirror has re-created the copy (new image id) and replays it. */
    | 'await-resync'
    /** After a resync: until the re-created copy has caught up with the primary. */
    | 'await-replication';
  /** The site acted on (its mirroring site name). */
  site: string;
  /** How long the step took. */
  ms: number;
}

/** Progress of a failover/failback, one event per step started or finished. */
export interface DrEvent {
  /** The image the event is about. */
  image: string;
  /** The step started ('inspect', an action's step) or the image's end ('verify', 'done', 'failed'). */
  phase: 'inspect' | DrAction['step'] | 'verify' | 'done' | 'failed';
  /** The site acted on, when the step acts on one. */
  site?: string;
  /** One human-readable line. */
  message: string;
}

/** What failover()/failback() did for one image, and where it left it. */
export interface DrImageReport {
  /** The image name. */
  image: string;
  /**
   * 'done': the primary role is where the call wanted it, after this call acted;
   * 'already': it already was, nothing was done;
   * 'failed': the image is left as `after` says, `error` and `hint` say why and what next.
   */
  outcome: 'done' | 'already' | 'failed';
  /** Where each copy stood when the call started. */
  before: {
    /** The copy on the `from` site. */
    from: DrCopyState;
    /** The copy on the `to` site. */
    to: DrCopyState;
  };
  /** Where each copy stands now (read again at the end, whatever the outcome). */
  after: {
    /** The copy on the `from` site. */
    from: DrCopyState;
    /** The copy on the `to` site. */
    to: DrCopyState;
  };
  /** Every step taken, in order. */
  actions: DrAction[];
  /** Why the image failed (an RbdError, a Timeout, a MirrorStateError, an AbortError). */
  error?: Error;
  /** What to do about a failed image (or a note about a done one, e.g. a split brain left on `from`). */
  hint?: string;
  /** Time spent on this image. */
  ms: number;
}

/** What failover()/failback() resolve with. */
export interface DrReport {
  /** Which call made the report. */
  operation: 'failover' | 'failback';
  /** 'planned' or 'forced' (a failback is always planned). */
  mode: FailoverMode;
  /** Site names (the pools' mirroring site names); null for a forced failover without a `from` pool. */
  from: string | null;
  /** The site name of the `to` pool. */
  to: string;
  /** Every image 'done' or 'already'. */
  ok: boolean;
  /** One report per image, in name order. */
  images: DrImageReport[];
  /** Time spent in the call. */
  ms: number;
}

interface DrCommonOptions {
  /**
   * Images to act on, by name. Default: every mirrored image found on either
   * site. Only named images are ever resynced.
   */
  images?: readonly string[];
  /** Bound for each image's waits (peer replay, resync), in ms (default 300000). */
  timeoutMs?: number;
  /** How often waits poll, in ms (default 1000). */
  pollMs?: number;
  /** Images handled at a time (default 4). */
  concurrency?: number;
  /** Aborting stops every image at its next step; each is reported as it was left. */
  signal?: AbortSignal;
  /** Progress callback (exceptions it throws are ignored). */
  onEvent?: (event: DrEvent) => void;
}

/** Options of failover(). */
export interface FailoverOptions extends DrCommonOptions {
  /** How to move the primary role, see FailoverMode. */
  mode: FailoverMode;
  /**
   * The pool on the site giving up the primary role. Required for a planned
   * failover; for a forced one, pass it when the site answers (its state is
   * then reported) or null when it is lost.
   */
  from?: Pool | null;
  /** The pool on the site taking the primary role. */
  to: Pool;
}

/** Options of failback(). */
export interface FailbackOptions extends DrCommonOptions {
  /** The pool on the site that holds the primary role now (the one failed over to). */
  from: Pool;
  /** The pool on the site that gets the primary role back. */
  to: Pool;
}

/**
 * An image whose copies are in a state the operation cannot go on from (split
 * brain, a missing or unmirrored copy, an unnamed stale copy, a failed
 * verification). The image report's hint says what to do.
 */
export class MirrorStateError extends Error {
  /** The image concerned. */
  readonly image: string;
  constructor(image: string, message: string) {
    super(message);
    this.name = 'MirrorStateError';
    this.image = image;
  }
}

const DEFAULT_TIMEOUT = 300_000;
const DEFAULT_POLL = 1000;
const DEFAULT_CONCURRENCY = 4;

interface Ctx {
  operation: 'failover' | 'failback';
  mode: FailoverMode;
  from: Pool | null;
  to: Pool;
  fromSite: string | null;
  toSite: string;
  named: Set<string> | null;
  timeoutMs: number;
  pollMs: number;
  signal: AbortSignal | undefined;
  emit: (e: DrEvent) => void;
}

interface Copy {
  state: DrCopyState;
  error?: Error;
  globalId?: string;
}

function isPool(v: unknown): v is Pool {
  return typeof v === 'object' && v !== null && typeof (v as Pool).openImage === 'function' && 'mirror' in v;
}

function errnoOf(err: unknown): number | undefined {
  return err instanceof RbdError ? err.errno : (err as { errno?: number } | null)?.errno;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError(undefined, { cause: signal.reason }));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}

async function siteName(pool: Pool): Promise<string> {
  try {
    const name = await pool.mirror.siteName();
    if (name) return name;
  } catch {
    /* fall through */
  }
  return pool.cluster.name;
}

async function withImage<T>(pool: Pool, name: string, fn: (image: Image) => Promise<T>): Promise<T> {
  const image = await pool.openImage(name);
  try {
    return await fn(image);
  } finally {
    await image.close().catch(() => undefined);
  }
}

async function inspect(pool: Pool | null, name: string): Promise<Copy> {
  if (pool === null) return { state: 'unknown' };
  try {
    return await withImage(pool, name, async (image) => {
      const info = await image.mirror.info();
      if (info.state === 'disabled') return { state: 'not-mirrored' as const };
      return { state: info.primary ? ('primary' as const) : ('non-primary' as const), globalId: info.globalId };
    });
  } catch (err) {
    if (errnoOf(err) === ENOENT) return { state: 'missing' };
    return { state: 'unreachable', error: err as Error };
  }
}

/** The local status of a non-primary copy; null when it cannot be read. */
async function localStatus(pool: Pool, name: string): Promise<MirrorImageStatus | null> {
  try {
    return await withImage(pool, name, (image) => image.mirror.status());
  } catch {
    return null;
  }
}

function isSplitBrain(status: MirrorImageStatus | null): boolean {
  const l = status?.local;
  return !!l && /split-brain/i.test(l.description);
}

class ImageRun {
  readonly report: DrImageReport;
  readonly #c: Ctx;
  readonly #t0 = Date.now();
  readonly #deadline: number;

  constructor(c: Ctx, image: string) {
    this.#c = c;
    this.#deadline = this.#t0 + c.timeoutMs;
    this.report = {
      image,
      outcome: 'failed',
      before: { from: 'unknown', to: 'unknown' },
      after: { from: 'unknown', to: 'unknown' },
      actions: [],
      ms: 0,
    };
  }

  get #name(): string {
    return this.report.image;
  }

  #emit(phase: DrEvent['phase'], message: string, site?: string): void {
    this.#c.emit({ image: this.#name, phase, site, message });
  }

  async #act<T>(step: DrAction['step'], site: string, message: string, fn: () => Promise<T>): Promise<T> {
    checkAbort(this.#c.signal);
    this.#emit(step, message, site);
    const t = Date.now();
    const v = await fn();
    this.report.actions.push({ step, site, ms: Date.now() - t });
    return v;
  }

  #fail(error: Error, hint?: string): never {
    if (hint !== undefined) this.report.hint = hint;
    throw error;
  }

  async run(work: (from: Copy, to: Copy) => Promise<'done' | 'already'>): Promise<DrImageReport> {
    const c = this.#c;
    const r = this.report;
    try {
      checkAbort(c.signal);
      this.#emit('inspect', 'reading the state of both copies');
      const [from, to] = await Promise.all([inspect(c.from, this.#name), inspect(c.to, this.#name)]);
      r.before = { from: from.state, to: to.state };
      r.outcome = await work(from, to);
    } catch (err) {
      r.outcome = 'failed';
      r.error = err instanceof Error || (typeof err === 'object' && err !== null) ? (err as Error) : new Error(String(err));
    }
    const [from, to] = await Promise.all([
      c.from === null ? Promise.resolve<Copy>({ state: 'unknown' }) : inspect(c.from, this.#name),
      inspect(c.to, this.#name),
    ]);
    r.after = { from: from.state, to: to.state };
    if (r.outcome !== 'failed') {
      // Verify: the primary role must now be on `to` (and, unless forced, not on `from`).
      const wrong =
        to.state !== 'primary'
          ? `the copy on ${c.toSite} is ${to.state}, not primary`
          : c.mode === 'planned' && from.state === 'primary'
            ? `the copy on ${c.fromSite} is still primary`
            : undefined;
      if (wrong) {
        r.outcome = 'failed';
        r.error = new MirrorStateError(this.#name, `verification failed for ${this.#name}: ${wrong}`);
        r.hint ??= 'run the same call again';
      }
    }
    r.ms = Date.now() - this.#t0;
    if (r.outcome === 'failed') {
      this.#emit('failed', `${r.error?.message ?? 'failed'}${r.hint ? ` (${r.hint})` : ''}`);
    } else {
      this.#emit('verify', `primary on ${c.toSite}${r.after.from !== 'unknown' ? `, ${r.after.from} on ${c.fromSite}` : ''}`);
      this.#emit('done', r.outcome === 'already' ? 'nothing to do' : `done in ${r.ms} ms`);
    }
    return r;
  }

  // ---- the steps ----------------------------------------------------------------------

  /**
   * Before demoting the primary on `fromPool`: wait (bounded) until rbd-mirror
   * on `site` reports the copy there up and replaying and, in journal mode,
   * until its client of the primary's journal has committed everything the
   * primary had when the wait began. Demoting while the peer is not replaying
   * (still bootstrapping, in error, its daemon down) leaves both copies
   * non-primary with nothing to promote but by force, so the image is left
   * untouched and writable instead. "replaying" alone is not enough in journal
   * mode: right after a demote/promote cycle on the primary, rbd-mirror may
   * report replaying from a copy still owned by that cycle's orphan tag, and a
   * demotion at that moment makes its next bootstrap refuse ("remote image is
   * not primary") with the later writes never replayed (seen in CI).
   */
  async awaitReplaying(pool: Pool, site: string, fromPool: Pool): Promise<void> {
    const c = this.#c;
    const t = Date.now();
    const journal = (await withImage(fromPool, this.#name, (image) => image.mirror.mode())) === 'journal';
    let target: JournalPosition | null | undefined;
    let last = 'no status yet';
    let waited = false;
    for (;;) {
      checkAbort(c.signal);
      const status = await localStatus(pool, this.#name);
      const l = status?.local;
      if (l) last = `${l.up ? 'up' : 'down'}+${l.state}: ${l.description}`;
      let ok = !!l?.up && l.state === 'replaying' && !isSplitBrain(status);
      if (journal) {
        const j = await journalOf(fromPool, this.#name);
        if (target === undefined) target = j.master;
        const behind = !journalCaughtUp(j.clients, target);
        if (behind) last += `; journal ${positions(j.clients, target)}`;
        ok &&= !behind;
      }
      if (ok) break;
      if (!waited) {
        waited = true;
        this.#emit('await-replaying', `waiting for rbd-mirror on ${site} to replay the image (now ${last})`, site);
      }
      if (Date.now() + c.pollMs > this.#deadline) {
        const e = new Timeout(
          ETIMEDOUT,
          { op: c.operation, pool: pool.name, image: this.#name, subject: 'image' },
          `the copy on ${site} is not replaying or not caught up (last status ${last}); nothing was demoted`,
        );
        this.#fail(e, `the primary copy was left as it was; repair replication to ${site} first, or use mode 'forced'`);
      }
      await sleep(c.pollMs, c.signal);
    }
    if (waited) this.report.actions.push({ step: 'await-replaying', site, ms: Date.now() - t });
  }

  async demote(pool: Pool, site: string): Promise<void> {
    await this.#act('demote', site, `demoting the copy on ${site}`, () =>
      withImage(pool, this.#name, (image) => image.mirror.demote()),
    );
  }

  /**
   * Promote without force, retried while librbd says the copy has not yet
   * replayed the peer's demotion (see NOT_YET), until the deadline. Resolves once promoted.
   */
  async promoteWhenReplayed(pool: Pool, site: string, otherSite: string): Promise<void> {
    const c = this.#c;
    const t = Date.now();
    let waited = false;
    let last: unknown;
    for (;;) {
      checkAbort(c.signal);
      const copy = await inspect(pool, this.#name);
      if (copy.state === 'primary') break; // promoted (by us before an interruption, or by someone else)
      if (copy.state !== 'non-primary') {
        this.#fail(copy.error ?? new MirrorStateError(this.#name, `${this.#name}: the copy on ${site} is ${copy.state}`));
      }
      try {
        await withImage(pool, this.#name, (image) => image.mirror.promote());
        break;
      } catch (err) {
        const n = errnoOf(err);
        // a copy whose mirroring is disabled never becomes promotable: no retry (its errno is EINVAL, as a refusal's)
        if (n === undefined || !NOT_YET.has(n) || err instanceof MirroringNotEnabled) throw err;
        last = err;
      }
      if (!waited) {
        waited = true;
        this.#emit('await-peer', `waiting for ${site} to replay everything up to the demotion on ${otherSite}`, site);
      }
      if (Date.now() + c.pollMs > this.#deadline) {
        const e = new Timeout(
          ETIMEDOUT,
          { op: c.operation, pool: pool.name, image: this.#name, subject: 'image' },
          `the copy on ${site} has not replayed the demotion on ${otherSite} after ${Date.now() - this.#t0} ms; ` +
            `last refusal: ${(last as Error)?.message ?? 'none'}`,
        );
        this.#fail(
          e,
          `both copies are non-primary now; run the same call again to keep waiting, or a forced failover to ${site} ` +
            `(which loses what ${site} has not replayed)`,
        );
      }
      await sleep(c.pollMs, c.signal);
    }
    if (waited) this.report.actions.push({ step: 'await-peer', site, ms: Date.now() - t });
    this.report.actions.push({ step: 'promote', site, ms: 0 });
    this.#emit('promote', `promoted the copy on ${site}`, site);
  }

  /**
   * Journal mode, after the demote on `pool`: wait until every peer's
   * rbd-mirror client of the demoted journal has committed up to the image's
   * own (master) position, i.e. has replayed everything up to the demotion.
   * A non-forced promote alone is not proof enough in journal mode: librbd
   * accepts it as soon as the peer's copy is owned by the "orphan" tag, which
   * an EARLIER demote/promote cycle on this site also left — the peer could
   * then be promoted without the writes made after that cycle (rbd-mirror
   * later reports the old primary as split-brain). Snapshot mode needs no
   * such wait: there the promote checks the very last (demotion) snapshot.
   *
   * With `undo` (the demote was made by this call, so the copy on `pool` is
   * known to hold every write): when the peer's rbd-mirror has stopped short
   * of the target and reports "remote image is not primary" for STALL_MS, it
   * will never replay the rest (its bootstrap refuses a non-primary remote),
   * so the copy on `pool` is promoted again and 'undone' returned: the caller
   * waits for the peer to catch up and demotes again.
   */
  async awaitDemotionReplayed(pool: Pool, site: string, peerSite: string, peerPool: Pool, undo = false): Promise<'replayed' | 'undone'> {
    const c = this.#c;
    const mode = await withImage(pool, this.#name, (image) => image.mirror.mode());
    if (mode !== 'journal') return 'replayed';
    return this.#act('await-demotion', peerSite, `waiting for ${peerSite} to replay the journal of ${site} up to the demotion`, async () => {
      let last = 'no journal read yet';
      let stalledSince: number | null = null;
      for (;;) {
        checkAbort(c.signal);
        const j = await journalOf(pool, this.#name);
        const target = j.master;
        if (target !== null && journalCaughtUp(j.clients, target)) return 'replayed' as const;
        last = positions(j.clients, target);
        if (undo) {
          const l = (await localStatus(peerPool, this.#name))?.local;
          const refused = !!l && l.up && l.state !== 'replaying' && /remote image is not primary/i.test(l.description);
          stalledSince = refused ? (stalledSince ?? Date.now()) : null;
          if (refused) last += `; ${peerSite}: ${l.state}: ${l.description}`;
          if (stalledSince !== null && Date.now() - stalledSince >= STALL_MS) {
            this.#emit('undo-demote', `${peerSite} stopped replaying short of the demotion (${last}); promoting the copy on ${site} again`, site);
            const t = Date.now();
            await withImage(pool, this.#name, (image) => image.mirror.promote());
            this.report.actions.push({ step: 'undo-demote', site, ms: Date.now() - t });
            return 'undone' as const;
          }
        }
        if (Date.now() + c.pollMs > this.#deadline) {
          const e = new Timeout(
            ETIMEDOUT,
            { op: c.operation, pool: pool.name, image: this.#name, subject: 'image' },
            `${peerSite} has not replayed the journal of ${site} up to the demotion (${last})`,
          );
          this.#fail(
            e,
            `both copies are non-primary now; run the same call again to keep waiting, or promote the copy on ${site} ` +
              `again to undo the demotion`,
          );
        }
        await sleep(c.pollMs, c.signal);
      }
    });
  }

  /**
   * The planned move of the primary role from `fromPool` to `toPool`: wait
   * until the peer is replaying and caught up, demote, wait for the demotion
   * to be replayed (undoing the demote and starting over when rbd-mirror
   * stopped short of it, at most MAX_UNDO times), promote.
   */
  async handOver(fromPool: Pool, fromSite: string, toPool: Pool, toSite: string): Promise<void> {
    for (let undone = 0; ; undone++) {
      await this.awaitReplaying(toPool, toSite, fromPool);
      await this.demote(fromPool, fromSite);
      const r = await this.awaitDemotionReplayed(fromPool, fromSite, toSite, toPool, undone < MAX_UNDO);
      if (r === 'replayed') break;
    }
    await this.promoteWhenReplayed(toPool, toSite, fromSite);
  }

  /** One promote with force, retried on the transient refusals of NOT_YET (rbd-mirror still holding the copy) until the deadline. */
  async #promoteWithForce(pool: Pool): Promise<void> {
    const c = this.#c;
    for (;;) {
      checkAbort(c.signal);
      try {
        await withImage(pool, this.#name, (image) => image.mirror.promote({ force: true }));
        return;
      } catch (err) {
        const n = errnoOf(err);
        if (n === undefined || !NOT_YET.has(n) || err instanceof MirroringNotEnabled || Date.now() + c.pollMs > this.#deadline) {
          throw err;
        }
        if ((await inspect(pool, this.#name)).state === 'primary') return;
      }
      await sleep(c.pollMs, c.signal);
    }
  }

  /**
   * Promote the copy on `pool` with force. Journal mode: not done until
   * rbd-mirror on `site` has given the copy up (see awaitPromotion); when it
   * took the copy back (non-primary again), promote with force again, at most
   * MAX_FORCE_AGAIN times.
   */
  async forcePromote(pool: Pool, site: string): Promise<void> {
    await this.#act('force-promote', site, `promoting the copy on ${site} with force`, () => this.#promoteWithForce(pool));
    if ((await withImage(pool, this.#name, (image) => image.mirror.mode())) !== 'journal') return;
    for (let again = 0; ; again++) {
      const r = await this.awaitPromotion(pool, site);
      if (r !== 'overrun') return;
      if (again >= MAX_FORCE_AGAIN) {
        this.#fail(
          new MirrorStateError(this.#name, `${this.#name}: rbd-mirror on ${site} took the copy back after ${again + 1} forced promotes (non-primary again)`),
          `check rbd-mirror on ${site} (\`rbd mirror image status\`) and run the same call again`,
        );
      }
      await this.#act('force-promote-again', site, `rbd-mirror on ${site} took the copy back (non-primary again): promoting with force again`, () =>
        this.#promoteWithForce(pool),
      );
    }
  }

  /**
   * Journal mode, after a forced promote of the copy on `pool`: wait until
   * rbd-mirror on `site` has acknowledged it, i.e. reports its replayer of the
   * copy up and stopped ("stopped", "local image is primary") while the copy
   * reads primary. A promote that lands while rbd-mirror is still
   * bootstrapping the copy can be overrun (seen on 20.2): rbd-mirror appends a
   * tag owned by the old primary on top of the promotion's and replays again,
   * and the copy reads non-primary — 'overrun' then. When no rbd-mirror
   * reports the copy up (its daemon down, or not started on the copy yet) or
   * it reports an error (its next bootstrap sees the local primary), the
   * promote stands once SETTLE_MS have passed: 'unattended'. Bounded by the
   * deadline: a copy still reported as replaying by a live rbd-mirror then is
   * a failure (it may yet be taken back).
   */
  async awaitPromotion(pool: Pool, site: string): Promise<'acknowledged' | 'unattended' | 'overrun'> {
    const c = this.#c;
    const t = Date.now();
    let waited = false;
    let last = 'no status yet';
    let stoppingSince: number | undefined;
    const done = (r: 'acknowledged' | 'unattended' | 'overrun'): 'acknowledged' | 'unattended' | 'overrun' => {
      if (waited) this.report.actions.push({ step: 'await-promotion', site, ms: Date.now() - t });
      return r;
    };
    for (;;) {
      checkAbort(c.signal);
      const copy = await inspect(pool, this.#name);
      if (copy.state === 'non-primary') return done('overrun');
      if (copy.state !== 'primary') {
        this.#fail(copy.error ?? new MirrorStateError(this.#name, `${this.#name}: the copy on ${site} is ${copy.state} after the forced promote`));
      }
      const l = (await localStatus(pool, this.#name))?.local;
      last = l ? `${l.up ? 'up' : 'down'}+${l.state}: ${l.description}` : 'no status';
      // ("remote image ..." is a non-primary copy's stop, from before the promote)
      if (l?.up && l.state === 'stopped' && !/remote image/i.test(l.description)) return done('acknowledged');
      if (l?.up && l.state === 'stopping_replay' && !/remote image/i.test(l.description)) {
        stoppingSince ??= Date.now();
        if (Date.now() - stoppingSince >= STOPPING_SETTLE_MS) return done('acknowledged');
      } else {
        stoppingSince = undefined;
      }
      const unattended = !l?.up || l.state === 'error';
      if (unattended && Date.now() - t >= SETTLE_MS) return done('unattended');
      if (Date.now() + c.pollMs > this.#deadline) {
        if (unattended) return done('unattended');
        const e = new Timeout(
          ETIMEDOUT,
          { op: c.operation, pool: pool.name, image: this.#name, subject: 'image' },
          `the copy on ${site} is primary but rbd-mirror there has not stopped replaying it (last status ${last})`,
        );
        this.#fail(e, `rbd-mirror on ${site} may still take the copy back; check \`rbd mirror image status\` there and promote it with force again if it is non-primary`);
      }
      if (!waited) {
        waited = true;
        this.#emit('await-promotion', `waiting for rbd-mirror on ${site} to stop replaying the promoted copy (now ${last})`, site);
      }
      await sleep(c.pollMs, c.signal);
    }
  }

  /** Flag the (non-primary) copy on `pool` for resync, then wait until it is re-created and caught up with `primaryPool`. */
  async resyncAndWait(pool: Pool, site: string, primaryPool: Pool, primarySite: string): Promise<void> {
    const c = this.#c;
    // rbd-mirror deletes the flagged copy and re-creates it under a new image
    // id; until then the old copy may still report 'replaying'.
    const oldId = await this.#act('resync', site, `resyncing the copy on ${site} from ${primarySite}`, () =>
      withImage(pool, this.#name, async (image) => {
        const id = (await image.stat()).id;
        await image.mirror.resync();
        return id;
      }),
    );
    await this.#act('await-resync', site, `waiting for rbd-mirror on ${site} to re-create and sync the copy`, async () => {
      let last = 'not looked yet';
      for (;;) {
        checkAbort(c.signal);
        const id = await withImage(pool, this.#name, async (image) => (await image.stat()).id).catch(() => null);
        const status = id !== null && id !== oldId ? await localStatus(pool, this.#name) : null;
        const copy = id !== null && id !== oldId ? await inspect(pool, this.#name) : null;
        const l = status?.local;
        last =
          id === null ? 'the copy is gone (being re-created)' : id === oldId ? 'the old copy is still there' : `${copy?.state}${l ? `, ${l.state}: ${l.description}` : ''}`;
        if (copy?.state === 'non-primary' && l?.state === 'replaying' && !isSplitBrain(status)) break;
        if (Date.now() + c.pollMs > this.#deadline) {
          const e = new Timeout(
            ETIMEDOUT,
            { op: c.operation, pool: pool.name, image: this.#name, subject: 'image' },
            `the resync on ${site} has not finished after ${Date.now() - this.#t0} ms; last: ${last}`,
          );
          this.#fail(e, `the resync goes on in rbd-mirror; run the same call again to keep waiting`);
        }
        await sleep(c.pollMs, c.signal);
      }
    });
    await this.#act('await-replication', site, `waiting for the copy on ${site} to catch up with ${primarySite}`, async () => {
      const left = Math.max(1000, this.#deadline - Date.now());
      const peer = await pool.openImage(this.#name);
      try {
        await withImage(primaryPool, this.#name, (image) =>
          image.mirror.waitForReplication({ timeoutMs: left, pollMs: c.pollMs, signal: c.signal, peer }),
        );
      } finally {
        await peer.close().catch(() => undefined);
      }
    });
  }
}

async function planned(run: ImageRun, c: Ctx, from: Copy, to: Copy): Promise<'done' | 'already'> {
  const fromSite = c.fromSite as string;
  const fromPool = c.from as Pool;
  if (to.state === 'primary' && from.state === 'non-primary') return 'already';
  if (to.state === 'unreachable') throw to.error;
  if (to.state !== 'primary' && to.state !== 'non-primary') {
    run.report.hint = `the image is ${to.state} on ${c.toSite}`;
    throw new MirrorStateError(run.report.image, `${run.report.image}: cannot fail over to ${c.toSite}: the image is ${to.state} there`);
  }
  if (from.state === 'unreachable' || from.state === 'missing' || from.state === 'not-mirrored') {
    run.report.hint = `use mode 'forced' if ${fromSite} is lost`;
    throw from.error ?? new MirrorStateError(run.report.image, `${run.report.image}: the image is ${from.state} on ${fromSite}`);
  }
  if (to.state === 'primary' && from.state === 'primary') {
    run.report.hint =
      `split brain: both copies are primary; failback({ from: <${c.toSite}>, to: <${fromSite}>, images: ['${run.report.image}'] }) ` +
      `resyncs the copy on ${fromSite}, or demote one copy and resync it by hand`;
    throw new MirrorStateError(run.report.image, `${run.report.image}: both copies are primary`);
  }
  if (to.globalId && from.globalId && to.globalId !== from.globalId) {
    throw new MirrorStateError(run.report.image, `${run.report.image}: the copies have different global ids (${from.globalId} on ${fromSite}, ${to.globalId} on ${c.toSite}): not the same mirrored image`);
  }
  if (from.state === 'primary') {
    await run.handOver(fromPool, fromSite, c.to, c.toSite);
    return 'done';
  }
  // Both non-primary: an interrupted move; finish it (no undo: who demoted is not known here).
  await run.awaitDemotionReplayed(fromPool, fromSite, c.toSite, c.to);
  await run.promoteWhenReplayed(c.to, c.toSite, fromSite);
  return 'done';
}

async function forced(run: ImageRun, c: Ctx, from: Copy, to: Copy): Promise<'done' | 'already'> {
  if (to.state === 'primary') {
    if (from.state === 'primary') run.report.hint = `split brain: the copy on ${c.fromSite} is primary too; failback() with the image named repairs it`;
    return 'already';
  }
  if (to.state === 'unreachable') throw to.error;
  if (to.state !== 'non-primary') {
    run.report.hint = `the image is ${to.state} on ${c.toSite}`;
    throw new MirrorStateError(run.report.image, `${run.report.image}: cannot fail over to ${c.toSite}: the image is ${to.state} there`);
  }
  await run.forcePromote(c.to, c.toSite);
  if (from.state === 'primary' || from.state === 'unreachable' || from.state === 'unknown') {
    run.report.hint =
      `the copy on ${c.fromSite ?? 'the old site'} may still be primary (split brain): once that site is back, ` +
      `failback() naming this image demotes and resyncs it`;
  }
  return 'done';
}

async function failbackOne(run: ImageRun, c: Ctx, from: Copy, to: Copy): Promise<'done' | 'already'> {
  // Here `from` holds the primary role now and `to` gets it back.
  const fromPool = c.from as Pool;
  const fromSite = c.fromSite as string;
  const name = run.report.image;
  const named = c.named?.has(name) ?? false;
  if (to.state === 'primary' && from.state === 'non-primary') return 'already';
  if (from.state === 'unreachable') throw from.error;
  if (to.state === 'unreachable') throw to.error;
  if (from.state === 'non-primary' && to.state === 'non-primary') {
    // An interrupted planned move: finish it.
    await run.awaitDemotionReplayed(fromPool, fromSite, c.toSite, c.to);
    await run.promoteWhenReplayed(c.to, c.toSite, fromSite);
    return 'done';
  }
  if (from.state !== 'primary') {
    throw new MirrorStateError(name, `${name}: cannot fail back: the image is ${from.state} on ${fromSite}`);
  }
  if (to.state !== 'primary' && to.state !== 'non-primary') {
    throw new MirrorStateError(name, `${name}: cannot fail back to ${c.toSite}: the image is ${to.state} there`);
  }
  let stale = to.state === 'primary';
  if (!stale) stale = isSplitBrain(await localStatus(c.to, name));
  if (stale) {
    if (!named) {
      run.report.hint =
        `the copy on ${c.toSite} is stale (${to.state === 'primary' ? 'still primary: split brain' : 'split-brain reported'}); ` +
        `a resync discards its data, so it is only done for images named in \`images\``;
      throw new MirrorStateError(name, `${name}: the copy on ${c.toSite} needs a resync, and the image was not named`);
    }
    if (to.state === 'primary') await run.demote(c.to, c.toSite);
    await run.resyncAndWait(c.to, c.toSite, fromPool, fromSite);
  }
  await run.handOver(fromPool, fromSite, c.to, c.toSite);
  return 'done';
}

async function imageNames(c: Ctx, pools: Array<Pool | null>): Promise<string[]> {
  if (c.named) return [...c.named];
  const names = new Set<string>();
  for (const pool of pools) {
    if (pool === null) continue;
    let infos;
    try {
      infos = await pool.mirror.imageInfos();
    } catch (err) {
      if (pool === c.to) throw err;
      continue; // an unreachable `from`: its images are listed by `to`
    }
    const ids = new Set(infos.filter((i) => i.state === 'enabled').map((i) => i.id));
    for (const s of await pool.listImageSpecs()) if (ids.has(s.id)) names.add(s.name);
  }
  return [...names].sort();
}

async function runAll(
  c: Ctx,
  concurrency: number,
  work: (run: ImageRun, from: Copy, to: Copy) => Promise<'done' | 'already'>,
): Promise<DrReport> {
  const t0 = Date.now();
  const names = await imageNames(c, [c.to, c.from]);
  const reports: DrImageReport[] = new Array(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const run = new ImageRun(c, names[i]);
      reports[i] = await run.run((from, to) => work(run, from, to));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return {
    operation: c.operation,
    mode: c.mode,
    from: c.fromSite,
    to: c.toSite,
    ok: reports.every((r) => r.outcome !== 'failed'),
    images: reports,
    ms: Date.now() - t0,
  };
}

/**
 * `from` and `to` must be pools of two different clusters: two handles on the
 * same cluster would see "both copies primary" and a failback would demote and
 * resync the only copy.
 */
function checkTwoSites(from: Pool, to: Pool): void {
  if (from === to) throw new RangeError('from and to must be pools on different sites');
  if (from.cluster.fsid() === to.cluster.fsid()) {
    throw new RangeError(`from and to are pools of the same cluster (fsid ${to.cluster.fsid()}): they must be on different sites`);
  }
}

function common(o: DrCommonOptions): Omit<Ctx, 'operation' | 'mode' | 'from' | 'to' | 'fromSite' | 'toSite'> & { concurrency: number } {
  let named: Set<string> | null = null;
  if (o.images !== undefined) {
    if (!Array.isArray(o.images)) throw new TypeError('images must be an array of image names');
    named = new Set();
    for (const n of o.images as unknown[]) {
      if (typeof n !== 'string' || n === '') throw new TypeError('images must hold non-empty image names');
      if (n.includes('\0')) throw new RangeError('image names must not contain NUL bytes');
      named.add(n);
    }
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (o.onEvent !== undefined && typeof o.onEvent !== 'function') throw new TypeError('onEvent must be a function');
  const onEvent = o.onEvent;
  return {
    named,
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_TIMEOUT : checkInt(o.timeoutMs, 'timeoutMs', 1, 2 ** 31 - 1),
    pollMs: o.pollMs === undefined ? DEFAULT_POLL : checkInt(o.pollMs, 'pollMs', 10, 600_000),
    concurrency: o.concurrency === undefined ? DEFAULT_CONCURRENCY : checkInt(o.concurrency, 'concurrency', 1, 256),
    signal: o.signal,
    emit: (e) => {
      try {
        onEvent?.(e);
      } catch {
        /* a progress callback never breaks the orchestration */
      }
    },
  };
}

/**
 * Move the primary role of a pool's mirrored images (or the named ones) from
 * one site to the other. `mode: 'planned'` demotes on `from` and promotes on
 * `to` once it has replayed everything; `mode: 'forced'` promotes on `to` with
 * force without waiting for `from` (which may be lost: `from: null`).
 * Resolves with a per-image report (it rejects only on bad arguments or when
 * `to` cannot list its images); running the same call again finishes what an
 * interrupted one left.
 */
export async function failover(options: FailoverOptions): Promise<DrReport> {
  const o = checkOptions<FailoverOptions>(options);
  if (o.mode !== 'planned' && o.mode !== 'forced') throw new TypeError("mode must be 'planned' or 'forced'");
  if (!isPool(o.to)) throw new TypeError('to must be a Pool (the pool on the site taking the primary role)');
  if (o.mode === 'planned' && !isPool(o.from)) throw new TypeError('a planned failover needs from: the pool on the site giving up the primary role');
  if (o.from !== undefined && o.from !== null && !isPool(o.from)) throw new TypeError('from must be a Pool or null');
  const base = common(o); // every option checked before the fsid check's native calls
  if (o.from) checkTwoSites(o.from, o.to);
  const from = o.from ?? null;
  const c: Ctx = {
    ...base,
    operation: 'failover',
    mode: o.mode,
    from,
    to: o.to,
    fromSite: from === null ? null : await siteName(from),
    toSite: await siteName(o.to),
  };
  return runAll(c, base.concurrency, (run, f, t) => (c.mode === 'planned' ? planned(run, c, f, t) : forced(run, c, f, t)));
}

/**
 * Give the primary role back to `to` (the site failed over from) once it is
 * reachable again: its stale copies (split brain after a forced failover) are
 * demoted and resynced from `from` — only for images named in `images` — the
 * resync awaited, then the role moves as in a planned failover. Resolves with
 * a per-image report; running it again converges.
 */
export async function failback(options: FailbackOptions): Promise<DrReport> {
  const o = checkOptions<FailbackOptions>(options);
  if (!isPool(o.from)) throw new TypeError('from must be a Pool (the pool on the site that is primary now)');
  if (!isPool(o.to)) throw new TypeError('to must be a Pool (the pool on the site that gets the primary role back)');
  const base = common(o); // every option checked before the fsid check's native calls
  checkTwoSites(o.from, o.to);
  const c: Ctx = {
    ...base,
    operation: 'failback',
    mode: 'planned',
    from: o.from,
    to: o.to,
    fromSite: await siteName(o.from),
    toSite: await siteName(o.to),
  };
  return runAll(c, base.concurrency, (run, f, t) => failbackOne(run, c, f, t));
}
