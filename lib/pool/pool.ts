/** Pool: an I/O context on one pool (and RADOS namespace), and the image calls that take one. */
import type { Cluster } from '../cluster/cluster';
import type { ErrorContext } from '../core/errors';
import { featureBits } from '../core/features';
import { Image, type OpenImageOptions } from '../image/image';
import type { NativeImageOption, NativePool, NativePoolStats } from '../core/native';
import { withProgress, type ProgressCallback } from '../core/progress';
import { PoolGroups } from './groups';
import { PoolMirror } from '../mirror/pool-mirror';
import { PoolNamespaces } from './namespaces';
import { PoolTrash } from './trash';
import { Resource } from '../core/resource';
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { ImportOptions } from '../image/streams';
import { checkBoolean, checkInt, checkName, checkOptions, checkU64 } from '../core/validate';

/** librbd's RBD_IMAGE_OPTION_* keys. */
const ImageOption = {
  format: 0,
  features: 1,
  order: 2,
  stripeUnit: 3,
  stripeCount: 4,
  journalOrder: 5,
  journalSplayWidth: 6,
  journalPool: 7,
  dataPool: 10,
} as const;

/** librbd image options for CreateImageOptions: checked here, passed down as [key, value] pairs. */
export function imageOptions(options: unknown): NativeImageOption[] {
  const o = checkOptions<CreateImageOptions>(options);
  const opts: NativeImageOption[] = [[ImageOption.format, 2]];
  if (o.order !== undefined && o.objectSize !== undefined) {
    throw new TypeError('give either order or objectSize, not both');
  }
  if (o.order !== undefined) opts.push([ImageOption.order, checkInt(o.order, 'order', 12, 25)]);
  if (o.objectSize !== undefined) {
    const s = checkInt(o.objectSize, 'objectSize', 4096, 32 * 1024 * 1024);
    if ((s & (s - 1)) !== 0) throw new RangeError(`objectSize must be a power of two, got ${s}`);
    opts.push([ImageOption.order, Math.log2(s)]);
  }
  if (o.features !== undefined) {
    if (!Array.isArray(o.features)) throw new TypeError('features must be an array of feature names');
    opts.push([ImageOption.features, featureBits(o.features)]);
  }
  if ((o.stripeUnit === undefined) !== (o.stripeCount === undefined)) {
    throw new TypeError('give both stripeUnit and stripeCount, or neither');
  }
  if (o.stripeUnit !== undefined) {
    opts.push([ImageOption.stripeUnit, checkInt(o.stripeUnit, 'stripeUnit', 1, 2 ** 32)]);
    opts.push([ImageOption.stripeCount, checkInt(o.stripeCount, 'stripeCount', 1, 2 ** 32)]);
  }
  if (o.dataPool !== undefined) opts.push([ImageOption.dataPool, checkName(o.dataPool, 'dataPool')]);
  if (o.journal !== undefined) {
    const j = checkOptions<JournalOptions>(o.journal, 'journal');
    if (j.objectSize !== undefined) {
      const s = checkInt(j.objectSize, 'journal.objectSize', 4096, 64 * 1024 * 1024);
      if ((s & (s - 1)) !== 0) throw new RangeError(`journal.objectSize must be a power of two, got ${s}`);
      opts.push([ImageOption.journalOrder, Math.log2(s)]);
    }
    if (j.splayWidth !== undefined) opts.push([ImageOption.journalSplayWidth, checkInt(j.splayWidth, 'journal.splayWidth', 1, 255)]);
    if (j.pool !== undefined) opts.push([ImageOption.journalPool, checkName(j.pool, 'journal.pool')]);
  }
  return opts;
}

/** Journal settings for an image with the journaling feature (`rbd create --journal-*`). */
export interface JournalOptions {
  /** Size of each journal object in bytes (a power of two). */
  objectSize?: number;
  /** Number of journal objects written in parallel. */
  splayWidth?: number;
  /** Pool for the journal's objects (default: the image's pool). */
  pool?: string;
}

/** How `pool.createImage()` creates the image, like the options of `rbd create`. */
export interface CreateImageOptions {
  /** Object size as a power of two, 12 (4 KiB) to 25 (32 MiB). Default: the pool's (22, 4 MiB). */
  order?: number;
  /** Object size in bytes (a power of two); an alternative to `order`. */
  objectSize?: number;
  /**
   * Features by name, e.g. ['layering', 'exclusive-lock', 'journaling'].
   * Default: the cluster's rbd_default_features.
   */
  features?: readonly string[];
  /** Striping: stripe unit in bytes and stripe count (both or neither). */
  stripeUnit?: number;
  /** Striping: objects a stripe spans (with `stripeUnit`). */
  stripeCount?: number;
  /** Put the image's data objects in another pool (erasure-coded data pools). */
  dataPool?: string;
  /** Journal settings, used when the image has (or later gets) the journaling feature. */
  journal?: JournalOptions;
}

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
        const { image, size } = await this.#native.openImage(nameOrId, nopts);
        const img = Image._create(this, image, nameOrId, nopts.readOnly, size);
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

const MiB = 1024 * 1024;
/** The import reads and writes in blocks of this size, aligned to it in the image. */
const IMPORT_BLOCK = 4 * MiB;
/** Zero detection granularity: rbd import's default --sparse-size. */
const SPARSE_SIZE = 4096;
const ZEROS = Buffer.alloc(SPARSE_SIZE);

function isReadable(v: unknown): v is Readable {
  return v !== null && typeof v === 'object' && typeof (v as Readable).pipe === 'function' && typeof (v as Readable).on === 'function';
}

/** [start, end) runs of `block` that hold a non-zero byte, at SPARSE_SIZE granularity. */
function dataRuns(block: Buffer): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i < block.length; i += SPARSE_SIZE) {
    const end = Math.min(i + SPARSE_SIZE, block.length);
    const zero = block.compare(ZEROS, 0, end - i, i, end) === 0;
    if (!zero && start < 0) start = i;
    if (zero && start >= 0) {
      runs.push([start, i]);
      start = -1;
    }
  }
  if (start >= 0) runs.push([start, block.length]);
  return runs;
}

/** The implementation behind pool.importFrom(). */
async function importSparse(pool: Pool, src: string | Readable, name: string, options?: ImportOptions): Promise<number> {
  checkName(name, 'image name');
  const o = checkOptions<ImportOptions>(options);
  const depth = o.queueDepth === undefined ? 4 : checkInt(o.queueDepth, 'queueDepth', 1, 1024);
  const u = o.size === undefined ? undefined : checkU64(o.size, 'size');
  if (typeof u === 'bigint') throw new RangeError('size must be a number (at most 2^53-1)');
  const given = u;
  imageOptions(o.createOptions); // checked now; createImage uses them below
  if (typeof src === 'string') checkName(src, 'source path');
  else if (!isReadable(src)) throw new TypeError('src must be a file path or a Readable');
  else if (given === undefined) throw new TypeError('size is required when importing from a stream');

  return withProgress(o.onProgress, async (progress) => {
    let size: number;
    if (typeof src === 'string') {
      const st = await fs.promises.stat(src);
      if (!st.isFile()) throw new TypeError(`${src} is not a regular file: pass a stream and its size`);
      if (given !== undefined && given < st.size) {
        throw new RangeError(`size (${given}) is smaller than the file ${src} (${st.size} bytes)`);
      }
      size = given ?? st.size;
    } else {
      size = given!;
    }
    await pool.createImage(name, size, o.createOptions);
    let image: Image | undefined;
    let input: Readable | undefined;
    try {
      image = await pool.openImage(name);
      input = typeof src === 'string' ? fs.createReadStream(src, { highWaterMark: IMPORT_BLOCK }) : src;
      progress?.(0, size);
      const n = await copySparse(image, input, size, depth, progress);
      await image.close();
      return n;
    } catch (err) {
      if (typeof src === 'string') input?.destroy();
      await image?.close().catch(() => undefined);
      await pool.removeImage(name).catch((e: unknown) => {
        process.emitWarning(`@x/rbd: importFrom could not remove the half-made image '${name}': ${e instanceof Error ? e.message : String(e)}`);
      });
      throw err;
    }
  });
}

/**
 * Read `input` into aligned IMPORT_BLOCK blocks and write each block's data
 * runs, `depth` writes in flight. Anything past `size` is written, not
 * skipped, so that the image's bounds check refuses it (InvalidArgument).
 * Progress counts the bytes of the blocks done, in order.
 */
async function copySparse(image: Image, input: Readable, size: number, depth: number, progress: ProgressCallback | undefined): Promise<number> {
  const inflight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  const blocks: Array<{ end: number; pending: number }> = [];
  let acked = 0;
  const advance = (): void => {
    while (blocks.length > 0 && blocks[0].pending === 0) acked = blocks.shift()!.end;
    progress?.(acked, size);
  };
  const submit = async (block: Buffer, offset: number): Promise<void> => {
    const runs = offset + block.length > size ? [[0, block.length] as [number, number]] : dataRuns(block);
    const entry = { end: offset + block.length, pending: runs.length };
    blocks.push(entry);
    if (runs.length === 0) advance();
    for (const [s, e] of runs) {
      while (inflight.size >= depth) await Promise.race(inflight);
      if (failure) throw failure.err;
      const p: Promise<void> = image.write(block.subarray(s, e), offset + s).then(
        () => {
          inflight.delete(p);
          entry.pending--;
          if (entry.pending === 0) advance();
        },
        (err: unknown) => {
          inflight.delete(p);
          failure ??= { err };
        },
      );
      inflight.add(p);
    }
  };

  let offset = 0;
  let parts: Buffer[] = [];
  let partLen = 0;
  for await (const c of input as AsyncIterable<unknown>) {
    let chunk = typeof c === 'string' ? Buffer.from(c) : Buffer.isBuffer(c) ? c : c instanceof Uint8Array ? Buffer.from(c.buffer, c.byteOffset, c.byteLength) : undefined;
    if (chunk === undefined) throw new TypeError('the import source must yield Buffers, Uint8Arrays or strings');
    while (chunk.length > 0) {
      const take = Math.min(IMPORT_BLOCK - partLen, chunk.length);
      parts.push(chunk.subarray(0, take));
      partLen += take;
      chunk = chunk.subarray(take);
      if (partLen === IMPORT_BLOCK) {
        await submit(parts.length === 1 ? parts[0] : Buffer.concat(parts, partLen), offset);
        offset += partLen;
        parts = [];
        partLen = 0;
      }
    }
    if (failure) throw failure.err;
  }
  if (partLen > 0) {
    await submit(parts.length === 1 ? parts[0] : Buffer.concat(parts, partLen), offset);
    offset += partLen;
  }
  await Promise.all(inflight);
  if (failure) throw failure.err;
  await image.flush();
  return offset;
}
