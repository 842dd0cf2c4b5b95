/** Image: an open RBD image. */
import { InvalidArgument, rbdError, type ErrorContext } from '../core/errors';
import { FEATURES, featureBits, type FeatureName, type UnknownFeature } from '../core/features';
import { native, type NativeImage } from '../core/native';
import type { Pool } from '../pool/pool';
import { imageOptions } from './options';
import type { CopyOptions, ImageParent, OpenImageOptions, ResizeOptions, Watcher } from './types';
import { withProgress, type ProgressCallback } from '../core/progress';
import { checkBoolean, checkCallback, checkName, checkOptions, checkU64 } from '../core/validate';
import { diffExtents, type DiffExtent, type DiffOptions } from './diff';
import { ImageMetadata } from './metadata';
import { ImageLocks, type LockOwners } from './locks';
import { imageStat, type ImageStat } from './stat';
import { checkSparseSize, deepCopy, diskUsage, rebuildObjectMap, sparsify, type DeepCopyOptions, type DiskUsage, type SparsifyOptions } from './maintenance';
import { bytesRead, checkBufferList, checkBytes, checkLength, io, opFlags, type IoOptions, type WriteZeroesOptions } from './io';
import { WRITE_ZEROES } from '../core/constants';
import { ImageConfig } from './config';
import { ImageEncryption } from './encryption';
import { ImageMirror } from '../mirror/image-mirror';
import { ImageSnapshots } from './snapshots';
import { UpdateWatch } from './watch';
import { nameNotPrimary } from '../mirror/not-primary';
import { isHandle, Resource } from '../core/resource';
import { admitted, joinGate, leaveGate, withRoleChange, type RoleGate } from './role-gate';
import type { Writable } from 'node:stream';
import {
  createImageReadStream,
  createImageWriteStream,
  exportImage,
  type ExportOptions,
  type ImageReadStream,
  type ImageWriteStream,
  type ReadStreamOptions,
  type WriteStreamOptions,
} from './streams';

export type { ImageStat, ImageGroupRef, OperationFeature } from './stat';
export type { LockOwners } from './locks';
export type { OpenImageOptions, ResizeOptions, ImageParent, Watcher, CopyOptions } from './types';

/**
 * An open RBD image (`pool.openImage()`): its properties, data, snapshots,
 * metadata and mirroring. Close it (or `await using` it) when done.
 */
export class Image extends Resource {
  protected readonly kind = 'image';
  readonly #native: NativeImage;
  /** The pool this image was opened from. */
  readonly pool: Pool;
  /** The name (or id, when opened by id) it was opened with. */
  readonly name: string;
  /** Opened read-only (or at a snapshot): writes reject with ReadOnlyImage. */
  readonly readOnly: boolean;
  /** Snapshots: `rbd snap ...`. */
  readonly snapshots: ImageSnapshots;
  /** Key/value metadata: `rbd image-meta ...`. */
  readonly metadata: ImageMetadata;
  /** Mirroring of this image: `rbd mirror image ...`. */
  readonly mirror: ImageMirror;
  /** The managed lock and advisory locks: `rbd lock ...`. */
  readonly locks: ImageLocks;
  /** librbd config overrides of this image: `rbd config image ...`. */
  readonly config: ImageConfig;
  /** LUKS encryption: `rbd encryption format`, and loading a passphrase. */
  readonly encryption: ImageEncryption;
  readonly #watch: UpdateWatch;

  /**
   * The image size as last seen, for the write bounds check (librbd silently
   * clips a write that runs past the end). undefined: fetch before the next
   * write that needs it. Another client growing the image is caught by a
   * re-read before a write is refused.
   */
  #size: number | undefined;
  /** The image id (what the role gate is keyed by, whatever the image was opened by). */
  readonly #id: string;
  /** Shared with the other handles of this image in the process: see lib/image/role-gate.ts. */
  readonly #gateKey: string;
  readonly #gate: RoleGate;
  readonly #gateRef = new WeakRef<Image>(this);

  private constructor(pool: Pool, n: NativeImage, name: string, id: string, readOnly: boolean, size: number) {
    super(pool);
    this.#size = size;
    this.#id = id;
    let where: string;
    try {
      where = `${pool.cluster.fsid()}/${pool.id()}/${pool.namespace}/`;
    } catch {
      where = `unknown:${Math.random()}/`; // no identity: a gate of its own
    }
    // By id: a handle opened by name and one opened by id share one gate.
    this.#gateKey = where + id;
    this.#gate = joinGate(this.#gateKey, this.#gateRef);
    this.pool = pool;
    this.#native = n;
    this.name = name;
    this.readOnly = readOnly;
    this.snapshots = new ImageSnapshots(this);
    this.metadata = new ImageMetadata(this);
    this.mirror = new ImageMirror(this);
    this.locks = new ImageLocks(this);
    this.config = new ImageConfig(this);
    this.encryption = new ImageEncryption(this);
    // 'update' (size, features, snapshots... changed by any client): the librbd
    // watch is registered only while someone listens.
    this.#watch = new UpdateWatch(this);
    this.on('newListener', (event: string | symbol) => {
      if (event === 'update') this.#watch.listenerAdded();
    });
    this.on('removeListener', (event: string | symbol) => {
      if (event === 'update') this.#watch.listenerRemoved();
    });
  }

  /** @internal Used by Pool.openImage. */
  static _create(pool: Pool, n: NativeImage, name: string, id: string, readOnly: boolean, size: number): Image {
    return new Image(pool, n, name, id, readOnly, size);
  }

  /** @internal The image id, as librbd gave it at open. */
  get _id(): string {
    return this.#id;
  }

  protected context(op: string): ErrorContext {
    return { op, cluster: this.pool.cluster.name, pool: this.pool.name, namespace: this.pool.namespace, image: this.name };
  }

  protected async closeNative(): Promise<void> {
    try {
      await this.#watch.close();
    } finally {
      leaveGate(this.#gateKey, this.#gateRef);
      await this.#native.close();
    }
  }

  // Resource's one hook before every call: while another handle of this image
  // (in this process) changes its mirror role, new calls wait for the change
  // to end (lib/image/role-gate.ts).
  protected override admit(): Promise<void> | undefined {
    return admitted(this.#gate, this);
  }

  // A write refused with EPERM/EROFS on a non-primary mirrored copy: NotPrimary (lib/mirror/not-primary.ts).
  async #notPrimary(err: unknown): Promise<never> {
    throw this.closed || this.readOnly ? err : await nameNotPrimary(err, (op, fn) => this._call(op, fn));
  }

  /** @internal Refresh this handle while its calls are held by another handle's role change (never throws). */
  async _refreshHeld(): Promise<void> {
    if (this.closed) return;
    try {
      await this.runNow('stat', () => this.#native.stat());
    } catch {
      // closing, or the image is gone: its next call will say so
    }
  }

  /** @internal Run a mirror role change (or mirror snapshot) with the other handles of this image held. */
  _roleChange<T>(fn: () => Promise<T>): Promise<T> {
    return withRoleChange(this.#gate, this, fn);
  }

  /**
   * @internal For the API-area classes (snapshots, metadata, ...): run a native
   * call on this image as an in-flight operation, with its errors named.
   */
  _call<T>(op: string, fn: (n: NativeImage) => Promise<T>, extra?: Partial<ErrorContext>): Promise<T> {
    return this.run(op, () => fn(this.#native), extra);
  }

  /** @internal The size may have changed (resize, rollback, another client): re-read it before the next bounded write. */
  _sizeChanged(): void {
    this.#size = undefined;
  }

  /** Size, layout, id, features and creation time (like `rbd info`). */
  async stat(): Promise<ImageStat> {
    const s = await this.run('stat', () => this.#native.stat());
    this.#size = s.size;
    return imageStat(s);
  }

  /**
   * Resize the image (like `rbd resize`). Shrinking needs `allowShrink: true`;
   * without it a smaller size is a RangeError, checked here against the current size.
   */
  async resize(size: number | bigint, options?: ResizeOptions): Promise<void> {
    checkU64(size, 'size');
    const o = checkOptions<ResizeOptions>(options);
    const allowShrink = o.allowShrink === undefined ? false : checkBoolean(o.allowShrink, 'allowShrink');
    checkCallback(o.onProgress, 'onProgress'); // before the size check, which reads the image
    if (!allowShrink) {
      const current = (await this.stat()).size;
      if (BigInt(size) < BigInt(current)) {
        throw new RangeError(
          `resize: ${size} is smaller than the current size ${current}; pass { allowShrink: true } to shrink (data past the new end is lost)`,
        );
      }
    }
    try {
      await withProgress(o.onProgress, (cb) => this.run('resize', () => this.#native.resize(size, allowShrink, cb))).catch((err: unknown) =>
        this.#notPrimary(err),
      );
    } finally {
      this.#size = undefined;
    }
  }

  /** Enabled features by name (like the `features:` line of `rbd info`). */
  async features(): Promise<Array<FeatureName | UnknownFeature>> {
    return (await this.stat()).features;
  }

  /**
   * Enable features (like `rbd feature enable`). Journaling needs
   * exclusive-lock: enabling it alone on an image without the lock feature is
   * an InvalidArgument that says so.
   */
  async enableFeatures(names: FeatureName | readonly FeatureName[]): Promise<void> {
    await this.#updateFeatures(names, true);
  }

  /** Disable features (like `rbd feature disable`). */
  async disableFeatures(names: FeatureName | readonly FeatureName[]): Promise<void> {
    await this.#updateFeatures(names, false);
  }

  async #updateFeatures(names: FeatureName | readonly FeatureName[], enable: boolean): Promise<void> {
    const list = typeof names === 'string' ? [names] : names;
    if (!Array.isArray(list) || list.length === 0) throw new TypeError('features must be a feature name or a non-empty array of them');
    const bits = featureBits(list);
    const op = enable ? 'enableFeatures' : 'disableFeatures';
    try {
      await this.run(op, () => this.#native.updateFeatures(bits, enable));
    } catch (err) {
      if (enable && err instanceof InvalidArgument && (bits & FEATURES.journaling) !== 0) {
        const current = (await this.stat()).featureBits;
        if (((current | bits) & FEATURES['exclusive-lock']) === 0) {
          throw rbdError(
            err.errno,
            this.context(op),
            `journaling requires the exclusive-lock feature: enable 'exclusive-lock' first (or both at once)`,
            err.nativeOp,
          );
        }
      }
      throw err;
    }
  }

  /** Copy the parent's data into this clone and detach it (like `rbd flatten`). */
  async flatten(options?: { onProgress?: ProgressCallback }): Promise<void> {
    const o = checkOptions<{ onProgress?: ProgressCallback }>(options);
    await withProgress(o.onProgress, (cb) => this.run('flatten', () => this.#native.flatten(cb)));
  }

  /** The parent image and snapshot of a clone, or null for an image that is not a clone. */
  async parent(): Promise<ImageParent | null> {
    const p = await this.run('parent', () => this.#native.parent());
    if (p === null) return null;
    return {
      poolId: p.poolId,
      pool: p.poolName,
      namespace: p.namespace,
      imageId: p.imageId,
      image: p.imageName,
      inTrash: p.trash,
      snapshotId: p.snapId,
      snapshot: p.snapName,
      overlap: p.overlap,
    };
  }

  /** Who holds the image's managed lock (the exclusive-lock feature), like `rbd lock ls`: the same as `image.locks.owners()`. */
  lockOwners(): Promise<LockOwners> {
    return this.locks.owners();
  }

  /** Clients watching the image header (like `rbd status`): every client that has it open. */
  async watchers(): Promise<Watcher[]> {
    return this.run('watchers', () => this.#native.watchers());
  }

  /**
   * Copy the image's data and metadata to a new image `name` in `pool` (like
   * `rbd cp`). Options are those of createImage, for the copy.
   */
  async copy(pool: Pool, name: string, options?: CopyOptions): Promise<void> {
    // A brand check, not a look for _call: an Image has one too.
    if (!isHandle<Pool>(pool, 'pool')) throw new TypeError('pool must be a Pool');
    checkName(name, 'image name');
    const { onProgress, sparseSize, ...create } = checkOptions<CopyOptions>(options);
    const sparse = sparseSize === undefined ? 0 : checkSparseSize(sparseSize, 'sparseSize');
    const opts = imageOptions(create);
    await withProgress(onProgress, (cb) =>
      pool._call('copy', (dest) => this.run('copy', () => this.#native.copy(dest, name, opts, cb, sparse)), { image: name }),
    );
  }

  /** Copy the image with all its snapshots to a new image (like `rbd deep cp`); options as for copy(). */
  deepCopy(pool: Pool, name: string, options?: DeepCopyOptions): Promise<void> {
    return deepCopy(this, pool, name, options);
  }

  /** Provisioned and used bytes of every snapshot and of the head (like `rbd du <image>`; fast with fast-diff). */
  du(): Promise<DiskUsage> {
    return diskUsage(this);
  }

  /** Deallocate runs of zeros inside objects (like `rbd sparsify`), reporting progress. */
  sparsify(options?: SparsifyOptions): Promise<void> {
    return sparsify(this, options);
  }

  /** Rebuild an invalid object map (and fast-diff map), like `rbd object-map rebuild`. */
  rebuildObjectMap(options?: { onProgress?: ProgressCallback }): Promise<void> {
    return rebuildObjectMap(this, options);
  }

  /** Drop this handle's cached data (rbd_invalidate_cache), so later reads come from the OSDs. */
  async invalidateCache(): Promise<void> {
    await this.run('invalidateCache', () => native().maintenance.invalidateCache(this.#native));
  }

  /**
   * Extents that changed since a snapshot (or since creation), like `rbd diff
   * --from-snap`: an async iterator, fetched in windows so a large image never
   * builds one huge list.
   */
  diff(options?: DiffOptions): AsyncGenerator<DiffExtent> {
    return diffExtents(this, options);
  }

  // ---- data path: rbd_aio_*, completed through a thread-safe function ----

  /**
   * Read `length` bytes at `offset` into a new Buffer. A read that reaches past
   * the end of the image returns the bytes up to the end (a shorter Buffer).
   */
  read(offset: number | bigint, length: number, options?: IoOptions): Promise<Buffer>;
  /**
   * Read into `buffer` (used in place, no copy) from `offset`; resolves with
   * the number of bytes read, fewer than `buffer.length` at the end of the image.
   */
  read(buffer: Uint8Array, offset: number | bigint, options?: IoOptions): Promise<number>;
  // Not async: the hot path makes one promise per I/O. Argument errors still
  // come back as rejections, never as synchronous throws.
  read(a: number | bigint | Uint8Array, b: number | bigint, options?: IoOptions): Promise<Buffer | number> {
    try {
      if (typeof a === 'number' || typeof a === 'bigint') {
        checkU64(a, 'offset');
        const buf = Buffer.allocUnsafe(checkLength(b, 'length'));
        return this.#readInto(buf, a, options, (n) => (n === buf.length ? buf : buf.subarray(0, n)));
      }
      const buf = checkBytes(a, 'buffer');
      checkU64(b, 'offset');
      return this.#readInto(buf, b, options, bytesRead);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** One read into `buf`; `done` maps the bytes read to the result, in the same .then as runIo's bookkeeping. */
  #readInto<R>(buf: Uint8Array, offset: number | bigint, options: IoOptions | undefined, done: (n: number) => R): Promise<R> {
    const flags = opFlags(options);
    if (buf.length === 0) return Promise.resolve(done(0));
    return this.runIo(
      'read',
      () => io().readInto(this.#native, buf, offset, flags),
      buf,
      (n) => (n === buf.length ? done(n) : this.#readPastStaleEnd(buf, offset, flags, n, undefined).then(done)),
      (err) => (err instanceof InvalidArgument ? this.#readPastStaleEnd(buf, offset, flags, 0, err).then(done) : Promise.reject(err)),
    );
  }

  /**
   * A read that came back short, or with EINVAL (it started at or past the
   * end), may have met this handle's stale idea of the size: librbd clips
   * reads against the size it last refreshed, before it acts on another
   * client's resize notification, and a read that fails the clip never
   * refreshes (librbd 16; python-rbd reads fail the same way). stat()
   * refreshes the handle; if the image now reaches further, read the rest.
   * Only short or failed reads pay for this.
   */
  async #readPastStaleEnd(buf: Uint8Array, offset: number | bigint, flags: number, got: number, err: unknown): Promise<number> {
    let size: bigint;
    try {
      size = BigInt((await this.stat()).size);
    } catch {
      size = 0n; // closed meanwhile, say: the read's own outcome stands
    }
    const at = BigInt(offset) + BigInt(got);
    if (at >= size) {
      if (err !== undefined) throw err;
      return got;
    }
    const rest = buf.subarray(got);
    const n = await this.runIo('read', () => io().readInto(this.#native, rest, at, flags), rest);
    return got + n;
  }

  /**
   * Write `data` at `offset` (the Buffer is used in place and must not be
   * changed until the promise settles). Resolves with the bytes written.
   * Writing past the end of the image is an InvalidArgument (EINVAL): resize first.
   */
  write(data: Uint8Array, offset: number | bigint, options?: IoOptions): Promise<number> {
    try {
      const buf = checkBytes(data, 'data');
      checkU64(offset, 'offset');
      const flags = opFlags(options);
      if (buf.length === 0) return Promise.resolve(0);
      if (this.#fits(offset, buf.length)) return this.#write(buf, offset, flags);
      return this.#checkEnd('write', offset, buf.length).then(() => this.#write(buf, offset, flags));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #write(buf: Uint8Array, offset: number | bigint, flags: number): Promise<number> {
    return this.runIo(
      'write',
      () => io().write(this.#native, buf, offset, flags),
      buf,
      () => buf.length,
      (err) => this.#notPrimary(err),
    );
  }

  /** Whether [offset, offset+length) is within the size last seen (the fast path: plain numbers). */
  #fits(offset: number | bigint, length: number): boolean {
    return this.#size !== undefined && typeof offset === 'number' && offset + length <= this.#size;
  }

  /** Refuse an I/O that would run past the end (librbd would clip it silently). */
  async #checkEnd(op: string, offset: number | bigint, length: number | bigint): Promise<void> {
    const end = BigInt(offset) + BigInt(length);
    if (this.#size !== undefined && end <= BigInt(this.#size)) return;
    const size = (await this.stat()).size; // fresh: the image may have grown
    if (end > BigInt(size)) {
      throw rbdError(
        22,
        this.context(op),
        `${length} bytes at offset ${offset} run past the end of the image (size ${size}); resize it first`,
      );
    }
  }

  /**
   * Discard (deallocate) a range. Whole objects read back as zeros; with
   * librbd's default rbd_skip_partial_discard, parts of objects may keep their
   * data — use writeZeroes to zero a range for sure.
   */
  async discard(offset: number | bigint, length: number | bigint): Promise<void> {
    checkU64(offset, 'offset');
    checkU64(length, 'length');
    await this.run('discard', () => io().discard(this.#native, offset, length)).catch((err: unknown) => this.#notPrimary(err));
  }

  /** Write zeros over a range (rbd_aio_write_zeroes), without sending a buffer; `thickProvision` keeps it allocated. */
  async writeZeroes(offset: number | bigint, length: number | bigint, options?: WriteZeroesOptions): Promise<void> {
    checkU64(offset, 'offset');
    checkU64(length, 'length');
    const flags = opFlags(options);
    const thick = options?.thickProvision === undefined ? false : checkBoolean(options.thickProvision, 'thickProvision');
    const zeroFlags = WRITE_ZEROES.of({ thickProvision: thick });
    await this.#checkEnd('writeZeroes', offset, length);
    await this.run('writeZeroes', () => io().writeZeroes(this.#native, offset, length, flags, zeroFlags)).catch((err: unknown) =>
      this.#notPrimary(err),
    );
  }

  /**
   * Read into several Buffers at once (rbd_aio_readv: one I/O, one
   * completion, the Buffers filled in order from `offset`, used in place).
   * Resolves with the bytes read, fewer than their total at the end of the image.
   */
  async readv(buffers: readonly Uint8Array[], offset: number | bigint): Promise<number> {
    const { buffers: list, total } = checkBufferList(buffers, 'buffers');
    checkU64(offset, 'offset');
    if (total === 0) return 0; // librbd 16.2 aborts on an empty vectored read
    return this.runIo('readv', () => io().readv(this.#native, list, offset));
  }

  /**
   * Write several Buffers back to back from `offset` as one I/O
   * (rbd_aio_writev; the Buffers are used in place until the promise
   * settles). Resolves with the bytes written; past the end is an InvalidArgument.
   */
  async writev(buffers: readonly Uint8Array[], offset: number | bigint): Promise<number> {
    const { buffers: list, total } = checkBufferList(buffers, 'buffers');
    checkU64(offset, 'offset');
    if (total === 0) return 0;
    await this.#checkEnd('writev', offset, total);
    await this.runIo('writev', () => io().writev(this.#native, list, offset)).catch((err: unknown) => this.#notPrimary(err));
    return total;
  }

  /** Fill `length` bytes at `offset` with `pattern` repeated; `length` must be a multiple of the pattern's. */
  async writeSame(offset: number | bigint, length: number | bigint, pattern: Uint8Array, options?: IoOptions): Promise<void> {
    checkU64(offset, 'offset');
    checkU64(length, 'length');
    const p = checkBytes(pattern, 'pattern');
    if (p.length === 0) throw new RangeError('pattern must not be empty');
    if (BigInt(length) % BigInt(p.length) !== 0n) {
      throw new RangeError(`length (${length}) must be a multiple of the pattern length (${p.length})`);
    }
    const flags = opFlags(options);
    await this.#checkEnd('writeSame', offset, length);
    await this.run('writeSame', () => io().writeSame(this.#native, offset, length, p, flags)).catch((err: unknown) => this.#notPrimary(err));
  }

  /**
   * Atomically write `data` at `offset` if the image holds `compare` there.
   * Otherwise nothing is written and the promise rejects with CompareMismatch,
   * whose `mismatchOffset` is the first differing byte.
   */
  async compareAndWrite(offset: number | bigint, compare: Uint8Array, data: Uint8Array, options?: IoOptions): Promise<void> {
    checkU64(offset, 'offset');
    const c = checkBytes(compare, 'compare');
    const d = checkBytes(data, 'data');
    if (c.length !== d.length) throw new RangeError(`compare (${c.length} bytes) and data (${d.length} bytes) must be the same length`);
    const flags = opFlags(options);
    await this.#checkEnd('compareAndWrite', offset, d.length);
    await this.run('compareAndWrite', () => io().compareAndWrite(this.#native, offset, c, d, flags)).catch((err: unknown) => this.#notPrimary(err));
  }

  /** Wait until every write acknowledged so far is durable. */
  async flush(): Promise<void> {
    await this.run('flush', () => io().flush(this.#native));
  }

  // ---- streams and whole-image export (lib/image/streams.ts) ----

  /**
   * A Readable of the image's bytes from `start` to `end` (inclusive, like
   * fs.createReadStream), with up to `queueDepth` reads in flight, pushed in
   * order and with back-pressure. Options are checked now (TypeError /
   * RangeError); a failed read emits 'error' with the RbdError.
   */
  createReadStream(options?: ReadStreamOptions): ImageReadStream {
    return createImageReadStream(this, options);
  }

  /**
   * A Writable that writes its chunks at consecutive offsets from `start`,
   * with up to `queueDepth` writes in flight, and flushes the image before
   * 'finish'. Writing past the end fails with InvalidArgument (resize first);
   * `bytesWritten` then says how far it got.
   */
  createWriteStream(options?: WriteStreamOptions): ImageWriteStream {
    return createImageWriteStream(this, options);
  }

  /**
   * Export every byte of the image (like `rbd export`) to a new file (an
   * existing one is an error; a failed export removes it) or to a Writable
   * (left open). Resolves with the bytes written.
   */
  exportTo(dest: string | Writable, options?: ExportOptions): Promise<number> {
    return exportImage(this, dest, options);
  }
}
