/** Groups of images and their snapshots: `rbd group ...`. */
import { closedError, type ErrorContext } from '../core/errors';
import type { NativePool } from '../core/native';
import { native, type NativeBinding } from '../core/native';
import type { Pool } from './pool';
import { isHandle } from '../core/resource';
import { type ProgressCallback, withProgress } from '../core/progress';
import { checkBoolean, checkName, checkOptions } from '../core/validate';
import { GROUP_IMAGE_STATE, GROUP_SNAP_STATE, SNAP_CREATE } from '../core/constants';

/** Options of `pool.groups.createSnapshot()`, like `rbd group snap create`'s. */
export interface GroupSnapshotOptions {
  /** Do not ask the images' users to quiesce I/O first (`--skip-quiesce`). */
  skipQuiesce?: boolean;
  /** Take the snapshot even if quiescing fails (`--ignore-quiesce-error`). */
  ignoreQuiesceError?: boolean;
}



const api = (): NativeBinding['groups'] => native().groups;

/** An image's membership of a group (rbd_group_image_state_t). */
export type GroupImageState = 'attached' | 'incomplete' | `unknown(${number})`;
/** A group snapshot's state (rbd_group_snap_state_t). */
export type GroupSnapshotState = 'incomplete' | 'complete' | `unknown(${number})`;


/** An image in a group (like a row of `rbd group image ls`). */
export interface GroupImage {
  /** The image's name. */
  name: string;
  /** The name of the image's pool, or null if this client cannot resolve `poolId`. */
  pool: string | null;
  /** The id of the image's pool. */
  poolId: number;
  /** 'attached', or 'incomplete' while being added or removed. */
  state: GroupImageState;
}

/** A snapshot of a group (like a row of `rbd group snap ls`). */
export interface GroupSnapshot {
  /** The group snapshot's name. */
  name: string;
  /** 'complete', or 'incomplete' while being taken (or after a failed attempt). */
  state: GroupSnapshotState;
}

/** Options of `pool.groups.rollback()`. */
export interface GroupRollbackOptions {
  /** Called with progress as the images are rolled back. */
  onProgress?: ProgressCallback;
}

const ENOENT = 2;

/** Duck-typed: the addon's errors come from another realm under jest's VM sandbox. */
function isNativeEnoent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { errno?: unknown }).errno === ENOENT;
}

/** The pool's image groups (`pool.groups`), like `rbd group ...`. */
export class PoolGroups {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.groups`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /**
   * Run a call about `group`. librbd answers ENOENT both for a missing group
   * and for a missing thing inside it (an image, a snapshot): when `inner` is
   * given and the group does exist, the error is about the inner thing instead.
   */
  #call<T>(
    op: string,
    group: string,
    fn: (n: NativePool) => Promise<T>,
    inner?: Partial<ErrorContext>,
  ): Promise<T> {
    // Resource.run names the error from this object when the call has failed:
    // the catch below settles which subject it is about before rethrowing.
    const ctx: Partial<ErrorContext> = { group, subject: 'group', ...(inner?.snapshot ? { snapshot: inner.snapshot } : {}) };
    return this.#pool._call(
      op,
      async (n) => {
        try {
          return await fn(n);
        } catch (err) {
          if (inner && isNativeEnoent(err)) {
            const groups = await api()
              .list(n)
              .catch(() => [] as string[]);
            if (groups.includes(group)) Object.assign(ctx, inner);
          }
          throw err;
        }
      },
      ctx,
    );
  }

  /** Create a group (like `rbd group create`). Rejects with an EEXIST error if the name is taken. */
  async create(name: string): Promise<void> {
    checkName(name, 'group name');
    await this.#call('groups.create', name, (n) => api().create(n, name));
  }

  /**
   * Remove a group (like `rbd group remove`): its images leave the group, its
   * group snapshots are removed. Removing a group that does not exist
   * succeeds, as it does in librbd and the CLI.
   */
  async remove(name: string): Promise<void> {
    checkName(name, 'group name');
    await this.#call('groups.remove', name, (n) => api().remove(n, name));
  }

  /** Names of the groups in the pool (namespace), sorted (like `rbd group ls`). */
  async list(): Promise<string[]> {
    const names = await this.#pool._call('groups.list', (n) => api().list(n));
    return names.sort();
  }

  /**
   * Rename a group (like `rbd group rename`). Rejects with GroupNotFound if
   * `from` does not exist, an EEXIST error if `to` does.
   */
  async rename(from: string, to: string): Promise<void> {
    checkName(from, 'group name');
    checkName(to, 'new group name');
    await this.#call('groups.rename', from, (n) => api().rename(n, from, to));
  }

  /**
   * Add an image to a group (like `rbd group image add`). The image may live
   * in another pool (or namespace): pass that pool. Rejects with GroupNotFound
   * or ImageNotFound.
   */
  async addImage(group: string, imagePool: Pool, imageName: string): Promise<void> {
    await this.#imageCall('groups.addImage', group, imagePool, imageName, (n, m) => api().addImage(n, group, m, imageName));
  }

  /**
   * Take an image out of a group (like `rbd group image remove`). Rejects with
   * GroupNotFound, or ImageNotFound when there is no such image; an image that
   * exists but is not in the group is left alone without an error, as librbd does.
   */
  async removeImage(group: string, imagePool: Pool, imageName: string): Promise<void> {
    await this.#imageCall('groups.removeImage', group, imagePool, imageName, (n, m) =>
      api().removeImage(n, group, m, imageName),
    );
  }

  /**
   * Take an image out of a group by its image id (rbd_group_image_remove_by_id),
   * for when its name does not resolve: an image moved to the trash stays in
   * its group (and comes back with it when restored) though `listImages()` and
   * `rbd group image ls` no longer show it, and `removeImage()` by name finds
   * no such image; its id is in `pool.trash.list()`. Rejects with
   * GroupNotFound; an id that is not in the group (or that no image has)
   * changes nothing and succeeds, as librbd does.
   */
  async removeImageById(group: string, imagePool: Pool, imageId: string): Promise<void> {
    await this.#imageCall(
      'groups.removeImageById',
      group,
      imagePool,
      imageId,
      (n, m) => api().removeImageById(n, group, m, imageId),
      'image id',
    );
  }

  async #imageCall(
    op: string,
    group: string,
    imagePool: Pool,
    imageName: string,
    fn: (n: NativePool, m: NativePool) => Promise<void>,
    what = 'image name',
  ): Promise<void> {
    checkName(group, 'group name');
    if (!isHandle<Pool>(imagePool, 'pool')) throw new TypeError('imagePool must be a Pool');
    checkName(imageName, what);
    const imageCtx = { pool: imagePool.name, namespace: imagePool.namespace, image: imageName, subject: 'image' as const };
    if (imagePool.closed) throw closedError({ op, ...imageCtx }, 'pool');
    // Groups and images refer to each other by pool id: another cluster's pool would be linked as if it were this one's.
    if (!this.#pool.closed && imagePool.cluster.fsid() !== this.#pool.cluster.fsid()) {
      throw new RangeError("imagePool must be a pool of the group's cluster");
    }
    // The image's pool counts the call as in flight too; its own error naming
    // is skipped (the raw native error goes to the group pool's, which names both).
    await this.#call(
      op,
      group,
      (n) => {
        let raw: unknown;
        return imagePool
          ._call(op, (m) =>
            fn(n, m).catch((err: unknown) => {
              raw = err;
              throw err;
            }),
          )
          .catch((err: unknown) => {
            throw raw ?? err;
          });
      },
      imageCtx,
    );
  }

  /**
   * The images in a group (like `rbd group image ls`). librbd reports an empty
   * list for a group that does not exist; so does this.
   */
  async listImages(group: string): Promise<GroupImage[]> {
    checkName(group, 'group name');
    const rows = await this.#call('groups.listImages', group, (n) => api().listImages(n, group));
    return rows.map((r) => ({
      name: r.name,
      pool: r.pool,
      poolId: r.poolId,
      state: GROUP_IMAGE_STATE.name(r.state),
    }));
  }

  /**
   * Snapshot every image of the group at once (like `rbd group snap create`,
   * rbd_group_snap_create2). Like an image snapshot, librbd first asks the
   * images' users to quiesce I/O (rbd-nbd quiesce hooks); `skipQuiesce` and
   * `ignoreQuiesceError` are `--skip-quiesce` and `--ignore-quiesce-error`.
   * Rejects with GroupNotFound, or an EEXIST error if the name is taken.
   */
  async createSnapshot(group: string, snap: string, options?: GroupSnapshotOptions): Promise<void> {
    checkName(group, 'group name');
    checkName(snap, 'snapshot name');
    const o = checkOptions<GroupSnapshotOptions>(options);
    const flags = SNAP_CREATE.of({
      skipQuiesce: o.skipQuiesce === undefined ? false : checkBoolean(o.skipQuiesce, 'skipQuiesce'),
      ignoreQuiesceError: o.ignoreQuiesceError === undefined ? false : checkBoolean(o.ignoreQuiesceError, 'ignoreQuiesceError'),
    });
    await this.#call('groups.createSnapshot', group, (n) => api().createSnapshot(n, group, snap, flags), { snapshot: snap });
  }

  /**
   * The group's snapshots (like `rbd group snap ls`). librbd reports an empty
   * list for a group that does not exist; so does this.
   */
  async listSnapshots(group: string): Promise<GroupSnapshot[]> {
    checkName(group, 'group name');
    const rows = await this.#call('groups.listSnapshots', group, (n) => api().listSnapshots(n, group));
    return rows.map((r) => ({ name: r.name, state: GROUP_SNAP_STATE.name(r.state) }));
  }

  /** Remove a group snapshot (like `rbd group snap rm`). Rejects with GroupNotFound or SnapshotNotFound. */
  async removeSnapshot(group: string, snap: string): Promise<void> {
    checkName(group, 'group name');
    checkName(snap, 'snapshot name');
    await this.#call('groups.removeSnapshot', group, (n) => api().removeSnapshot(n, group, snap), {
      snapshot: snap,
      subject: 'snapshot',
    });
  }

  /** Rename a group snapshot (like `rbd group snap rename`). Rejects with GroupNotFound or SnapshotNotFound. */
  async renameSnapshot(group: string, from: string, to: string): Promise<void> {
    checkName(group, 'group name');
    checkName(from, 'snapshot name');
    checkName(to, 'new snapshot name');
    await this.#call('groups.renameSnapshot', group, (n) => api().renameSnapshot(n, group, from, to), {
      snapshot: from,
      subject: 'snapshot',
    });
  }

  /**
   * Roll every image of the group back to a group snapshot (like
   * `rbd group snap rollback`): data and size. Rejects with GroupNotFound or SnapshotNotFound.
   */
  async rollbackSnapshot(group: string, snap: string, options?: GroupRollbackOptions): Promise<void> {
    checkName(group, 'group name');
    checkName(snap, 'snapshot name');
    const o = checkOptions<GroupRollbackOptions>(options);
    await withProgress(o.onProgress, (cb) =>
      this.#call('groups.rollbackSnapshot', group, (n) => api().rollbackSnapshot(n, group, snap, cb), {
        snapshot: snap,
        subject: 'snapshot',
      }),
    );
  }
}
