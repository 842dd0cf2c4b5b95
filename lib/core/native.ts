/**
 * The native surface, as native/ exports it. Everything here is internal: the
 * public classes in cluster.ts / pool.ts / image.ts validate arguments, name
 * things and turn native errors into RbdErrors before and after these calls.
 */
import * as path from 'node:path';

/** A rejected native call: errno is positive, op is the librados/librbd function. */
export interface NativeErrnoError extends Error {
  errno: number;
  op: string;
}

export interface NativeConnectOptions {
  clusterName: string;
  /** Full entity name, e.g. `client.admin`. */
  name: string;
  /** A path, `null` for the default search path, `undefined` for no file. */
  confPath?: string | null;
  config: Array<[string, string]>;
}

export declare class NativeCluster {
  /** Create the rados client, read the conf, apply options and connect. */
  connect(options: NativeConnectOptions): Promise<void>;
  fsid(): string;
  instanceId(): number;
  openPool(name: string, namespace: string): Promise<NativePool>;
  confGet(option: string): string;
  confSet(option: string, value: string): void;
  /** Idempotent; the client shuts down once its pools are gone. */
  close(): Promise<void>;
  readonly isOpen: boolean;
}

/** librbd's RBD_IMAGE_OPTION_* key and its value. */
export type NativeImageOption = [number, number | bigint | string];

export interface NativeImageStat {
  size: number;
  objectSize: number;
  numObjects: number;
  order: number;
  blockNamePrefix: string;
  id: string;
  name: string;
  features: number;
  flags: number;
  stripeUnit: number;
  stripeCount: number;
  createdMs: number;
  dataPoolId: number;
}

export declare class NativePool {
  createImage(name: string, size: number | bigint, options: NativeImageOption[]): Promise<void>;
  listImages(): Promise<Array<{ id: string; name: string }>>;
  removeImage(name: string, onProgress?: ProgressFn): Promise<void>;
  renameImage(from: string, to: string): Promise<void>;
  init(force: boolean): Promise<void>;
  stats(): Promise<NativePoolStats>;
  /** Opens the image and reads its size (for the write bounds check) and its id (what the role gate is keyed by). */
  openImage(
    nameOrId: string,
    options: { byId?: boolean; readOnly?: boolean; snapshot?: string },
  ): Promise<{ image: NativeImage; size: number; id: string }>;
  poolId(): number;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

/**
 * A pool's usage (rados_pool_stat_t): bytes, objects and their copies, I/O counts.
 * @inline
 */
export interface NativePoolStats {
  /** Bytes stored in the pool. */
  numBytes: number;
  /** Objects in the pool. */
  numObjects: number;
  /** Object clones (snapshot copies of objects). */
  numObjectClones: number;
  /** Object copies, replicas included. */
  numObjectCopies: number;
  /** Object copies on too few OSDs. */
  numObjectsDegraded: number;
  /** Objects no OSD has. */
  numObjectsUnfound: number;
  /** Read operations. */
  numRead: number;
  /** KiB read. */
  numReadKb: number;
  /** Write operations. */
  numWrite: number;
  /** KiB written. */
  numWriteKb: number;
  /** Bytes of user data. */
  numUserBytes: number;
}

export type ProgressFn = (done: number, total: number) => void;

export interface NativeParent {
  poolId: number;
  poolName: string;
  namespace: string;
  imageId: string;
  imageName: string;
  trash: boolean;
  snapId: number;
  snapName: string;
  snapNamespaceType: number;
  overlap: number;
}

export declare class NativeImage {
  stat(): Promise<NativeImageStat>;
  resize(size: number | bigint, allowShrink: boolean, onProgress?: ProgressFn): Promise<void>;
  updateFeatures(bits: number, enable: boolean): Promise<void>;
  flatten(onProgress?: ProgressFn): Promise<void>;
  parent(): Promise<NativeParent | null>;
  /** mode: RBD_LOCK_MODE_EXCLUSIVE (0) or RBD_LOCK_MODE_SHARED (1). */
  lockOwners(): Promise<{ mode: number; owners: string[]; isOwner: boolean }>;
  watchers(): Promise<Array<{ address: string; id: number; cookie: bigint }>>;
  copy(dest: NativePool, name: string, options: NativeImageOption[], onProgress?: ProgressFn): Promise<void>;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

export interface NativeBinding {
  Cluster: typeof NativeCluster;
  Pool: typeof NativePool;
  Image: typeof NativeImage;
  versions(): { rados: string; rbd: string; rbdHeader: string };
  /**
   * native/capabilities.cc: the librbd version of the headers built against and
   * the one loaded; per optional librbd call (C name), whether it was compiled in
   * and whether it is usable (compiled in, and the loaded librbd is as new).
   */
  capabilities(): { librbdHeader: string; librbd: string; calls: Record<string, { compiled: boolean; available: boolean }> };
  /**
   * Debug counts for the leak and finalisation tests. `wrappers`: native handle
   * objects of this JS environment (thread) not yet finalised; `handles`: the
   * librados clients, I/O contexts and librbd images still alive in the whole
   * process, whoever holds them (a wrapper, a call in flight, a child handle).
   */
  liveHandles(): { wrappers: NativeHandleCounts; handles: NativeHandleCounts };
}

export interface NativeHandleCounts {
  cluster: number;
  pool: number;
  image: number;
}

let loadedFrom: string | undefined;

function load(): NativeBinding {
  const root = path.join(__dirname, '..', '..');
  // XRBD_ADDON: load a specific build (development, or a cmake-js build in another folder).
  const override = process.env.XRBD_ADDON;
  try {
    // node-gyp-build's choice: build/Release/xrbd.node, else the matching file in
    // prebuilds/<platform>-<arch>/ (only that one when PREBUILDS_ONLY is set)
    const file = override
      ? path.resolve(override)
      : // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require('node-gyp-build') as { resolve(dir: string): string }).resolve(root);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const b = require(file) as NativeBinding;
    loadedFrom = file;
    return b;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const hints: string[] = [];
    if (override) hints.push(`XRBD_ADDON=${override} is set: unset it to load the package's own build`);
    if (/librbd\.so/.test(reason)) hints.push('librbd.so.1 is missing: install librbd1 (apt-get install librbd1)');
    if (/librados\.so/.test(reason)) hints.push('librados.so.2 is missing: install librados2 (apt-get install librados2)');
    if (/No native build was found/.test(reason)) {
      hints.push(
        'no prebuilt binary matches this platform and none was built: install librbd-dev and librados-dev, ' +
          'then run `npm rebuild @x/rbd` (or `bash scripts/setup-system.sh` from a clone)',
      );
      if (process.env.PREBUILDS_ONLY) {
        hints.push('PREBUILDS_ONLY is set, so build/ is not looked at: unset it, or make the prebuild (npm run build:prebuilds)');
      }
    }
    const e = new Error(
      `@x/rbd: cannot load the native addon: ${reason}` + (hints.length ? `\n  fix: ${hints.join('\n  fix: ')}` : ''),
    );
    (e as Error & { cause?: unknown }).cause = err;
    throw e;
  }
}

let binding: NativeBinding | undefined;

/**
 * One API area of the addon (native/snapshots.cc exports `snapshots`, ...).
 * Each area's functions take the wrapped handle as their first argument; the
 * area's TypeScript file (lib/image/snapshots.ts, ...) declares their types
 * next to the code that calls them.
 */
export function nativeArea<T>(area: string): T {
  const a = (native() as unknown as Record<string, unknown>)[area];
  if (a === null || typeof a !== 'object') throw new Error(`@x/rbd: the native addon has no '${area}' area`);
  return a as T;
}

/** The addon, loaded on first use so that importing the package never throws. */
export function native(): NativeBinding {
  binding ??= load();
  return binding;
}

/**
 * The file the addon was loaded from, loading it first if need be: `XRBD_ADDON`
 * when set, else node-gyp-build's choice — `build/Release/xrbd.node` when built
 * from source, or the prebuilt `prebuilds/<platform>-<arch>/@x+rbd.napi.glibc.node`
 * (the only candidate when `PREBUILDS_ONLY=1`). For diagnostics and the tests.
 */
export function addonPath(): string {
  native();
  return loadedFrom as string;
}
