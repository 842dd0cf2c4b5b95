/** Pool: an I/O context on one pool (and RADOS namespace), and the image calls that take one. */
import type { Cluster } from '../cluster/cluster';
import type { ErrorContext } from '../core/errors';
import { Image, type OpenImageOptions } from '../image/image';
import type { NativePool, NativePoolStats } from '../core/native';
import { imageOptions, type CreateImageOptions } from '../image/options';
import { importSparse } from '../image/import';
import { withProgress, type ProgressCallback } from '../core/progress';
import { PoolGroups } from './groups';
import { PoolMirror } from '../mirror/pool-mirror';
import { PoolNamespaces } from './namespaces';
import { PoolTrash } from './trash';
import { poolImageStats, type PoolImageStats } from './stats';
import { PoolConfig, PoolMetadata } from './config';
import { PoolMigration } from './migration';
import { Resource } from '../core/resource';
import type { Readable } from 'node:stream';
import type { ImportOptions } from '../image/streams';
import { checkBoolean, checkInt, checkName, checkOptions, checkU64 } from '../core/validate';

/** Usage of one pool (like `rados df` / `ceph df detail` for it). */
/** Usage of the pool (`pool.stats()`, like `rados df`'s row for it). */
export type PoolStats = NativePoolStats;

/** Options of `pool.removeImage()`. */
export interface RemoveImageOptions {
  /** Called with progress as the image's objects are deleted. */
  onProgress?: ProgressCallback;
}

/** An image's id and name, as the pool's directory lists them. */
export interface ImageSpec {
  /** The image id. */
  id: string;
  /** The image name. */
  name: string;
}

/**
 * An open pool (an I/O context; `cluster.openPool()`, optionally in an RBD
 * namespace): its images, trash, namespaces, groups and mirroring. Close it
 * (or `await using` it) when done; closing it closes its images.
 */
export class Pool extends Resource {
  protected readonly kind = 'pool';
  readonly #native: NativePool;
  /** The cluster this pool was opened from. */
  readonly cluster: Cluster;
  /** Pool name. */
  readonly name: string;
  /** RADOS namespace ('' for the default one). */
  readonly namespace: string;
  /** The trash: `rbd trash ...`. */
  readonly trash: PoolTrash;
  /** RBD namespaces in this pool: `rbd namespace ...`. */
  readonly namespaces: PoolNamespaces;
  /** Groups of images: `rbd group ...`. */
  readonly groups: PoolGroups;
  /** Mirroring of this pool: `rbd mirror pool ...`. */
  readonly mirror: PoolMirror;
  /** Live migration of the pool's images: `rbd migration ...`. */
  readonly migration: PoolMigration;
  /** The pool's librbd config overrides: `rbd config pool ...`. */
  readonly config: PoolConfig;
  /** The pool's key/value metadata (rbd_pool_metadata_*). */
  readonly metadata: PoolMetadata;

  private constructor(cluster: Cluster, n: NativePool, name: string, namespace: string) {
    super(cluster);
    this.cluster = cluster;
    this.#native = n;
    this.name = name;
    this.namespace = namespace;
    this.trash = new PoolTrash(this);
    this.namespaces = new PoolNamespaces(this);
    this.groups = new PoolGroups(this);
    this.mirror = new PoolMirror(this);
    this.migration = new PoolMigration(this);
    this.config = new PoolConfig(this);
    this.metadata = new PoolMetadata(this);
  }

  /** @internal Used by Cluster.openPool. */
  static _create(cluster: Cluster, n: NativePool, name: string, namespace: string): Pool {
    return new Pool(cluster, n, name, namespace);
  }

  protected context(op: string): ErrorContext {
    return { op, cluster: this.cluster.name, pool: this.name, namespace: this.namespace };
  }

  protected closeNative(): Promise<void> {
    return this.#native.close();
  }

  /**
   * @internal For the API-area classes (trash, namespaces, groups, ...): run a
   * native call on this pool as an in-flight operation, with its errors named.
   */
  _call<T>(op: string, fn: (n: NativePool) => Promise<T>, extra?: Partial<ErrorContext>): Promise<T> {
    return this.run(op, () => fn(this.#native), extra);
  }

  /** The pool's numeric id. */
  id(): number {
    return this.runSync('poolId', () => this.#native.poolId());
  }

  /**
   * Create an image of `size` bytes. Rejects with ImageExists if the name is taken.
   * Like `rbd create --size`.
   */
  async createImage(name: string, size: number | bigint, options?: CreateImageOptions): Promise<void> {
    checkName(name, 'image name');
    checkU64(size, 'size');
    const opts = imageOptions(options);
    await this.run('createImage', () => this.#native.createImage(name, size, opts), { image: name });
  }


  /** Names of the images in the pool, sorted (like `rbd ls`). */
  async listImages(): Promise<string[]> {
    return (await this.listImageSpecs()).map((s) => s.name);
  }

  /** Names and ids of the images in the pool, sorted by name. */
  async listImageSpecs(): Promise<ImageSpec[]> {
    const specs = await this.run('listImages', () => this.#native.listImages());
    return specs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Remove an image (like `rbd rm`). Rejects with ImageNotFound, ImageBusy
   * (open elsewhere: it has watchers) or ImageHasSnapshots.
   */
  async removeImage(name: string, options?: RemoveImageOptions): Promise<void> {
    checkName(name, 'image name');
    const o = checkOptions<RemoveImageOptions>(options);
    await withProgress(o.onProgress, (cb) =>
      this.run('removeImage', () => this.#native.removeImage(name, cb), { image: name, subject: 'image' }),
    );
  }

  /** Rename an image within the pool (like `rbd mv`). */
  async renameImage(from: string, to: string): Promise<void> {
    checkName(from, 'image name');
    checkName(to, 'new image name');
    await this.run('renameImage', () => this.#native.renameImage(from, to), { image: from, subject: 'image' });
  }

  /**
   * Initialise the pool for RBD (like `rbd pool init`): tags the pool with
   * the rbd application. `force` initialises even a pool in use by another application.
   */
  async init(options?: { force?: boolean }): Promise<void> {
    const o = checkOptions<{ force?: boolean }>(options);
    const force = o.force === undefined ? false : checkBoolean(o.force, 'force');
    await this.run('init', () => this.#native.init(force));
  }

  /** Usage of this pool. */
  async stats(): Promise<PoolStats> {
    return this.run('stats', () => this.#native.stats());
  }

  /**
   * The RBD view of this pool (namespace), like `rbd pool stats`: images,
   * provisioned bytes and snapshots, in use and in the trash. librbd reads
   * every image header to add them up, so it takes longer the more images there are.
   */
  async imageStats(): Promise<PoolImageStats> {
    return poolImageStats(this);
  }

  /** Open an image by name. Rejects with ImageNotFound if there is none. */
  async openImage(name: string, options?: OpenImageOptions): Promise<Image> {
    return this.#open(checkName(name, 'image name'), false, options);
  }

  /** Open an image by its id. */
  async openImageById(id: string, options?: OpenImageOptions): Promise<Image> {
    return this.#open(checkName(id, 'image id'), true, options);
  }

  #open(nameOrId: string, byId: boolean, options: OpenImageOptions | undefined): Promise<Image> {
    const o = checkOptions<OpenImageOptions>(options);
    const readOnly = o.readOnly === undefined ? false : o.readOnly;
    if (typeof readOnly !== 'boolean') throw new TypeError('readOnly must be a boolean');
    const snapshot = o.snapshot === undefined ? undefined : checkName(o.snapshot, 'snapshot');
    const snapshotId = o.snapshotId;
    if (snapshotId !== undefined) {
      if (typeof snapshotId !== 'number') throw new TypeError('snapshotId must be a number');
      if (!Number.isSafeInteger(snapshotId) || snapshotId < 0) throw new RangeError('snapshotId must be an integer >= 0');
      if (snapshot !== undefined) throw new TypeError('give snapshot or snapshotId, not both');
    }
    const nopts = { byId, readOnly: readOnly || snapshot !== undefined || snapshotId !== undefined, ...(snapshot ? { snapshot } : {}) };
    return this.run(
      byId ? 'openImageById' : 'openImage',
      async () => {
        const { image, size, id } = await this.#native.openImage(nameOrId, nopts);
        const img = Image._create(this, image, nameOrId, id, nopts.readOnly, size);
        if (snapshotId === undefined) return img;
        try {
          await img.snapshots.setCurrentById(snapshotId);
        } catch (err) {
          await img.close().catch(() => undefined);
          throw err;
        }
        return img;
      },
      { image: nameOrId, subject: 'image', ...(snapshot ? { snapshot } : {}) },
    );
  }

  /**
   * Create image `name` and stream a file or a Readable into it (like `rbd
   * import`). For a stream, `size` is required; for a file it defaults to the
   * file's size. Sparse, like the CLI: runs of all-zero 4 KiB blocks are not
   * written (the new image reads zeros there anyway), so they take no space.
   * On failure the half-made image is removed. Resolves with the bytes
   * imported (the source's length, skipped zeros included).
   */
  importFrom(src: string | Readable, name: string, options?: ImportOptions): Promise<number> {
    return importSparse(this, src, name, options);
  }
}
