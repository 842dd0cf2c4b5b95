/**
 * Live migration: `rbd migration prepare | execute | commit | abort | status`
 * (librbd's rbd_migration_*). An image is moved — to another pool, namespace,
 * name or layout, or imported from a file or a read-only source image — while
 * clients keep using it: after prepare() the destination image is the one to
 * open (reads of not-yet-copied blocks go through to the source), execute()
 * copies the blocks in the background, commit() removes the source; abort()
 * before commit() rolls everything back.
 *
 * Mirroring (librbd 16.2, test/integration/pool/migration.test.ts): librbd
 * refuses to prepare the migration of a snapshot-mode mirrored image — its
 * mirror snapshots are "non-user snapshots, not supported by migration" —
 * with ImageBusy (EBUSY); disable mirroring first. A journal-mode mirrored
 * primary image migrates, and the destination is mirrored (journal mode,
 * primary) after commit. Do not migrate a non-primary image on the secondary
 * site: 16.2 prepares it, then refuses the commit (EBUSY) and the abort
 * (EINVAL), leaving the copy stuck.
 */
import { MIGRATION_STATE } from '../core/constants';
import type { Pool } from './pool';
import type { Image } from '../image/image';
import { native, type NativeBinding, type NativeImageOption } from '../core/native';
import { imageOptions, type CreateImageOptions } from '../image/options';
import { withProgress, type ProgressCallback } from '../core/progress';
import { AbortError } from '../mirror/wait';
import { checkName, checkOptions, checkString, checkCallback } from '../core/validate';
import { isHandle } from '../core/resource';

const api = (): NativeBinding['migration'] => native().migration;

/** Where a migration is (librbd's rbd_image_migration_state_t), as `rbd migration status` names it. */
export type MigrationState =
  | 'error'
  | 'preparing'
  | 'prepared'
  | 'executing'
  | 'executed'
  | 'aborting'
  | 'unknown'
  | `unknown(${number})`;

/** One end of a migration. */
export interface MigrationEnd {
  /** The pool's id (-1 for an import whose source is not an image). */
  poolId: number;
  /** The RBD namespace ('' for the default one). */
  namespace: string;
  /** The image's name ('' for an import's source that is not an image). */
  image: string;
  /** The image's id. */
  imageId: string;
}

/** `pool.migration.status()`: where an image's migration is (like `rbd migration status`). */
export interface MigrationStatus {
  /** The image being migrated from. */
  source: MigrationEnd;
  /** The image being migrated to (the one clients open). */
  destination: MigrationEnd;
  /** The migration's state. */
  state: MigrationState;
  /** librbd's description of the state (the error, for 'error'). */
  description: string;
}

/** Options of `pool.migration.prepare()`: where to, and the new image's layout (unset fields keep the source's). */
export interface MigrationPrepareOptions extends CreateImageOptions {
  /** The pool (handle of the same cluster connection) to migrate to. Default: this pool. */
  destPool?: Pool;
  /** The destination image's name. Default: the source's name. */
  destName?: string;
}

/**
 * What `pool.migration.prepareImport()` imports from (a librbd source spec, as
 * `rbd migration prepare --import-only --source-spec` takes it):
 * - `{ format: 'raw' | 'qcow', file }`: a disk image file on this host (the
 *   librbd of every client that opens the image before commit must reach it);
 * - `{ format: 'raw' | 'qcow', url }`: the same over HTTP(S);
 * - `{ format: 'native', pool, image, snapshot, namespace? }`: a snapshot of an
 *   image of this cluster, which stays as it is (a copy, not a move);
 * - `{ spec }`: any other source spec librbd accepts, as JSON text or an object.
 */
export type MigrationSource =
  | {
      /** The file's format. */
      format: 'raw' | 'qcow';
      /** Its path on this host. */
      file: string;
    }
  | {
      /** The file's format. */
      format: 'raw' | 'qcow';
      /** Its HTTP(S) URL. */
      url: string;
    }
  | {
      /** A snapshot of an image of this cluster. */
      format: 'native';
      /** The source image's pool. */
      pool: string;
      /** The source image. */
      image: string;
      /** The snapshot to import. */
      snapshot: string;
      /** The source image's namespace (default ''). */
      namespace?: string;
    }
  | {
      /** A librbd source spec: JSON text or an object. */
      spec: string | Record<string, unknown>;
    };

/** Options of `pool.migration.execute()` and `abort()`. */
export interface MigrationRunOptions {
  /** Called with progress as the image's objects are copied (execute) or rolled back (abort). */
  onProgress?: ProgressCallback;
  /**
   * Ask librbd to stop: an already aborted signal rejects with an AbortError
   * before librbd is called; one aborted later makes the progress callback
   * answer -ECANCELED, and if librbd stops the call rejects with an AbortError
   * (an interrupted execute() can be run again, and resumes). librbd 16.2's
   * migration copy ignores that answer and runs to the end: the call then
   * resolves, the migration done.
   */
  signal?: AbortSignal;
}

/** Options of `pool.migration.commit()`. */
export interface MigrationCommitOptions {
  /** Called with progress as the source image is removed. */
  onProgress?: ProgressCallback;
}

function stateName(n: number): MigrationState {
  return MIGRATION_STATE.name(n);
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (signal === null || typeof signal !== 'object' || typeof (signal as AbortSignal).aborted !== 'boolean') {
    throw new TypeError('signal must be an AbortSignal');
  }
  return signal as AbortSignal;
}

/** A MigrationSource as librbd's source spec JSON. */
export function migrationSourceSpec(source: unknown): string {
  const s = checkOptions<Record<string, unknown>>(source, 'source');
  if ('spec' in s) {
    if (typeof s.spec === 'string') return checkName(s.spec, 'source.spec');
    if (s.spec === null || typeof s.spec !== 'object' || Array.isArray(s.spec)) {
      throw new TypeError('source.spec must be JSON text or an object');
    }
    const text = JSON.stringify(s.spec);
    if (text.includes('\\u0000')) throw new RangeError('source.spec must not contain NUL bytes');
    return text;
  }
  const format = s.format;
  if (format === 'raw' || format === 'qcow') {
    if ((s.file === undefined) === (s.url === undefined)) throw new TypeError('source: give file or url');
    const stream =
      s.file !== undefined
        ? { type: 'file', file_path: checkName(s.file, 'source.file') }
        : { type: 'http', url: checkName(s.url, 'source.url') };
    return JSON.stringify({ type: format, stream });
  }
  if (format === 'native') {
    const spec: Record<string, string> = {
      type: 'native',
      pool_name: checkName(s.pool, 'source.pool'),
      image_name: checkName(s.image, 'source.image'),
      snap_name: checkName(s.snapshot, 'source.snapshot'),
    };
    if (s.namespace !== undefined) spec.pool_namespace = checkString(s.namespace, 'source.namespace');
    return JSON.stringify(spec);
  }
  throw new RangeError(`source.format must be 'raw', 'qcow' or 'native'`);
}

/** Live migration of the pool's images (`pool.migration`), like `rbd migration ...`. */
export class PoolMigration {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.migration`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /**
   * Start migrating image `name` (like `rbd migration prepare`): the
   * destination image is created, linked to the source, and from then on is
   * the one to open; `destPool`, `destName` and layout options say what
   * changes. Rejects with ImageBusy while the source is open elsewhere, and
   * with InvalidArgument for a non-primary mirrored image.
   */
  async prepare(name: string, options?: MigrationPrepareOptions): Promise<void> {
    checkName(name, 'image name');
    const o = checkOptions<MigrationPrepareOptions>(options);
    const { destPool, destName, ...layout } = o;
    const dest = destPool === undefined ? this.#pool : this.#checkPool(destPool);
    const to = destName === undefined ? name : checkName(destName, 'destName');
    const opts: NativeImageOption[] = imageOptions(layout);
    // The destination's handle is held for the call; the error is the inner call's, named once.
    let failure: { err: unknown } | undefined;
    await dest._call(
      'migration.prepare',
      async (d) => {
        try {
          await this.#pool._call('migration.prepare', (n) => api().prepare(n, name, d, to, opts), { image: name });
        } catch (err) {
          failure = { err };
        }
      },
      { image: to },
    );
    if (failure) throw failure.err;
  }

  /**
   * Start importing `source` into a new image `name` of this pool (like `rbd
   * migration prepare --import-only --source-spec`): the image is usable at
   * once, reads of blocks not yet copied go to the source; execute() copies
   * everything and commit() cuts the link. See MigrationSource for what 16.2
   * can import from.
   */
  async prepareImport(source: MigrationSource, name: string, options?: CreateImageOptions): Promise<void> {
    const spec = migrationSourceSpec(source);
    checkName(name, 'image name');
    const opts = imageOptions(options);
    await this.#pool._call('migration.prepareImport', (n) => api().prepareImport(spec, n, name, opts), { image: name });
  }

  /** Copy the image's blocks to the destination (like `rbd migration execute`), with progress; abortable. */
  async execute(name: string, options?: MigrationRunOptions): Promise<void> {
    await this.#run('migration.execute', name, options, (n, cb, cell) => api().execute(n, name, cb, cell));
  }

  /**
   * Roll a prepared or executed (not committed) migration back (like `rbd
   * migration abort`): the destination is removed and the source is the image
   * again.
   */
  async abort(name: string, options?: MigrationRunOptions): Promise<void> {
    await this.#run('migration.abort', name, options, (n, cb, cell) => api().abort(n, name, cb, cell));
  }

  /** Finish an executed migration (like `rbd migration commit`): the source image is removed. */
  async commit(name: string, options?: MigrationCommitOptions): Promise<void> {
    checkName(name, 'image name');
    const o = checkOptions<MigrationCommitOptions>(options);
    await withProgress(o.onProgress, (cb) =>
      this.#pool._call('migration.commit', (n) => api().commit(n, name, cb), { image: name }),
    );
  }

  /**
   * Where the migration of image `name` (source or destination name) is (like
   * `rbd migration status`). Rejects with InvalidArgument when the image is
   * not being migrated.
   */
  async status(name: string): Promise<MigrationStatus> {
    checkName(name, 'image name');
    const s = await this.#pool._call('migration.status', (n) => api().status(n, name), { image: name });
    return {
      source: { poolId: s.sourcePoolId, namespace: s.sourceNamespace, image: s.sourceImageName, imageId: s.sourceImageId },
      destination: { poolId: s.destPoolId, namespace: s.destNamespace, image: s.destImageName, imageId: s.destImageId },
      state: stateName(s.state),
      description: s.stateDescription,
    };
  }

  /** The source spec of an open image that is being migrated to (librbd's JSON, parsed). */
  async sourceSpec(image: Image): Promise<Record<string, unknown>> {
    if (!isHandle<Image>(image, 'image')) throw new TypeError('image must be an open Image');
    const text = await image._call('migration.sourceSpec', (n) => api().sourceSpec(n));
    return JSON.parse(text) as Record<string, unknown>;
  }

  #checkPool(p: unknown): Pool {
    if (!isHandle<Pool>(p, 'pool')) throw new TypeError('destPool must be a Pool');
    if (p.cluster !== this.#pool.cluster) throw new TypeError('destPool must be a Pool of the same cluster connection');
    return p;
  }

  async #run(
    op: string,
    name: string,
    options: MigrationRunOptions | undefined,
    call: (n: Parameters<Parameters<Pool['_call']>[1]>[0], cb: ProgressCallback | undefined, cell: Int32Array) => Promise<void>,
  ): Promise<void> {
    checkName(name, 'image name');
    const o = checkOptions<MigrationRunOptions>(options);
    checkCallback(o.onProgress, 'onProgress');
    const signal = checkSignal(o.signal);
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const cell = new Int32Array(1);
    const onAbort = (): void => {
      cell[0] = 1;
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await withProgress(o.onProgress, (cb) => this.#pool._call(op, (n) => call(n, cb, cell), { image: name }));
    } catch (err) {
      if (cell[0] === 1 && (err as { code?: string }).code === 'ECANCELED') {
        throw new AbortError(undefined, { cause: signal?.reason });
      }
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

