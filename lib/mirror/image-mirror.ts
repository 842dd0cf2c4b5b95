/** Image-level RBD mirroring: `rbd mirror image ...` and `rbd journal info/status`. */
import { constants } from 'node:os';
import type { ErrorContext } from '../core/errors';
import { ImageBusy, InvalidArgument, MirroringNotEnabled, RbdError, closedError, rbdError } from '../core/errors';
import type { Image } from '../image/image';
import {
  CLIENT_PAGE,
  EVENT_TYPE_AIO_FLUSH,
  HEADER_METHODS,
  decodeClientList,
  decodeHeader,
  decodeJournalTail,
  encodeClientListInput,
  type JournalAppended,
  type JournalClient,
  type JournalStatus,
} from './journal';
import {
  mirrorImageMode,
  mirrorImageState,
  mirrorSiteStatuses,
  type MirrorImageMode,
  type MirrorImageState,
  type MirrorPeerRef,
  type JournalPosition,
  type MirrorSiteStatus,
} from './status';
import type { NativeImage, NativeMirrorGlobalStatus, NativeMirrorInfo } from '../core/native';
import { native, type NativeBinding } from '../core/native';
import { checkBoolean, checkOptions } from '../core/validate';
import { MIRROR_IMAGE_MODE, MIRROR_IMAGE_STATE, SNAP_CREATE } from '../core/constants';
import {
  positionReached,
  waitForReplication as waitForReplicationImpl,
  waitForState as waitForStateImpl,
  type MirrorStateMatch,
  type MirrorWaitOptions,
  type ReplicationWaitResult,
  type WaitForReplicationOptions,
} from './wait';
import { MirrorStatusWatcher, type MirrorWatchOptions } from './watch';
import { imageLag, type MirrorImageLag, type MirrorLagOptions } from './lag';

/** How much of each journal object's end journalAppended() reads: entries are at most rbd_journal_max_payload_bytes (16 KiB) plus a header. */
const JOURNAL_TAIL_BYTES = 256 * 1024;



const api = (): NativeBinding['mirrorImage'] => native().mirrorImage;

/** What `rbd mirror image enable` accepts; the CLI's default is 'journal'. */
export type MirrorImageEnableMode = 'journal' | 'snapshot';

/** An image's mirroring state (rbd_mirror_image_info_t), like the `mirroring ...` lines of `rbd info`. */
export interface MirrorImageInfo {
  /** The id shared by the image's copies on every site; '' when mirroring is disabled. */
  globalId: string;
  /** Whether mirroring is enabled for the image (or being enabled or disabled). */
  state: MirrorImageState;
  /** Whether this copy is the primary (writable) one. */
  primary: boolean;
}

/** An image's mirroring status on every site, like `rbd mirror image status`. */
export interface MirrorImageStatus {
  /** The image name. */
  name: string;
  /** Its mirroring state on this site. */
  info: MirrorImageInfo;
  /**
   * This site's status. A site whose rbd-mirror has not reported yet shows as
   * the CLI shows it: state 'unknown', up false, description 'status not found'.
   */
  local: MirrorSiteStatus | null;
  /** Each peer site's status, named after the pool's peers. */
  peers: MirrorSiteStatus[];
}

/** Options of `image.mirror.disable()`. */
export interface MirrorDisableOptions {
  /** Disable even on a non-primary image (like `--force`); the other copies are left as they are. */
  force?: boolean;
}

/** Options of `image.mirror.promote()`. */
export interface MirrorPromoteOptions {
  /**
   * Promote even though the peer is still primary or did not demote cleanly
   * (like `--force`). Both sites are then primary: a split brain, which a
   * demote plus resync of the stale copy repairs.
   */
  force?: boolean;
}

/** Options of `image.mirror.createSnapshot()` (like `rbd mirror image snapshot`). */
export interface MirrorSnapshotOptions {
  /** Do not ask the image's users to quiesce I/O first (like `--skip-quiesce`). */
  skipQuiesce?: boolean;
  /** Take the snapshot even if quiescing fails (like `--ignore-quiesce-error`). */
  ignoreQuiesceError?: boolean;
}

/** How long promote/demote wait for the handle to see its new role (see #settle). */
const SETTLE_MS = 10_000;
const { EINVAL, ENOENT, EBADMSG, EOPNOTSUPP, EROFS } = constants.errno;
/** The errnos librbd answers a call with when the image's mirroring state does not allow it. */
const STATE_ERRNOS: ReadonlySet<number> = new Set([EINVAL, ENOENT, EOPNOTSUPP, EROFS]);

function hasErrno(err: unknown, errno: number): err is RbdError {
  return err instanceof RbdError && err.errno === errno;
}

/**
 * Mirroring of one image (`image.mirror`), like `rbd mirror image ...`. Every
 * call but enable() and info() on an image whose mirroring is disabled rejects
 * with MirroringNotEnabled (an InvalidArgument, EINVAL), on every librbd release.
 */
export class ImageMirror {
  readonly #image: Image;

  /** @internal Made by the Image; reach it as `image.mirror`. */
  constructor(image: Image) {
    this.#image = image;
  }

  #call<T>(op: string, fn: (n: NativeImage) => Promise<T>): Promise<T> {
    return this.#image._call(`mirror.${op}`, fn);
  }

  #context(op: string): ErrorContext {
    const p = this.#image.pool;
    return { op: `mirror.${op}`, cluster: p.cluster.name, pool: p.name, namespace: p.namespace, image: this.#image.name };
  }

  /** The same error, with a message that says what librbd's bare errno meant. */
  #explain(err: RbdError, op: string, detail: string): RbdError {
    return rbdError(err.errno, this.#context(op), detail, err.nativeOp);
  }

  /** MirroringNotEnabled for `op`: the same class and errno (EINVAL) on every release. */
  #notEnabled(op: string, nativeOp: string | undefined, nativeErrno?: number): MirroringNotEnabled {
    const e = new MirroringNotEnabled(EINVAL, this.#context(op), 'mirroring is not enabled on the image', nativeOp);
    if (nativeErrno !== undefined) e.nativeErrno = nativeErrno;
    return e;
  }

  /**
   * librbd answers most misuses with a bare errno, which differs by call and
   * by release (a disabled image: ENOENT for promote and resync on 16.2,
   * EINVAL on 20.2): look at the image's mirroring state after the failure to
   * say which misuse it was, so that the error class follows the state, not
   * the errno. `why` gets the state and returns the detail, or undefined to
   * keep the error.
   */
  async #diagnose(err: unknown, op: string, why: (info: MirrorImageInfo) => string | undefined): Promise<never> {
    if (err instanceof RbdError && STATE_ERRNOS.has(err.errno)) {
      let info: MirrorImageInfo | undefined;
      try {
        info = toInfo(await this.#call('info', (n) => api().info(n)));
      } catch {
        // keep the original error
      }
      if (info?.state === 'disabled') throw this.#notEnabled(op, err.nativeOp, err.errno);
      const detail = info ? why(info) : undefined;
      if (detail !== undefined) throw this.#explain(err, op, detail);
    }
    throw err;
  }

  /**
   * Enable mirroring of this image (like `rbd mirror image enable <image>
   * [journal|snapshot]`), which makes it the primary copy; rbd-mirror then
   * creates the non-primary copy on each peer site. The pool (or namespace)
   * must be in 'image' mirroring mode. 'journal' (the default, as in the CLI)
   * needs the exclusive-lock and journaling features: librbd (Pacific and
   * later) enables both itself when they are missing. Rejects with
   * InvalidArgument when the pool's mirroring is not in a mode that allows it,
   * saying which mode it is in.
   */
  async enable(mode: MirrorImageEnableMode = 'journal'): Promise<void> {
    if (typeof mode !== 'string') throw new TypeError(`mode must be 'journal' or 'snapshot', got ${typeof mode}`);
    const code = mode === 'journal' || mode === 'snapshot' ? MIRROR_IMAGE_MODE.value(mode) : undefined;
    if (code === undefined) throw new RangeError(`mode must be 'journal' or 'snapshot', got '${mode}'`);
    try {
      await this.#image._roleChange(() => this.#call('enable', (n) => api().enable(n, code)));
    } catch (err) {
      if (err instanceof InvalidArgument && err.errno === EINVAL) {
        const poolMode = await this.#poolMode();
        const where = this.#image.pool.namespace ? `namespace '${this.#image.pool.namespace}'` : 'the pool';
        if (poolMode === 'disabled') {
          throw this.#explain(
            err,
            'enable',
            `mirroring is not enabled on ${where}: enable it in 'image' mode first (pool.mirror / rbd mirror pool enable <pool> image)`,
          );
        }
        if (poolMode !== undefined && poolMode !== 'image') {
          throw this.#explain(err, 'enable', `${where} mirrors in '${poolMode}' mode; enabling single images needs 'image' mode`);
        }
      }
      throw err;
    }
  }

  // The pool's (namespace's) mirroring mode through the pool area, for error messages only.
  async #poolMode(): Promise<string | undefined> {
    try {
      const m = (this.#image.pool as unknown as { mirror?: { mode?: () => Promise<string> } }).mirror;
      return typeof m?.mode === 'function' ? await m.mode() : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Disable mirroring of this image (like `rbd mirror image disable
   * [--force]`). On the primary, rbd-mirror then removes the non-primary
   * copies. A non-primary copy needs `force: true`.
   */
  async disable(options?: MirrorDisableOptions): Promise<void> {
    const o = checkOptions<MirrorDisableOptions>(options);
    const force = o.force === undefined ? false : checkBoolean(o.force, 'force');
    try {
      await this.#image._roleChange(async () => {
        const before = await this.#call('mode', (n) => api().mode(n)).catch(() => undefined);
        await this.#call('disable', (n) => api().disable(n, force));
        if (before === MIRROR_IMAGE_MODE.value('snapshot')) await this.#restoreReadOnlyMask();
      });
    } catch (err) {
      await this.#diagnose(err, 'disable', (i) =>
        !i.primary && !force ? 'the image is not primary: pass { force: true } to disable mirroring of a non-primary copy' : undefined,
      );
    }
  }

  /**
   * After a snapshot-mode disable: librbd's disable clears this handle's
   * "a non-primary image is read-only" mask bit (so that it can remove the
   * mirror snapshots) and sets it back only when the disable fails
   * (api/Mirror.cc image_disable, 16.2 to 20.2). Left so, the handle would go
   * on writing once the image is mirrored again and demoted by any client —
   * a split brain nobody is told of (the property suite's seed 3134142327).
   * librbd's promote sets the bit back when it ends, whatever its result, and
   * a promote of an image that is not mirrored ends at once in an error
   * (ENOENT on 16.2, EINVAL on 20.2) without changing anything: that error is
   * the expected answer. Only when the image is seen disabled first, so that
   * this cannot promote an image somebody mirrored again meanwhile (the gap
   * left is the time between two librbd calls of this process).
   */
  async #restoreReadOnlyMask(): Promise<void> {
    const now = await this.#call('info', (n) => api().info(n)).catch(() => undefined);
    if (now?.state !== MIRROR_IMAGE_STATE.value('disabled')) return;
    const promoted = await this.#call('promote', (n) => api().promote(n, false)).then(
      () => true,
      () => false,
    );
    if (promoted) {
      process.emitWarning(
        `@x/rbd: image '${this.#image.name}' was mirrored again by another client while its mirroring was being disabled here, and is now primary`,
      );
    }
  }

  /**
   * Make this copy the primary one (like `rbd mirror image promote
   * [--force]`). Without force the peer must have been demoted first, else
   * ImageBusy (EBUSY); promoting a copy that already is primary rejects with
   * InvalidArgument (EINVAL).
   */
  async promote(options?: MirrorPromoteOptions): Promise<void> {
    const o = checkOptions<MirrorPromoteOptions>(options);
    const force = o.force === undefined ? false : checkBoolean(o.force, 'force');
    try {
      await this.#image._roleChange(async () => {
        await this.#call('promote', (n) => api().promote(n, force));
        await this.#settle(true);
      });
    } catch (err) {
      if (err instanceof ImageBusy && !force) {
        throw this.#explain(
          err,
          'promote',
          "a peer site's copy is still primary (or was not demoted cleanly): demote it there first, or pass { force: true }",
        );
      }
      await this.#diagnose(err, 'promote', (i) => (i.primary ? 'the image is already primary' : undefined));
    }
  }

  /** Make this primary copy non-primary (like `rbd mirror image demote`), so that a peer can be promoted. */
  async demote(): Promise<void> {
    try {
      await this.#image._roleChange(async () => {
        await this.#call('demote', (n) => api().demote(n));
        await this.#settle(false);
      });
    } catch (err) {
      await this.#diagnose(err, 'demote', (i) => (!i.primary ? 'the image is not primary' : undefined));
    }
  }

  /**
   * After a promote/demote, wait (bounded) until this handle itself sees the new
   * role. librbd refreshes the handle on the header notification that follows,
   * so for a moment it still acts on the old role: a write right after demote()
   * resolved was acknowledged on the now non-primary image (snapshot mode). info()
   * refreshes the handle once the notification is in.
   */
  async #settle(primary: boolean): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      // The role change itself is done: a failure here (the handle closing meanwhile) is not the caller's.
      const info = await this.#call('info', (n) => api().info(n)).catch(() => undefined);
      if (info === undefined || info.primary === primary || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Flag this non-primary copy for a full resync from the primary (like `rbd
   * mirror image resync`): rbd-mirror deletes and re-creates it, so it is
   * briefly absent. Repairs a split brain once the stale copy is demoted.
   */
  async resync(): Promise<void> {
    try {
      await this.#image._roleChange(() => this.#call('resync', (n) => api().resync(n)));
    } catch (err) {
      await this.#diagnose(err, 'resync', (i) =>
        i.primary ? 'the image is primary: only a non-primary copy can be resynced (demote it first)' : undefined,
      );
    }
  }

  /** The image's mirroring state, global id and whether this copy is primary. State 'disabled' when it is not mirrored. */
  async info(): Promise<MirrorImageInfo> {
    return toInfo(await this.#call('info', (n) => api().info(n)));
  }

  /**
   * How the image is mirrored: 'journal' or 'snapshot' (like `rbd info`'s
   * `mirroring mode`). MirroringNotEnabled when it is not mirrored: 20.2's
   * librbd refuses then, 16.2's answers with a mode, so the state decides.
   */
  async mode(): Promise<MirrorImageMode> {
    let mode: number;
    try {
      mode = await this.#call('mode', (n) => api().mode(n));
    } catch (err) {
      return this.#diagnose(err, 'mode', () => undefined);
    }
    if ((await this.#call('mode', (n) => api().info(n))).state === MIRROR_IMAGE_STATE.value('disabled')) {
      throw this.#notEnabled('mode', 'rbd_mirror_image_get_mode');
    }
    return mirrorImageMode(mode);
  }

  /**
   * The id of the rbd-mirror instance of this cluster that replays the image
   * (as in `rbd mirror image status`'s daemon service), or null when none
   * does — the image is primary here, or no rbd-mirror daemon has taken it.
   */
  async instanceId(): Promise<string | null> {
    try {
      return await this.#call('instanceId', (n) => api().instanceId(n));
    } catch (err) {
      if (hasErrno(err, ENOENT)) return null;
      throw err;
    }
  }

  /**
   * Take a mirror snapshot of a snapshot-mode primary image (like `rbd
   * mirror image snapshot`): rbd-mirror copies what changed since the last
   * one to the peers. Resolves with the snapshot's id.
   */
  async createSnapshot(options?: MirrorSnapshotOptions): Promise<number> {
    const o = checkOptions<MirrorSnapshotOptions>(options);
    const skip = o.skipQuiesce === undefined ? false : checkBoolean(o.skipQuiesce, 'skipQuiesce');
    const ignore = o.ignoreQuiesceError === undefined ? false : checkBoolean(o.ignoreQuiesceError, 'ignoreQuiesceError');
    if (skip && ignore) throw new TypeError('skipQuiesce and ignoreQuiesceError exclude each other');
    const flags = SNAP_CREATE.of({ skipQuiesce: skip, ignoreQuiesceError: ignore });
    try {
      return await this.#image._roleChange(() => this.#call('createSnapshot', (n) => api().createSnapshot(n, flags)));
    } catch (err) {
      return this.#diagnose(err, 'createSnapshot', (i) =>
        !i.primary ? 'the image is not primary: mirror snapshots are taken on the primary copy' : undefined,
      );
    }
  }

  /**
   * The image's mirroring status on this site and on each peer site (like
   * `rbd mirror image status`), with each description's replay status parsed
   * (journal positions, snapshot sync progress) next to the raw text. Peer
   * sites are named after the pool's peers.
   */
  async status(): Promise<MirrorImageStatus> {
    let s: NativeMirrorGlobalStatus;
    try {
      s = await this.#call('status', (n) => api().globalStatus(n));
    } catch (err) {
      return this.#diagnose(err, 'status', () => undefined);
    }
    // Peers name the sites; where they cannot be listed (librbd keeps them per pool,
    // not per namespace) the statuses stay unnamed rather than failing.
    const peers = await this.#call('status', (n) => api().peerSites(n)).catch((err: unknown) => {
      if (err instanceof RbdError) return [];
      throw err;
    });
    if (s.info.state === MIRROR_IMAGE_STATE.value('disabled')) {
      // librbd answers with an empty status; the CLI refuses, and so do we.
      throw this.#notEnabled('status', 'rbd_mirror_image_get_global_status');
    }
    const { local, peers: sites } = mirrorSiteStatuses(s.siteStatuses, peers);
    return { name: s.name, info: toInfo(s.info), local, peers: sites };
  }

  /**
   * The image journal's header and registered clients (like `rbd journal
   * info` and `rbd journal status` together): the journal's layout, the
   * active and minimum object sets, and how far each client (the image
   * itself, and each peer's rbd-mirror) has committed. Rejects with NotFound
   * when the image has no journal (the journaling feature is off).
   */
  async journalStatus(): Promise<JournalStatus> {
    const read = (calls: Array<[string, Buffer]>): Promise<{ imageId: string; replies: Buffer[] }> =>
      this.#call('journalStatus', (n) => api().journalRead(n, calls));
    let head: { imageId: string; replies: Buffer[] };
    try {
      head = await read(HEADER_METHODS.map((m) => [m, Buffer.alloc(0)]));
    } catch (err) {
      if (hasErrno(err, ENOENT)) {
        throw this.#explain(err, 'journalStatus', 'the image has no journal: enable the journaling feature (or journal-mode mirroring)');
      }
      throw err;
    }
    const decoded = this.#decode(() => decodeHeader(head.replies));
    const clients: JournalClient[] = [];
    for (let after = ''; ; ) {
      const page = await read([['client_list', encodeClientListInput(after, CLIENT_PAGE)]]);
      const reply = page.replies[0] ?? Buffer.alloc(0);
      const list = this.#decode(() => decodeClientList(reply));
      clients.push(...list);
      const last = list[list.length - 1];
      if (list.length < CLIENT_PAGE || last === undefined) break;
      after = last.id;
    }
    const poolId = decoded.poolId >= 0 ? decoded.poolId : this.#image.pool.id();
    const objectPool =
      decoded.poolId >= 0 ? await this.#call('journalStatus', (n) => api().poolName(n, decoded.poolId)) : this.#image.pool.name;
    return {
      journalId: head.imageId,
      headerOid: `journal.${head.imageId}`,
      objectOidPrefix: `journal_data.${poolId}.${head.imageId}.`,
      order: decoded.order,
      splayWidth: decoded.splayWidth,
      objectPool,
      minimumSet: decoded.minimumSet,
      activeSet: decoded.activeSet,
      clients,
    };
  }

  /**
   * Where the journal has been appended up to: the newest entry and the newest
   * flush event, read from the tails of the active object set's data objects
   * (the previous set too when the active one holds no flush event yet). In
   * journal mode, a flush on the lock owner appends a flush event after every
   * write it acknowledged; rbd-mirror commits up to a flush event soon after
   * replaying it. Rejects with NotFound when the image has no journal.
   */
  async journalAppended(): Promise<JournalAppended> {
    const j = await this.journalStatus();
    const poolId = Number(j.objectOidPrefix.split('.')[1]);
    let newest: JournalPosition | null = null;
    let newestFlush: JournalPosition | null = null;
    for (let set = j.activeSet; set >= Math.max(j.minimumSet, j.activeSet - 1) && newestFlush === null; set--) {
      const numbers = Array.from({ length: j.splayWidth }, (_, i) => set * j.splayWidth + i);
      const tails = await this.#call('journalAppended', (n) =>
        api().journalTail(n, poolId, numbers.map((o) => `${j.objectOidPrefix}${o}`), JOURNAL_TAIL_BYTES),
      );
      tails.forEach((t, i) => {
        const objectNumber = numbers[i] as number;
        for (const e of decodeJournalTail(t.tail, t.size <= JOURNAL_TAIL_BYTES)) {
          const p = { objectNumber, tagTid: e.tagTid, entryTid: e.entryTid };
          if (newest === null || !positionReached(newest, p)) newest = p;
          if (e.eventType === EVENT_TYPE_AIO_FLUSH && (newestFlush === null || !positionReached(newestFlush, p))) newestFlush = p;
        }
      });
    }
    return { newest, newestFlush };
  }

  // A reply that does not decode is EBADMSG, as the journal library reports it.
  #decode<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw rbdError(EBADMSG, this.#context('journalStatus'), `cannot decode the journal header: ${(err as Error).message}`);
    }
  }

  // ---- waiting and watching (lib/mirror/wait.ts, lib/mirror/watch.ts)

  /**
   * Resolve once every peer has caught up with what was written to this
   * primary copy before the call (journal mode: the peers' journal replay
   * reaches the primary position; snapshot mode: a mirror snapshot taken now
   * is synced). Rejects with Timeout (ETIMEDOUT, `lastStatus` attached),
   * AbortError on `signal`, InvalidArgument on a non-primary copy. See lib/mirror/wait.ts.
   */
  waitForReplication(options?: WaitForReplicationOptions): Promise<ReplicationWaitResult> {
    return waitForReplicationImpl(this.#image, options);
  }

  /**
   * Replication lag (like csi-addons' GetVolumeReplicationInfo): per site
   * lastSyncTime / lastSyncDuration / lastSyncBytes (snapshot mode), entries
   * and bytes behind and the oldest unreplicated write's time (journal mode,
   * read from the journal on the primary), dataAsOf and lagMs; the worst
   * site's at the top. Unknown figures are null. See lib/mirror/lag.ts.
   */
  lag(options?: MirrorLagOptions): Promise<MirrorImageLag> {
    return imageLag(this.#image, options);
  }

  /** Poll status() until it matches a predicate or { local?, peer?, up? }; resolves with the matching status. */
  waitForState(
    match: ((status: MirrorImageStatus) => boolean) | MirrorStateMatch,
    options?: MirrorWaitOptions,
  ): Promise<MirrorImageStatus> {
    return waitForStateImpl(this.#image, match, options);
  }

  /** Watch this image's mirroring status: pool.mirror.watch() filtered to this image (shares the pool's poll). */
  watch(options?: MirrorWatchOptions): MirrorStatusWatcher {
    if (this.#image.closed) throw closedError(this.#context('watch'), 'image');
    return new MirrorStatusWatcher(this.#image.pool, this.#image.name, options);
  }
}

function toInfo(i: NativeMirrorInfo): MirrorImageInfo {
  return { globalId: i.globalId, state: mirrorImageState(i.state), primary: i.primary };
}
