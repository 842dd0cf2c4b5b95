/**
 * Image locks (`image.locks`): the managed lock of the exclusive-lock feature
 * (librbd takes it on the first write; `acquire`/`release`/`breakOwner` drive it
 * by hand) and the advisory locks of `rbd lock add/ls/rm`, which librbd never
 * takes or honours itself.
 */
import type { Image } from './image';
import { native, type NativeBinding } from '../core/native';
import { LOCK_MODE } from '../core/constants';
import { checkName, checkOptions, checkString } from '../core/validate';

const api = (): NativeBinding['locks'] => native().locks;

/** A lock mode: one writer ('exclusive') or several cooperating ones ('shared'). */
export type LockMode = 'exclusive' | 'shared';

/** Who holds the image's managed lock (`image.locks.owners()`, `image.lockOwners()`). */
export interface LockOwners {
  /** 'exclusive' or 'shared' while someone holds the lock; null when nobody does. */
  mode: LockMode | `unknown(${number})` | null;
  /** Lock owners, as `rbd lock ls` / `rbd status` name them. Empty when nobody holds the lock. */
  owners: string[];
  /** Whether this handle itself holds the exclusive lock. */
  isOwner: boolean;
}

/** Options of `image.locks.acquire()`. */
export interface AcquireLockOptions {
  /** Default 'exclusive' (the only mode librbd's managed lock supports for writes). */
  mode?: LockMode;
}

/** Options of `image.locks.breakOwner()`. */
export interface BreakLockOptions {
  /** The mode the owner holds the lock in. Default 'exclusive'. */
  mode?: LockMode;
}

/** One advisory lock, as `rbd lock ls` lists it. */
export interface AdvisoryLock {
  /** The lock id (`rbd lock add <image> <lock-id>`): the cookie it was taken with. */
  id: string;
  /** The client holding it, e.g. 'client.4235' (the locker `rbd lock rm` takes). */
  locker: string;
  /** That client's address. */
  address: string;
}

/** The advisory locks on an image (`image.locks.list()`). */
export interface AdvisoryLocks {
  /** 'exclusive' or 'shared' while any lock is held; null when none is. */
  mode: LockMode | null;
  /** The tag shared lockers agreed on ('' for exclusive locks, and when no lock is held). */
  tag: string;
  /** The locks held. */
  locks: AdvisoryLock[];
}

/** Options of `image.locks.add()`. */
export interface AddLockOptions {
  /** Take a shared lock with this tag (`rbd lock add --shared <tag>`); otherwise an exclusive one. */
  shared?: string;
}

/** Options of `image.locks.remove()`. */
export interface RemoveLockOptions {
  /**
   * Break the lock another client holds (`rbd lock rm <image> <id> <locker>`,
   * rbd_break_lock): its `locker` from `list()`. Without it, this client's own
   * lock is released (rbd_unlock).
   */
  locker?: string;
}

function mode(value: unknown, what: string): number {
  return value === undefined ? LOCK_MODE.value('exclusive') : LOCK_MODE.check(value, what);
}

/** An image's locks (`image.locks`). */
export class ImageLocks {
  readonly #image: Image;

  /** @internal Made by the Image; reach it as `image.locks`. */
  constructor(image: Image) {
    this.#image = image;
  }

  // ---- the managed lock (exclusive-lock feature) ----

  /**
   * Take the managed lock now (rbd_lock_acquire) instead of on the first
   * write, asking the current owner to hand it over. Needs the exclusive-lock
   * feature (InvalidArgument otherwise) and a writable handle.
   */
  async acquire(options?: AcquireLockOptions): Promise<void> {
    const o = checkOptions<AcquireLockOptions>(options);
    const m = mode(o.mode, 'mode');
    await this.#image._call('acquireLock', (n) => api().acquire(n, m));
  }

  /** Give the managed lock up (rbd_lock_release); another client may take it. */
  async release(): Promise<void> {
    await this.#image._call('releaseLock', (n) => api().release(n));
  }

  /** Whether this handle holds the managed lock (rbd_is_exclusive_lock_owner). */
  async isOwner(): Promise<boolean> {
    return this.#image._call('isLockOwner', (n) => api().isOwner(n));
  }

  /** Who holds the managed lock (rbd_lock_get_owners), like `rbd lock ls` / `rbd status` for it. */
  async owners(): Promise<LockOwners> {
    const l = await this.#image._call('lockOwners', (n) => n.lockOwners());
    return { mode: l.owners.length === 0 ? null : LOCK_MODE.name(l.mode), owners: l.owners, isOwner: l.isOwner };
  }

  /**
   * Take the managed lock away from `owner` (one of `owners().owners`), the
   * fencing step of a forced failover (rbd_lock_break). With librbd's
   * `rbd_blocklist_on_break_lock` (true by default) the owner's client is
   * first added to the OSD blocklist (for `rbd_blocklist_expire_seconds`, or
   * the cluster's default of an hour): its later writes fail (ESHUTDOWN /
   * EBLOCKLISTED) even if it is still running, and it must reconnect. With the
   * option off the owner is not fenced and may take the lock back. This
   * handle does not become the owner: write or `acquire()` for that.
   */
  async breakOwner(owner: string, options?: BreakLockOptions): Promise<void> {
    checkName(owner, 'owner');
    const o = checkOptions<BreakLockOptions>(options);
    const m = mode(o.mode, 'mode');
    await this.#image._call('breakLock', (n) => api().breakOwner(n, m, owner));
  }

  // ---- advisory locks (`rbd lock add/ls/rm`) ----

  /**
   * Take an advisory lock with id `id` (`rbd lock add`): exclusive, or shared
   * with a tag. ImageBusy (EBUSY) when another client holds a conflicting one,
   * ImageExists (EEXIST) when this client holds it already.
   */
  async add(id: string, options?: AddLockOptions): Promise<void> {
    checkName(id, 'lock id');
    const o = checkOptions<AddLockOptions>(options);
    if (o.shared !== undefined) {
      const tag = checkName(o.shared, 'shared');
      await this.#image._call('addLock', (n) => api().lockShared(n, id, tag));
    } else {
      await this.#image._call('addLock', (n) => api().lockExclusive(n, id));
    }
  }

  /** The advisory locks held on the image (`rbd lock ls`, rbd_list_lockers). */
  async list(): Promise<AdvisoryLocks> {
    const l = await this.#image._call('listLocks', (n) => api().listLockers(n));
    return {
      mode: l.lockers.length === 0 ? null : l.exclusive ? 'exclusive' : 'shared',
      tag: l.lockers.length === 0 ? '' : l.tag, // librbd keeps the last tag on an unlocked header
      locks: l.lockers.map((x) => ({ id: x.cookie, locker: x.client, address: x.address })),
    };
  }

  /**
   * Release an advisory lock: this client's own (rbd_unlock), or, with
   * `locker`, another client's (`rbd lock rm`, rbd_break_lock: like
   * `breakOwner()`, librbd first blocklists that client when
   * `rbd_blocklist_on_break_lock` is true, the default). NotFound (ENOENT)
   * when no such lock is held.
   */
  async remove(id: string, options?: RemoveLockOptions): Promise<void> {
    checkName(id, 'lock id');
    const o = checkOptions<RemoveLockOptions>(options);
    if (o.locker !== undefined) {
      const locker = checkString(o.locker, 'locker');
      if (locker === '') throw new RangeError('locker must not be empty');
      await this.#image._call('removeLock', (n) => api().breakLocker(n, locker, id));
    } else {
      await this.#image._call('removeLock', (n) => api().unlock(n, id));
    }
  }
}
