/**
 * The native surface, as native/ exports it. Everything here is internal: the
 * public classes in cluster.ts / pool.ts / image.ts validate arguments, name
 * things and turn native errors into RbdErrors before and after these calls.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type {
  NativeImageStat,
  NativePoolStats,
  NativeTrashEntry,
  NativeGroupImage,
  NativeSnapshotInfo,
  NativeLinkedImage,
  NativePeerSite,
  NativePeer,
  NativeClusterStats,
  NativeMirrorInfo,
  NativeMirrorSiteStatus,
  NativeMirrorGlobalStatus,
  NativeParent,
  NativeMigrationStatus,
  NativeHandleCounts,
  NativeConnectOptions,
} from './native-shapes';

export type * from './native-shapes';

/** A rejected native call: errno is positive, op is the librados/librbd function. */
export interface NativeErrnoError extends Error {
  errno: number;
  op: string;
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

export type ProgressFn = (done: number, total: number) => void;

// ---- trash (native/pool/trash.cc) ------------------------------------------------------------------------

/** The native functions of this area (native/trash.cc). */
export interface NativePoolTrash {
  move(pool: NativePool, name: string, delaySeconds: number): Promise<void>;
  list(pool: NativePool): Promise<NativeTrashEntry[]>;
  get(pool: NativePool, id: string): Promise<NativeTrashEntry>;
  remove(pool: NativePool, id: string, force: boolean, onProgress?: ProgressFn): Promise<void>;
  /** An empty name restores under the original one. */
  restore(pool: NativePool, id: string, name: string): Promise<void>;
  /** expireTs 0 = now; threshold -1 = no pool-usage threshold. */
  purge(pool: NativePool, expireTs: number, threshold: number, onProgress?: ProgressFn): Promise<void>;
}

// ---- namespaces (native/pool/namespaces.cc) --------------------------------------------------------------

/** The native functions of this area (native/namespaces.cc). */
export interface NativePoolNamespaces {
  create(pool: NativePool, name: string): Promise<void>;
  remove(pool: NativePool, name: string): Promise<void>;
  list(pool: NativePool): Promise<string[]>;
  exists(pool: NativePool, name: string): Promise<boolean>;
}

// ---- io (native/image/io.cc) -----------------------------------------------------------------------------

/** The native functions of this area (native/io.cc): all rbd_aio_*, completed through a thread-safe function. */
export interface NativeIo {
  /**
   * rbd_aio_read2 into `buffer`, in place. The addon takes no reference on `buffer`: the caller keeps it
   * reachable until the promise settles (Resource.runIo's `keep`; native/image/io.cc, Unpinned).
   */
  readInto(image: NativeImage, buffer: Uint8Array, offset: number | bigint, flags: number): Promise<number>;
  /** rbd_aio_write2 from `buffer`, in place; the caller keeps `buffer` reachable until the promise settles (as readInto). */
  write(image: NativeImage, buffer: Uint8Array, offset: number | bigint, flags: number): Promise<number>;
  discard(image: NativeImage, offset: number | bigint, length: number | bigint): Promise<number>;
  /** zeroFlags: RBD_WRITE_ZEROES_FLAG_*. */
  writeZeroes(image: NativeImage, offset: number | bigint, length: number | bigint, flags: number, zeroFlags?: number): Promise<number>;
  writeSame(image: NativeImage, offset: number | bigint, length: number | bigint, pattern: Uint8Array, flags: number): Promise<number>;
  compareAndWrite(image: NativeImage, offset: number | bigint, compare: Uint8Array, data: Uint8Array, flags: number): Promise<number>;
  flush(image: NativeImage): Promise<number>;
  /** rbd_aio_readv: one read into several Buffers, in order; resolves with the bytes read. */
  readv(image: NativeImage, buffers: Uint8Array[], offset: number | bigint): Promise<number>;
  /** rbd_aio_writev: the Buffers written back to back from offset, one completion. */
  writev(image: NativeImage, buffers: Uint8Array[], offset: number | bigint): Promise<number>;
}

// ---- metadata (native/image/metadata.cc) -----------------------------------------------------------------

/** The native functions of this area (native/metadata.cc). */
export interface NativeMetadata {
  get(image: NativeImage, key: string): Promise<string>;
  set(image: NativeImage, key: string, value: string): Promise<void>;
  remove(image: NativeImage, key: string): Promise<void>;
  list(image: NativeImage): Promise<Array<[string, string]>>;
}

// ---- watch (native/image/watch.cc) -----------------------------------------------------------------------

/** An opaque registration made by watch(), to hand back to unwatch(). */
export declare const registration: unique symbol;
export type NativeRegistration = { readonly [registration]: true };

/** The native functions of this area (native/watch.cc). */
export interface NativeWatch {
  /**
   * rbd_update_watch in a worker. `onUpdate` runs on the JS thread after one or
   * more header updates (a burst is coalesced: at most one call is pending).
   */
  watch(image: NativeImage, onUpdate: () => void): Promise<NativeRegistration>;
  /** rbd_update_unwatch in a worker (it waits for a callback in progress); then no more calls. */
  unwatch(registration: NativeRegistration): Promise<void>;
}

// ---- diff (native/image/diff.cc) -------------------------------------------------------------------------

/** The native functions of this area (native/diff.cc). */
export interface NativeDiff {
  /**
   * rbd_diff_iterate2 over [offset, offset+length), parent included, stopping
   * after maxExtents extents. `extents` holds flat [offset, length, exists]
   * triples; `next` is where to continue (offset+length when the range is done).
   */
  iterate(
    image: NativeImage,
    fromSnapshot: string | null,
    offset: number,
    length: number,
    wholeObject: boolean,
    maxExtents: number,
    /** Default true. */
    includeParent?: boolean,
  ): Promise<{ extents: Array<number | boolean>; next: number }>;
}

// ---- groups (native/pool/groups.cc) ----------------------------------------------------------------------

/** The native functions of this area (native/groups.cc). */
export interface NativePoolGroups {
  create(pool: NativePool, name: string): Promise<void>;
  remove(pool: NativePool, name: string): Promise<void>;
  list(pool: NativePool): Promise<string[]>;
  rename(pool: NativePool, from: string, to: string): Promise<void>;
  addImage(pool: NativePool, group: string, imagePool: NativePool, image: string): Promise<void>;
  removeImage(pool: NativePool, group: string, imagePool: NativePool, image: string): Promise<void>;
  /** rbd_group_image_remove_by_id: the image named by its id. */
  removeImageById(pool: NativePool, group: string, imagePool: NativePool, imageId: string): Promise<void>;
  listImages(pool: NativePool, group: string): Promise<NativeGroupImage[]>;
  /** flags: RBD_SNAP_CREATE_* (rbd_group_snap_create2). */
  createSnapshot(pool: NativePool, group: string, snap: string, flags?: number): Promise<void>;
  listSnapshots(pool: NativePool, group: string): Promise<Array<{ name: string; state: number }>>;
  removeSnapshot(pool: NativePool, group: string, snap: string): Promise<void>;
  renameSnapshot(pool: NativePool, group: string, from: string, to: string): Promise<void>;
  rollbackSnapshot(pool: NativePool, group: string, snap: string, onProgress?: ProgressFn): Promise<void>;
}

// ---- snapshots (native/image/snapshots.cc) ---------------------------------------------------------------

/** The native functions of this area (native/snapshots.cc). */
export interface NativeImageSnapshots {
  create(image: NativeImage, name: string, flags: number): Promise<void>;
  list(image: NativeImage): Promise<NativeSnapshotInfo[]>;
  remove(image: NativeImage, name: string, flags: number, onProgress?: ProgressFn): Promise<void>;
  rollback(image: NativeImage, name: string, onProgress?: ProgressFn): Promise<void>;
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
  clone(image: NativeImage, snapshot: string, target: NativePool, name: string, options: NativeImageOption[]): Promise<void>;
  /** rbd_list_children3 / rbd_list_descendants, at `snapshot` or at the handle's current snapshot (null). */
  children(image: NativeImage, snapshot: string | null, descendants: boolean): Promise<NativeLinkedImage[]>;
  getId(image: NativeImage, name: string): Promise<number>;
  getName(image: NativeImage, id: number): Promise<string>;
  setById(image: NativeImage, id: number): Promise<void>;
  removeById(image: NativeImage, id: number): Promise<void>;
}

// ---- mirrorImage (native/mirror/image.cc) ----------------------------------------------------------------

/** The native functions of this area (native/mirror_image.cc). */
export interface NativeImageMirror {
  /** mode: rbd_mirror_image_mode_t. */
  enable(image: NativeImage, mode: number): Promise<void>;
  disable(image: NativeImage, force: boolean): Promise<void>;
  promote(image: NativeImage, force: boolean): Promise<void>;
  demote(image: NativeImage): Promise<void>;
  resync(image: NativeImage): Promise<void>;
  info(image: NativeImage): Promise<NativeMirrorInfo>;
  /** rbd_mirror_image_mode_t. */
  mode(image: NativeImage): Promise<number>;
  /** Rejects with ENOENT when no rbd-mirror instance replays the image. */
  instanceId(image: NativeImage): Promise<string>;
  /** flags: RBD_SNAP_CREATE_*; resolves with the snapshot id. */
  createSnapshot(image: NativeImage, flags: number): Promise<number>;
  globalStatus(image: NativeImage): Promise<NativeMirrorGlobalStatus>;
  /** rbd_mirror_peer_site_list on the image's ioctx. */
  peerSites(image: NativeImage): Promise<NativePeerSite[]>;
  /** Read-only `journal` class calls on `journal.<image id>`, in one op: the raw replies. */
  journalRead(image: NativeImage, calls: Array<[string, Buffer]>): Promise<{ imageId: string; replies: Buffer[] }>;
  /** rados_pool_reverse_lookup. */
  poolName(image: NativeImage, poolId: number): Promise<string>;
  /** For each oid in pool `poolId` (-1: the image's pool): its size (-1 when absent) and its last `maxBytes` bytes. */
  journalTail(image: NativeImage, poolId: number, oids: string[], maxBytes: number): Promise<Array<{ size: number; tail: Buffer }>>;
}

// ---- mirrorPool (native/mirror/pool.cc) ------------------------------------------------------------------

/** The native functions of this area (native/mirror_pool.cc). Enums are librbd's numbers. */
export interface NativePoolMirror {
  modeGet(pool: NativePool): Promise<number>;
  modeSet(pool: NativePool, mode: number): Promise<void>;
  uuidGet(pool: NativePool): Promise<string>;
  /** librbd 1.20+ builds only (capabilities().features.mirrorRemoteNamespace). */
  remoteNamespaceGet?(pool: NativePool): Promise<string>;
  remoteNamespaceSet?(pool: NativePool, namespace: string): Promise<void>;
  siteNameGet(pool: NativePool): Promise<string>;
  siteNameSet(pool: NativePool, name: string): Promise<void>;
  bootstrapCreate(pool: NativePool): Promise<string>;
  bootstrapImport(pool: NativePool, direction: number, token: string): Promise<void>;
  peerAdd(pool: NativePool, direction: number, siteName: string, clientName: string): Promise<string>;
  peerRemove(pool: NativePool, uuid: string): Promise<void>;
  peerSetName(pool: NativePool, uuid: string, name: string): Promise<void>;
  peerSetClient(pool: NativePool, uuid: string, clientName: string): Promise<void>;
  peerSetDirection(pool: NativePool, uuid: string, direction: number): Promise<void>;
  peerList(pool: NativePool): Promise<NativePeer[]>;
  peerGetAttributes(pool: NativePool, uuid: string): Promise<Array<[string, string]>>;
  peerSetAttributes(pool: NativePool, uuid: string, attributes: Array<[string, string]>): Promise<void>;
  statusSummary(pool: NativePool): Promise<Array<[number, number]>>;
  globalStatusList(pool: NativePool, startId: string, max: number): Promise<Array<{ id: string; status: NativeMirrorGlobalStatus }>>;
  /** modeFilter -1: every mode. */
  infoList(
    pool: NativePool,
    modeFilter: number,
    startId: string,
    max: number,
  ): Promise<Array<{ id: string; mode: number; info: NativeMirrorInfo }>>;
  instanceIdList(pool: NativePool, startId: string, max: number): Promise<Array<[string, string]>>;
}

// ---- admin (native/cluster/admin.cc) ---------------------------------------------------------------------

/** The native functions of the `admin` area (native/admin.cc). */
export interface NativeAdmin {
  listPools(c: NativeCluster): Promise<string[]>;
  createPool(c: NativeCluster, name: string): Promise<void>;
  deletePool(c: NativeCluster, name: string): Promise<void>;
  lookupPool(c: NativeCluster, name: string): Promise<number>;
  clusterStat(c: NativeCluster): Promise<NativeClusterStats>;
  monCommand(c: NativeCluster, cmd: string, input?: string): Promise<{ rc: number; output: string; status: string }>;
  mgrCommand(c: NativeCluster, cmd: string, input?: string): Promise<{ rc: number; output: string; status: string }>;
}

// ---- mirror statuses (native/mirror/status.h builds them) ------------------------------------------------

// ---- locks (native/image/locks.cc), maintenance (image/maintenance.cc), pool stats (pool/stats.cc) -------

/** The native functions of this area: the managed lock and the advisory locks of `rbd lock`. `mode`: rbd_lock_mode_t. */
export interface NativeLocks {
  acquire(image: NativeImage, mode: number): Promise<void>;
  release(image: NativeImage): Promise<void>;
  breakOwner(image: NativeImage, mode: number, owner: string): Promise<void>;
  isOwner(image: NativeImage): Promise<boolean>;
  lockExclusive(image: NativeImage, cookie: string): Promise<void>;
  lockShared(image: NativeImage, cookie: string, tag: string): Promise<void>;
  unlock(image: NativeImage, cookie: string): Promise<void>;
  breakLocker(image: NativeImage, client: string, cookie: string): Promise<void>;
  listLockers(image: NativeImage): Promise<{ exclusive: boolean; tag: string; lockers: Array<{ client: string; cookie: string; address: string }> }>;
}
/** sparsify, object-map rebuild, cache invalidation, deep copy (options: RBD_IMAGE_OPTION_* pairs). */
export interface NativeMaintenance {
  sparsify(image: NativeImage, sparseSize: number, onProgress?: ProgressFn): Promise<void>;
  rebuildObjectMap(image: NativeImage, onProgress?: ProgressFn): Promise<void>;
  invalidateCache(image: NativeImage): Promise<void>;
  deepCopy(image: NativeImage, dest: NativePool, name: string, options: NativeImageOption[], onProgress?: ProgressFn): Promise<void>;
}
/** rbd_pool_stats_get: the RBD_POOL_STAT_OPTION_* figures by name. */
export interface NativePoolStatsArea {
  get(pool: NativePool): Promise<Record<'images' | 'provisionedBytes' | 'maxProvisionedBytes' | 'snapshots' | `trash${'Images' | 'ProvisionedBytes' | 'MaxProvisionedBytes' | 'Snapshots'}`, number>>;
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
  /** rbd_copy_with_progress4; sparseSize 0 (the default) writes every chunk. */
  copy(dest: NativePool, name: string, options: NativeImageOption[], onProgress?: ProgressFn, sparseSize?: number): Promise<void>;
  close(): Promise<void>;
  readonly isOpen: boolean;
}

// ---- migration, encryption, config (native/pool/migration.cc, image/encryption.cc, pool/config.cc, image/config.cc)

/** native/pool/migration.cc. `cancel[0] !== 0`: the progress callback answers -ECANCELED. */
export interface NativeMigration {
  prepare(pool: NativePool, name: string, dest: NativePool, destName: string, options: NativeImageOption[]): Promise<void>;
  prepareImport(sourceSpec: string, dest: NativePool, destName: string, options: NativeImageOption[]): Promise<void>;
  execute(pool: NativePool, name: string, onProgress?: ProgressFn, cancel?: Int32Array): Promise<void>;
  abort(pool: NativePool, name: string, onProgress?: ProgressFn, cancel?: Int32Array): Promise<void>;
  commit(pool: NativePool, name: string, onProgress?: ProgressFn): Promise<void>;
  status(pool: NativePool, name: string): Promise<NativeMigrationStatus>;
  sourceSpec(image: NativeImage): Promise<string>;
}
/** native/image/encryption.cc (load2 only where librbd has it); enum values by name; passphrases as Buffers. */
export interface NativeEncryption {
  format(image: NativeImage, format: number, algorithm: number, passphrase: Buffer): Promise<void>;
  load(image: NativeImage, format: number, passphrase: Buffer): Promise<void>;
  load2?(image: NativeImage, specs: Array<[number, Buffer]>): Promise<void>;
}
/** rbd_config_option_t; source: rbd_config_source_t (named by CONFIG_SOURCE in lib/core/constants.ts). */
export interface NativeConfigOption {
  name: string;
  value: string;
  source: number;
}
/** native/pool/config.cc (pool metadata, rbd_config_pool_list) and native/image/config.cc (rbd_config_image_list). */
export interface NativePoolConfig {
  metadataGet(pool: NativePool, key: string): Promise<string>;
  metadataSet(pool: NativePool, key: string, value: string): Promise<void>;
  metadataRemove(pool: NativePool, key: string): Promise<void>;
  metadataList(pool: NativePool): Promise<Array<[string, string]>>;
  list(pool: NativePool): Promise<NativeConfigOption[]>;
}
export interface NativeImageConfig { list(image: NativeImage): Promise<NativeConfigOption[]> }

/**
 * Everything the addon exports (native/addon.cc), declared here and nowhere
 * else: the three wrapped handle classes, then one member per API area (each
 * area's functions take the wrapped handle as their first argument; the
 * area's TypeScript file calls them as `native().<area>.<fn>(handle, ...)`).
 */
export interface NativeBinding {
  Cluster: typeof NativeCluster;
  Pool: typeof NativePool;
  Image: typeof NativeImage;
  admin: NativeAdmin;
  namespaces: NativePoolNamespaces;
  trash: NativePoolTrash;
  groups: NativePoolGroups;
  io: NativeIo;
  diff: NativeDiff;
  metadata: NativeMetadata;
  snapshots: NativeImageSnapshots;
  watch: NativeWatch;
  mirrorPool: NativePoolMirror;
  mirrorImage: NativeImageMirror;
  locks: NativeLocks;
  maintenance: NativeMaintenance;
  poolStats: NativePoolStatsArea;
  /** librbd's / librados' enum and flag values from the headers built against, by group and C name (native/core/constants.cc; named in lib/core/constants.ts). */
  constants: Record<NativeConstantGroup, Record<string, number>>;
  /** librbd's own name of each RBD_FEATURE_* bit of `constants.feature`, by C name (rbd_features_to_string; native/core/constants.cc). */
  featureNames: Record<string, string>;
  /** rbd_features_to_string: librbd's names for a feature mask, comma-separated, sorted by name; throws (errno EINVAL) on a bit librbd cannot name. */
  featuresToString(features: number): string;
  /** rbd_features_from_string: the mask for comma-separated feature names; throws (errno EINVAL) on a name librbd does not know. */
  featuresFromString(names: string): number;
  migration: NativeMigration;
  encryption: NativeEncryption;
  poolConfig: NativePoolConfig;
  imageConfig: NativeImageConfig;
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

/** The groups of native/core/constants.cc's `constants`. */
export type NativeConstantGroup =
  | 'mirrorMode' | 'mirrorImageMode' | 'mirrorImageState' | 'mirrorStatusState' | 'mirrorPeerDirection'
  | 'imageOption' | 'snapCreateFlag' | 'snapRemoveFlag' | 'snapNamespaceType' | 'snapMirrorState' | 'trashSource'
  | 'groupImageState' | 'groupSnapState' | 'lockMode' | 'feature' | 'opFlag' | 'writeZeroesFlag' | 'operationFeature'
  | 'imageFlag' | 'migrationState' | 'encryptionFormat' | 'encryptionAlgorithm' | 'configSource';

let loadedFrom: string | undefined;

/**
 * The system libcrypto's "major.minor" (read from the library file's version
 * string), or undefined when it cannot be found.
 */
function systemOpenSslMinor(): string | undefined {
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  for (const dir of [`/usr/lib/${arch}-linux-gnu`, `/lib/${arch}-linux-gnu`, '/usr/lib64', '/usr/lib']) {
    try {
      const m = /OpenSSL (\d+\.\d+)\.\d+/.exec(fs.readFileSync(path.join(dir, 'libcrypto.so.3')).toString('latin1'));
      if (m) return m[1];
    } catch {
      // not there
    }
  }
  return undefined;
}

/**
 * Load the addon, with RTLD_DEEPBIND only when the system's OpenSSL is not
 * the one the node binary carries. Why: the node binary exports the OpenSSL
 * it is built with (3.0 in Node 20), and the libraries librbd brings in bind
 * their OpenSSL calls to it first, falling back to the system's libcrypto.so.3
 * for what Node's lacks. libcryptsetup 2.8 (Debian forky, under librbd 20.2's
 * LUKS code) calls OSSL_set_max_threads (OpenSSL 3.2+) on a library context
 * made by Node's OSSL_LIB_CTX_new: `encryption.format()` crashed the process
 * (SIGSEGV in pthread_mutex_lock, the 20.2 client container). With DEEPBIND
 * they use the system's libcrypto alone. Not always, because DEEPBIND has its
 * own fault: node holds copy-relocated std::cerr/std::cout, so a deep-bound
 * library writes to libstdc++'s never-constructed ones — librados does, on a
 * bad mon address (SIGSEGV in MonMap::build_initial, the bad-input suite on
 * 16.2). When both OpenSSLs are one minor release (Debian 12: 3.0 and 3.0),
 * the plain load is right; README "Known issues" says what is left.
 */
function dlopenAddon(file: string): NativeBinding {
  const flags = os.constants.dlopen as { RTLD_NOW?: number; RTLD_DEEPBIND?: number };
  const nodeMinor = /^(\d+\.\d+)/.exec(process.versions.openssl ?? '')?.[1];
  const systemMinor = systemOpenSslMinor();
  const deep = flags.RTLD_DEEPBIND !== undefined && flags.RTLD_NOW !== undefined && systemMinor !== undefined && systemMinor !== nodeMinor;
  if (!deep) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as NativeBinding;
  }
  const m = { exports: {} as NativeBinding };
  // require.resolve: a missing file is MODULE_NOT_FOUND ("Cannot find module"), as with require()
  process.dlopen(m, require.resolve(file), (flags.RTLD_NOW as number) | (flags.RTLD_DEEPBIND as number));
  return m.exports;
}

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
    const b = dlopenAddon(file);
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
