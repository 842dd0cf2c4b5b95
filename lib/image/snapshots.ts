/** Snapshots of an image and clones of them: `rbd snap ...`, `rbd clone`, `rbd children`. */
import { fromNative, type ErrorContext } from '../core/errors';
import { featureBits } from '../core/features';
import type { Image } from './image';
import type { NativeImage, NativePool } from '../core/native';
import { nativeArea } from '../core/native';
import { Pool } from '../pool/pool';
import { withProgress, type ProgressCallback } from '../core/progress';
import { checkBoolean, checkInt, checkName, checkOptions } from '../core/validate';

/** What librbd reports for one snapshot (native/snapshots.cc ListWorker). */
interface NativeSnapshotInfo {
  id: number;
  name: string;
  size: number;
  /** rbd_snap_namespace_type_t. */
  namespaceType: number;
  timestampMs: number;
  protected: boolean;
  /** rbd_snap_get_mirror_namespace, for mirror snapshots. */
  mirror?: {
    state: number;
    mirrorPeerUuids: string[];
    complete: boolean;
    primaryMirrorUuid: string;
    primarySnapId: number;
    lastCopiedObjectNumber: number;
  };
  /** rbd_snap_get_trash_namespace, for trash snapshots. */
  trashOriginalName?: string;
}

/** An rbd_linked_image_spec_t. */
interface NativeLinkedImage {
  poolId: number;
  pool: string;
  namespace: string;
  id: string;
  name: string;
  trash: boolean;
}

type NativeProgress = ProgressCallback;

/** The native functions of this area (native/snapshots.cc). */
interface NativeImageSnapshots {
  create(image: NativeImage, name: string, flags: number): Promise<void>;
  list(image: NativeImage): Promise<NativeSnapshotInfo[]>;
  remove(image: NativeImage, name: string, flags: number, onProgress?: NativeProgress): Promise<void>;
  rollback(image: NativeImage, name: string, onProgress?: NativeProgress): Promise<void>;
  rename(image: NativeImage, from: string, to: string): Promise<void>;
  protect(image: NativeImage, name: string): Promise<void>;
  unprotect(image: NativeImage, name: string): Promise<void>;
  /** rbd_snap_set; null: back to the head. */
  set(image: NativeImage, name: string | null): Promise<void>;
  isProtected(image: NativeImage, name: string): Promise<boolean>;
  exists(image: NativeImage, name: string): Promise<boolean>;
  /** 2^64-1 when there is no limit. */
  getLimit(image: NativeImage): Promise<bigint>;
  setLimit(image: NativeImage, limit: number | bigint): Promise<void>;
  /** rbd_clone3 with RBD_IMAGE_OPTION_* [key, value] pairs. */
  clone(
    image: NativeImage,
    snapshot: string,
    target: NativePool,
    name: string,
    options: Array<[number, number | bigint]>,
  ): Promise<void>;
  /** rbd_list_children3 / rbd_list_descendants, at `snapshot` or at the handle's current snapshot (null). */
  children(image: NativeImage, snapshot: string | null, descendants: boolean): Promise<NativeLinkedImage[]>;
  getId(image: NativeImage, name: string): Promise<number>;
  getName(image: NativeImage, id: number): Promise<string>;
  setById(image: NativeImage, id: number): Promise<void>;
  removeById(image: NativeImage, id: number): Promise<void>;
}

const api = (): NativeImageSnapshots => nativeArea<NativeImageSnapshots>('snapshots');

/** librbd's RBD_SNAP_CREATE_* flags. */
const SnapCreate = { skipQuiesce: 1 << 0, ignoreQuiesceError: 1 << 1 } as const;
/** librbd's RBD_SNAP_REMOVE_FORCE (= UNPROTECT | FLATTEN). */
const SNAP_REMOVE_FORCE = (1 << 0) | (1 << 1);
/** librbd's RBD_IMAGE_OPTION_* keys used by clone. */
const ImageOption = { features: 1, order: 2, stripeUnit: 3, stripeCount: 4, cloneFormat: 12 } as const;
const NO_LIMIT = (1n << 64n) - 1n;

function toMirrorInfo(m: NonNullable<NativeSnapshotInfo['mirror']>): MirrorSnapshotInfo {
  return {
    state: MIRROR_SNAP_STATES[m.state] ?? (`unknown(${m.state})` as const),
    complete: m.complete,
    mirrorPeerUuids: m.mirrorPeerUuids,
    primaryMirrorUuid: m.primaryMirrorUuid,
    // CEPH_NOSNAP (2^64 - 2) on primary snapshots.
    primarySnapId: m.primarySnapId <= Number.MAX_SAFE_INTEGER ? m.primarySnapId : null,
    lastCopiedObjectNumber: m.lastCopiedObjectNumber,
  };
}

/** rbd_snap_namespace_type_t by value, as `rbd snap ls --all` names them. */
const NAMESPACES = ['user', 'group', 'trash', 'mirror'] as const;

/** A namespace type this version does not know, as `unknown(<value>)`. */
export type UnknownSnapshotNamespace = `unknown(${number})`;
/**
 * Which kind of snapshot: 'user' (made by `rbd snap create`), 'group' (part of
 * a group snapshot), 'trash' (removed while clones still depend on it),
 * 'mirror' (made by snapshot-based mirroring).
 */
export type SnapshotNamespace = (typeof NAMESPACES)[number] | UnknownSnapshotNamespace;

/** rbd_snap_mirror_state_t by value, as `rbd snap ls --all` names them. */
const MIRROR_SNAP_STATES: readonly MirrorSnapshotState[] = ['primary', 'primary-demoted', 'non-primary', 'non-primary-demoted'];

/**
 * The role of a mirror snapshot: 'primary' (taken on the primary copy),
 * 'primary-demoted' (the last one a demotion took), 'non-primary' (a copy of a
 * primary one, made by rbd-mirror on the peer), 'non-primary-demoted' (a copy
 * of a demotion snapshot).
 */
export type MirrorSnapshotState =
  | 'primary'
  | 'primary-demoted'
  | 'non-primary'
  | 'non-primary-demoted'
  | `unknown(${number})`;

/** What a mirror snapshot records (rbd_snap_get_mirror_namespace), as `rbd snap ls --all` shows it. */
export interface MirrorSnapshotInfo {
  /** Its role: primary, primary-demoted, non-primary or non-primary-demoted. */
  state: MirrorSnapshotState;
  /** Whether it is complete: a non-primary one is complete once rbd-mirror has copied all of it. */
  complete: boolean;
  /** Primary snapshots: the mirror uuids of the peers still to sync it (unlinked as they do). */
  mirrorPeerUuids: string[];
  /** Non-primary snapshots: the mirror uuid of the primary site it copies; '' on primary ones. */
  primaryMirrorUuid: string;
  /** Non-primary snapshots: the id of the primary snapshot it copies (on the primary's image); null on primary ones. */
  primarySnapId: number | null;
  /** Non-primary snapshots still copying: the last object copied so far; 0 otherwise. */
  lastCopiedObjectNumber: number;
}

/** A snapshot of an image, as `rbd snap ls --all` lists it. */
export interface SnapshotInfo {
  /** The snapshot id (librbd's snap_id). */
  id: number;
  /** The snapshot name (generated by librbd for group, trash and mirror snapshots). */
  name: string;
  /** The image's size when the snapshot was taken, in bytes. */
  size: number;
  /** Which kind of snapshot it is. */
  namespace: SnapshotNamespace;
  /** When the snapshot was taken. */
  timestamp: Date;
  /** Whether the snapshot is protected (only user snapshots can be). */
  protected: boolean;
  /** Mirror snapshots only: their mirroring state. */
  mirror?: MirrorSnapshotInfo;
  /** Trash snapshots only: the name the snapshot had before it was removed. */
  trashOriginalName?: string;
}

/** Options of `image.snapshots.create()`, like `rbd snap create`'s. */
export interface CreateSnapshotOptions {
  /** Do not ask the image's users (e.g. rbd-nbd with hooks) to quiesce I/O first. */
  skipQuiesce?: boolean;
  /** Take the snapshot even if quiescing fails. */
  ignoreQuiesceError?: boolean;
}

/** Options of `image.snapshots.remove()`. */
export interface RemoveSnapshotOptions {
  /** Unprotect the snapshot and flatten its clones if needed (`rbd snap rm --force`). */
  force?: boolean;
  /** Called with progress as the snapshot's objects are removed. */
  onProgress?: ProgressCallback;
}

/** Options of `image.snapshots.rollback()`. */
export interface RollbackOptions {
  /** Called with progress as the image's objects are rolled back. */
  onProgress?: ProgressCallback;
}

/** How `image.snapshots.clone()` creates the clone, like `rbd clone`'s options. */
export interface CloneOptions {
  /** Features of the clone by name; default: the parent's features. */
  features?: readonly string[];
  /** Object size of the clone as a power of two, 12 to 25; default: the parent's. */
  order?: number;
  /** Striping of the clone: stripe unit in bytes and stripe count (both or neither). */
  stripeUnit?: number;
  /** Striping of the clone: objects a stripe spans (with `stripeUnit`). */
  stripeCount?: number;
  /**
   * Clone format: 1 needs a protected snapshot; 2 (Mimic and later clients)
   * does not. Default: librbd's choice (rbd_default_clone_format, 'auto').
   */
  cloneFormat?: 1 | 2;
}

/** Options of `image.snapshots.children()`. */
export interface ChildrenOptions {
  /** All generations (clones of clones...) rather than direct children only (`rbd children --descendants`). */
  descendants?: boolean;
}

/** An image cloned from a snapshot. */
export interface ChildImage {
  /** The child's pool id. */
  poolId: number;
  /** The child's pool name. */
  pool: string;
  /** RBD namespace of the child ('' for the default one). */
  namespace: string;
  /** The child image's id. */
  id: string;
  /** The child image's name. */
  name: string;
  /** True when the child has been moved to the trash (`rbd children --all` shows these). */
  trash: boolean;
}

function namespaceName(n: number): SnapshotNamespace {
  return NAMESPACES[n] ?? (`unknown(${n})` as UnknownSnapshotNamespace);
}

/** An optional boolean option. */
function flag(value: unknown, what: string): boolean {
  return value === undefined ? false : checkBoolean(value, what);
}

/** Carries an error through an inner _call without it being converted there. */
class Carried extends Error {
  constructor(readonly inner: unknown) {
    super('carried');
  }
}

/**
 * Snapshots of an image: `rbd snap ...`, and clones of them (`rbd clone`,
 * `rbd children`). Reach it as `image.snapshots`.
 *
 * A missing snapshot rejects with SnapshotNotFound (its `snapshot` field names
 * it); a name already taken with ImageExists (EEXIST); a change to an image
 * opened read-only or at a snapshot with ReadOnlyImage (EROFS).
 */
export class ImageSnapshots {
  readonly #image: Image;

  /** @internal Made by the Image; reach it as `image.snapshots`. */
  constructor(image: Image) {
    this.#image = image;
  }

  /** Take a snapshot of the image as it is now (`rbd snap create image@name`). */
  async create(name: string, options?: CreateSnapshotOptions): Promise<void> {
    checkName(name, 'snapshot name');
    const o = checkOptions<CreateSnapshotOptions>(options);
    let flags = 0;
    if (flag(o.skipQuiesce, 'skipQuiesce')) flags |= SnapCreate.skipQuiesce;
    if (flag(o.ignoreQuiesceError, 'ignoreQuiesceError')) flags |= SnapCreate.ignoreQuiesceError;
    await this.#image._call('createSnapshot', (n) => api().create(n, name, flags), { snapshot: name });
  }

  /**
   * Every snapshot of the image, oldest first, of every namespace (user, group,
   * trash, mirror), like `rbd snap ls --all`. Filter on `namespace === 'user'`
   * for what plain `rbd snap ls` shows.
   */
  async list(): Promise<SnapshotInfo[]> {
    const snaps = await this.#image._call('listSnapshots', (n) => api().list(n));
    return snaps
      .map((s) => ({
        id: s.id,
        name: s.name,
        size: s.size,
        namespace: namespaceName(s.namespaceType),
        timestamp: new Date(s.timestampMs),
        protected: s.protected,
        ...(s.mirror ? { mirror: toMirrorInfo(s.mirror) } : {}),
        ...(s.trashOriginalName !== undefined ? { trashOriginalName: s.trashOriginalName } : {}),
      }))
      .sort((a, b) => a.id - b.id);
  }

  /**
   * The id of user snapshot `name` (rbd_snap_get_id). librbd looks the name up
   * in the user namespace only: mirror, group and trash snapshots are found by
   * id (list(), name()). NotFound when there is none.
   */
  async id(name: string): Promise<number> {
    checkName(name, 'snapshot name');
    return this.#image._call('getSnapshotId', (n) => api().getId(n, name), { snapshot: name });
  }

  /** The name of the snapshot with id `id` (rbd_snap_get_name), of any namespace. NotFound when there is none. */
  async name(id: number): Promise<string> {
    checkInt(id, 'snapshot id', 0, Number.MAX_SAFE_INTEGER);
    return this.#image._call('getSnapshotName', (n) => api().getName(n, id));
  }

  /**
   * Read the image at the snapshot with id `id` (rbd_snap_set_by_id), which
   * reaches snapshots of every namespace (mirror and trash ones too, whose
   * names are librbd's own); `null` returns to the head. See setCurrent().
   */
  async setCurrentById(id: number | null): Promise<void> {
    if (id !== null) checkInt(id, 'snapshot id', 0, Number.MAX_SAFE_INTEGER);
    // rbd_snap_set_by_id takes CEPH_NOSNAP for the head.
    await this.#image._call('setSnapshotById', (n) => (id === null ? api().set(n, null) : api().setById(n, id)));
    this.#image._sizeChanged();
  }

  /**
   * Remove the snapshot with id `id` (rbd_snap_remove_by_id), of any
   * namespace: the way to remove a trash-namespace snapshot left behind (librbd
   * removes one itself when its last clone goes). Refused with ImageBusy while
   * a clone depends on it, or when a user snapshot is protected.
   */
  async removeById(id: number): Promise<void> {
    checkInt(id, 'snapshot id', 0, Number.MAX_SAFE_INTEGER);
    await this.#image._call('removeSnapshotById', (n) => api().removeById(n, id));
  }

  /**
   * Remove a snapshot (`rbd snap rm`). A protected snapshot is refused with
   * ImageBusy unless `force` is given, which unprotects it and flattens its
   * clones first (`rbd snap rm --force`).
   */
  async remove(name: string, options?: RemoveSnapshotOptions): Promise<void> {
    checkName(name, 'snapshot name');
    const o = checkOptions<RemoveSnapshotOptions>(options);
    const flags = flag(o.force, 'force') ? SNAP_REMOVE_FORCE : 0;
    await withProgress(o.onProgress, (cb) =>
      this.#image._call('removeSnapshot', (n) => api().remove(n, name, flags, cb), this.#about(name)),
    );
  }

  /** Rename a snapshot (`rbd snap rename image@from to`). */
  async rename(from: string, to: string): Promise<void> {
    checkName(from, 'snapshot name');
    checkName(to, 'new snapshot name');
    await this.#image._call('renameSnapshot', (n) => api().rename(n, from, to), this.#about(from));
  }

  /**
   * Roll the image's content and size back to a snapshot (`rbd snap rollback`).
   * `onProgress(done, total)` is called as objects are rolled back (total is
   * the snapshot's object count); a successful rollback ends with a call of
   * done === total, before the promise resolves.
   */
  async rollback(name: string, options?: RollbackOptions): Promise<void> {
    checkName(name, 'snapshot name');
    const o = checkOptions<RollbackOptions>(options);
    try {
      await withProgress(o.onProgress, (cb) =>
        this.#image._call('rollbackSnapshot', (n) => api().rollback(n, name, cb), this.#about(name)),
      );
    } finally {
      this.#image._sizeChanged(); // the snapshot's size may differ
    }
  }

  /**
   * Protect a snapshot from removal (`rbd snap protect`), as clone format 1
   * needs. Protecting a protected snapshot rejects with ImageBusy (EBUSY).
   */
  async protect(name: string): Promise<void> {
    checkName(name, 'snapshot name');
    await this.#image._call('protectSnapshot', (n) => api().protect(n, name), this.#about(name));
  }

  /**
   * Allow a protected snapshot to be removed again (`rbd snap unprotect`).
   * Rejects with ImageBusy while clones depend on it, and with InvalidArgument
   * if it is not protected.
   */
  async unprotect(name: string): Promise<void> {
    checkName(name, 'snapshot name');
    await this.#image._call('unprotectSnapshot', (n) => api().unprotect(n, name), this.#about(name));
  }

  /** Whether a snapshot is protected. Rejects with SnapshotNotFound if there is none. */
  async isProtected(name: string): Promise<boolean> {
    checkName(name, 'snapshot name');
    return await this.#image._call('isSnapshotProtected', (n) => api().isProtected(n, name), this.#about(name));
  }

  /** Whether the image has a (user) snapshot of this name. */
  async exists(name: string): Promise<boolean> {
    checkName(name, 'snapshot name');
    return await this.#image._call('snapshotExists', (n) => api().exists(n, name), { snapshot: name });
  }

  /**
   * Read the image at a snapshot from now on (rbd_snap_set): reads, `stat()`
   * and `children()` see the snapshot; `null` returns to the image's head.
   * Snapshot operations (create, rollback...) still act on the image itself:
   * a snapshot created meanwhile is a snapshot of the head. Opening with
   * `pool.openImage(name, { snapshot })` reads at a snapshot from the start,
   * read-only.
   */
  async setCurrent(name: string | null): Promise<void> {
    if (name !== null) checkName(name, 'snapshot name');
    await this.#image._call('setSnapshot', (n) => api().set(n, name), name === null ? {} : this.#about(name));
  }

  /** The most snapshots the image may have, or null when unlimited (`rbd snap limit`). */
  async limit(): Promise<number | null> {
    const l = await this.#image._call('getSnapshotLimit', (n) => api().getLimit(n));
    return l === NO_LIMIT ? null : Number(l);
  }

  /**
   * Allow at most `limit` snapshots (`rbd snap limit set --limit`). Creating
   * one more then rejects with DiskQuotaExceeded (EDQUOT).
   */
  async setLimit(limit: number): Promise<void> {
    checkInt(limit, 'limit', 0, Number.MAX_SAFE_INTEGER);
    await this.#image._call('setSnapshotLimit', (n) => api().setLimit(n, limit));
  }

  /** Remove the snapshot limit (`rbd snap limit clear`). */
  async removeLimit(): Promise<void> {
    await this.#image._call('setSnapshotLimit', (n) => api().setLimit(n, NO_LIMIT));
  }

  /**
   * Clone a snapshot of this image into a new image `name` in `targetPool`
   * (`rbd clone image@snapshot pool/name`). With clone format 1 the snapshot
   * must be protected (InvalidArgument otherwise). The target pool may be this
   * image's pool or another one, on the same cluster.
   */
  async clone(snapshot: string, targetPool: Pool, name: string, options?: CloneOptions): Promise<void> {
    checkName(snapshot, 'snapshot name');
    // instanceof, not a look for _call: an Image has one too.
    if (!(targetPool instanceof Pool)) throw new TypeError('targetPool must be a Pool');
    checkName(name, 'clone name');
    const o = checkOptions<CloneOptions>(options);
    const opts: Array<[number, number]> = [];
    if (o.features !== undefined) {
      if (!Array.isArray(o.features)) throw new TypeError('features must be an array of feature names');
      opts.push([ImageOption.features, featureBits(o.features)]);
    }
    if (o.order !== undefined) opts.push([ImageOption.order, checkInt(o.order, 'order', 12, 25)]);
    if ((o.stripeUnit === undefined) !== (o.stripeCount === undefined)) {
      throw new TypeError('give both stripeUnit and stripeCount, or neither');
    }
    if (o.stripeUnit !== undefined) {
      opts.push([ImageOption.stripeUnit, checkInt(o.stripeUnit, 'stripeUnit', 1, 2 ** 32)]);
      opts.push([ImageOption.stripeCount, checkInt(o.stripeCount, 'stripeCount', 1, 2 ** 32)]);
    }
    if (o.cloneFormat !== undefined) opts.push([ImageOption.cloneFormat, checkInt(o.cloneFormat, 'cloneFormat', 1, 2)]);

    // The last check (it asks each cluster for its fsid). librbd links a clone to
    // its parent by pool id: across clusters it would "succeed" and point at
    // whatever has that id there.
    if (!targetPool.closed && !this.#image.pool.closed && targetPool.cluster.fsid() !== this.#image.pool.cluster.fsid()) {
      throw new RangeError('targetPool must be a pool of the image\'s cluster: a clone cannot have its parent in another cluster');
    }
    // Both handles must stay open for the call: run it as an in-flight operation
    // of each. The native error is converted once, here, with the parent's names.
    const image = this.#image;
    const ctx: ErrorContext = {
      op: 'clone',
      cluster: image.pool.cluster.name,
      pool: image.pool.name,
      namespace: image.pool.namespace,
      image: image.name,
      snapshot,
      subject: 'snapshot',
    };
    try {
      await image._call('clone', async (img) => {
        try {
          await targetPool._call('clone', (pool) =>
            api()
              .clone(img, snapshot, pool, name, opts)
              .catch((e: unknown) => {
                throw new Carried(e);
              }),
          );
        } catch (e) {
          // A raw native error, or the target pool's own (closed) error already converted.
          throw new Carried(e instanceof Carried ? fromNative(e.inner, ctx) : e);
        }
      });
    } catch (e) {
      throw e instanceof Carried ? e.inner : e;
    }
  }

  /**
   * Images cloned from a snapshot of this image (`rbd children image@snapshot`),
   * including trashed ones (marked `trash`, as `rbd children --all` shows them).
   * Without `snapshot`: from the snapshot the image is read at (openImage's
   * `snapshot` or setCurrent), or, when it is at its head, from all its snapshots.
   */
  async children(snapshot?: string | null, options?: ChildrenOptions): Promise<ChildImage[]> {
    const snap = snapshot === undefined || snapshot === null ? null : checkName(snapshot, 'snapshot name');
    const o = checkOptions<ChildrenOptions>(options);
    const descendants = flag(o.descendants, 'descendants');
    const list = await this.#image._call(
      'listChildren',
      (n) => api().children(n, snap, descendants),
      snap === null ? {} : this.#about(snap),
    );
    return list.map((c) => ({ poolId: c.poolId, pool: c.pool, namespace: c.namespace, id: c.id, name: c.name, trash: c.trash }));
  }

  /** The error context of a call about one snapshot: ENOENT means the snapshot. */
  #about(snapshot: string): Partial<ErrorContext> {
    return { snapshot, subject: 'snapshot' };
  }
}
