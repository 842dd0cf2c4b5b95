/** The pool's trash: `rbd trash ...`. */
import type { NativePool, NativeTrashEntry } from '../core/native';
import type { Pool } from './pool';
import { native, type NativeBinding } from '../core/native';
import { type ProgressCallback, withProgress } from '../core/progress';
import { TRASH_SOURCE } from '../core/constants';
import { checkBoolean, checkInt, checkName, checkOptions } from '../core/validate';
import { closedError } from '../core/errors';
import { checkInterval, checkStartTime } from '../mirror/schedules';
import {
  addPurgeSchedule,
  listPurgeSchedules,
  purgeLevelSpec,
  purgeScheduleStatus,
  removePurgeSchedule,
  type PurgeScheduleLevel,
  type PurgeScheduleStatus,
} from './trash-schedules';



const api = (): NativeBinding['trash'] => native().trash;

/** Why an image is in the trash (librbd's rbd_trash_image_source_t), as `rbd trash ls --all` shows it. */
export type TrashSource = 'user' | 'mirroring' | 'migration' | 'removing' | 'user-parent' | `unknown(${number})`;


/** An image in the trash. */
export interface TrashEntry {
  /** The image id: what get(), restore() and remove() take. */
  id: string;
  /** The name the image had. */
  name: string;
  /** Why it is in the trash: moved by a user, by mirroring, by a migration, ... */
  source: TrashSource;
  /** When it was moved to the trash. */
  deferredAt: Date;
  /** Until when it is protected: remove() needs `force` before then, and purge() skips it. */
  deferredUntil: Date;
}

/** Options of `pool.trash.move()` (like `rbd trash mv`). */
export interface TrashMoveOptions {
  /** Keep the image protected from removal and purging for this many seconds. Default 0. */
  delaySeconds?: number;
}

/** Options of `pool.trash.remove()` (like `rbd trash rm`). */
export interface TrashRemoveOptions {
  /** Remove even though the deferment time has not passed yet. Default false. */
  force?: boolean;
  /** Called with progress as the image's objects are deleted. */
  onProgress?: ProgressCallback;
}

/** Options of `pool.trash.purge()` (like `rbd trash purge`). */
export interface TrashPurgeOptions {
  /**
   * Remove the entries whose deferment ended before this time (like
   * `rbd trash purge --expired-before`). Default: now, i.e. every expired entry.
   */
  expiredBefore?: Date;
  /**
   * Only purge when the pool is fuller than this fraction (0 to 1), and then
   * only until it is below it (like `rbd trash purge --threshold`). Default: no threshold.
   */
  threshold?: number;
  /** Called with progress as images are removed. */
  onProgress?: ProgressCallback;
}

function entry(e: NativeTrashEntry): TrashEntry {
  return {
    id: e.id,
    name: e.name,
    source: TRASH_SOURCE.name(e.source),
    deferredAt: new Date(e.deletionTime * 1000),
    deferredUntil: new Date(e.defermentEndTime * 1000),
  };
}

/** The pool's trash (`pool.trash`), like `rbd trash ...`. */
export class PoolTrash {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.trash`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /**
   * Move an image to the trash (like `rbd trash mv [--expires-at]`). It keeps
   * its id; find it with list(). Rejects with ImageNotFound if there is no such
   * image, ImageBusy if it is open elsewhere. An image in a group: librbd
   * 18.2.7 and 20.2 refuse (RbdError EMLINK, as `rbd trash mv` does: remove it
   * from the group first); 16.2 moves it and the group keeps it as a member,
   * which only `pool.groups.removeImageById()` reaches.
   */
  async move(imageName: string, options?: TrashMoveOptions): Promise<void> {
    checkName(imageName, 'image name');
    const o = checkOptions<TrashMoveOptions>(options);
    const delay = o.delaySeconds === undefined ? 0 : checkInt(o.delaySeconds, 'delaySeconds', 0, Number.MAX_SAFE_INTEGER);
    await this.#pool._call('trash.move', (n) => api().move(n, imageName, delay), { image: imageName, subject: 'image' });
  }

  /** The images in this pool's (namespace's) trash (like `rbd trash ls --long`). */
  async list(): Promise<TrashEntry[]> {
    const entries = await this.#pool._call('trash.list', (n) => api().list(n));
    return entries.map(entry);
  }

  /** One trash entry by image id. Rejects with ImageNotFound if the trash has no such id. */
  async get(id: string): Promise<TrashEntry> {
    checkName(id, 'image id');
    return entry(await this.#pool._call('trash.get', (n) => api().get(n, id), { image: id, subject: 'image' }));
  }

  /**
   * Restore an image from the trash (like `rbd trash restore [--image name]`),
   * under `newName` or else the name it had. Rejects with ImageNotFound for an
   * unknown id, ImageExists if the name is taken.
   */
  async restore(id: string, newName?: string): Promise<void> {
    checkName(id, 'image id');
    const name = newName === undefined ? '' : checkName(newName, 'newName');
    await this.#pool._call('trash.restore', (n) => api().restore(n, id, name), { image: id, subject: 'image' });
  }

  /**
   * Delete an image in the trash for good (like `rbd trash rm [--force]`).
   * Before its deferment time has passed, librbd refuses without `force`
   * (PermissionDenied, code EPERM). Rejects with ImageNotFound for an unknown id.
   */
  async remove(id: string, options?: TrashRemoveOptions): Promise<void> {
    checkName(id, 'image id');
    const o = checkOptions<TrashRemoveOptions>(options);
    if (o.force !== undefined && typeof o.force !== 'boolean') throw new TypeError('force must be a boolean');
    const force = o.force ?? false;
    await withProgress(o.onProgress, (cb) =>
      this.#pool._call('trash.remove', (n) => api().remove(n, id, force, cb), { image: id, subject: 'image' }),
    );
  }

  /**
   * Delete every expired image in the trash (like `rbd trash purge`): those
   * moved by a user whose deferment ended before `expiredBefore` (default now).
   * With `threshold`, only when the pool's usage is above it.
   */
  async purge(options?: TrashPurgeOptions): Promise<void> {
    const o = checkOptions<TrashPurgeOptions>(options);
    let expireTs = 0;
    if (o.expiredBefore !== undefined) {
      if (!(o.expiredBefore instanceof Date)) throw new TypeError('expiredBefore must be a Date');
      const ms = o.expiredBefore.getTime();
      if (!Number.isFinite(ms)) throw new RangeError('expiredBefore is an invalid Date');
      // librbd takes whole seconds and reads 0 as "now": the epoch itself is 1 s.
      expireTs = Math.max(1, Math.floor(ms / 1000));
    }
    let threshold = -1;
    if (o.threshold !== undefined) {
      if (typeof o.threshold !== 'number') throw new TypeError('threshold must be a number');
      if (!(o.threshold >= 0 && o.threshold <= 1)) throw new RangeError(`threshold must be from 0 to 1, got ${o.threshold}`);
      threshold = o.threshold;
    }
    await withProgress(o.onProgress, (cb) => this.#pool._call('trash.purge', (n) => api().purge(n, expireTs, threshold, cb)));
  }

  // ---- trash purge schedules (the manager's rbd_support module, like mirror snapshot schedules) ----

  #spec(): string {
    if (this.#pool.closed) throw closedError({ op: 'trash.purgeSchedule', pool: this.#pool.name }, 'pool');
    return purgeLevelSpec(this.#pool.name, this.#pool.namespace);
  }

  /**
   * Purge the pool's (namespace's) trash every `interval` ('30m', '1h', '1d';
   * like `rbd trash purge schedule add <interval> [<start-time>]`).
   */
  async addPurgeSchedule(interval: string, options?: { startTime?: string }): Promise<void> {
    const i = checkInterval(interval);
    const o = checkOptions<{ startTime?: string }>(options);
    const start = o.startTime === undefined ? undefined : checkStartTime(o.startTime);
    await addPurgeSchedule(this.#pool.cluster, this.#spec(), i, start);
  }

  /**
   * Remove a purge schedule (like `rbd trash purge schedule remove [<interval>
   * [<start-time>]]`): without an interval, every schedule of the level.
   */
  async removePurgeSchedule(interval?: string, options?: { startTime?: string }): Promise<void> {
    const i = interval === undefined ? undefined : checkInterval(interval);
    const o = checkOptions<{ startTime?: string }>(options);
    if (o.startTime !== undefined && i === undefined) throw new TypeError('startTime needs an interval');
    const start = o.startTime === undefined ? undefined : checkStartTime(o.startTime);
    await removePurgeSchedule(this.#pool.cluster, this.#spec(), i, start);
  }

  /**
   * The purge schedules of the pool (namespace) (like `rbd trash purge schedule
   * ls [-R]`): without `recursive`, only this level's own; with it, also its
   * namespaces' and the nearest scheduled level above.
   */
  async listPurgeSchedules(options?: { recursive?: boolean }): Promise<PurgeScheduleLevel[]> {
    const o = checkOptions<{ recursive?: boolean }>(options);
    const recursive = o.recursive === undefined ? false : checkBoolean(o.recursive, 'recursive');
    return listPurgeSchedules(this.#pool.cluster, this.#spec(), recursive);
  }

  /** The next scheduled purges of the pool (namespace) (like `rbd trash purge schedule status`). */
  async purgeScheduleStatus(): Promise<PurgeScheduleStatus[]> {
    return purgeScheduleStatus(this.#pool.cluster, this.#spec());
  }
}
