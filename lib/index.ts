/**
 * @x/rbd — Ceph RBD block images and their mirroring, from Node.js.
 *
 * ```ts
 * import { Cluster } from '@x/rbd';
 * await using cluster = await Cluster.connect({ confPath: '/etc/ceph/ceph.conf' });
 * await using pool = await cluster.openPool('rbd');
 * await pool.createImage('disk', 1 << 30, { features: ['layering', 'exclusive-lock'] });
 * await using image = await pool.openImage('disk');
 * console.log(await image.stat());
 * ```
 *
 * @module @x/rbd
 */
export {
  Cluster,
  type ConnectOptions,
  type OpenPoolOptions,
  type LibraryVersions,
  type ClusterStats,
  type CommandResult,
} from './cluster/cluster';
export { Pool, type ImageSpec, type PoolStats, type RemoveImageOptions } from './pool/pool';
export type { CreateImageOptions, JournalOptions } from './image/options';
export {
  Image,
  type ImageStat,
  type OpenImageOptions,
  type ResizeOptions,
  type ImageParent,
  type LockOwners,
  type Watcher,
  type CopyOptions,
} from './image/image';
export {
  ImageReadStream,
  ImageWriteStream,
  type ReadStreamOptions,
  type WriteStreamOptions,
  type ExportOptions,
  type ImportOptions,
} from './image/streams';
export type { ProgressCallback } from './core/progress';
export { exportDiff, type DiffExtent, type DiffOptions, type ExportDiffOptions, type ExportDiffResult } from './image/diff';
export type { Fadvise, IoOptions } from './image/io';
export {
  ImageSnapshots,
  type SnapshotInfo,
  type SnapshotNamespace,
  type UnknownSnapshotNamespace,
  type MirrorSnapshotInfo,
  type MirrorSnapshotState,
  type GroupSnapshotRef,
  type CreateSnapshotOptions,
  type RemoveSnapshotOptions,
  type RollbackOptions,
  type CloneOptions,
  type ChildrenOptions,
  type ChildImage,
} from './image/snapshots';
export { ImageMetadata } from './image/metadata';
export {
  ImageLocks,
  type LockMode,
  type AcquireLockOptions,
  type BreakLockOptions,
  type AdvisoryLock,
  type AdvisoryLocks,
  type AddLockOptions,
  type RemoveLockOptions,
} from './image/locks';
export type { ImageGroupRef, OperationFeature } from './image/stat';
export type { WriteZeroesOptions } from './image/io';
export type { DeepCopyOptions, DiskUsage, DiskUsageEntry, SparsifyOptions } from './image/maintenance';
export type { PoolImageStats, PoolTrashStats } from './pool/stats';
export {
  ImageMirror,
  type MirrorImageEnableMode,
  type MirrorImageInfo,
  type MirrorImageStatus,
  type MirrorDisableOptions,
  type MirrorPromoteOptions,
  type MirrorSnapshotOptions,
} from './mirror/image-mirror';
export {
  parseMirrorDescription,
  type MirrorImageState,
  type MirrorStatusState,
  type MirrorReplayStatus,
  type JournalReplayStatus,
  type SnapshotReplayStatus,
  type JournalPosition,
} from './mirror/status';
export type { JournalStatus, JournalClient, JournalAppended } from './mirror/journal';
export {
  PoolMirror,
  type MirrorMode,
  type MirrorPeerDirection,
  type MirrorImageMode,
  type MirrorHealth,
  type MirrorPeer,
  type AddPeerOptions,
  type MirrorPeerAttributes,
  type ImportBootstrapTokenOptions,
  type EnableMirrorOptions,
  type MirrorSiteStatus,
  type MirrorPoolImageStatus,
  type MirrorDaemon,
  type PoolMirrorStatus,
  type MirrorImageInfoEntry,
  type MirrorPoolActionResult,
  type PoolPromoteOptions,
  type SnapshotScheduleOptions,
} from './mirror/pool-mirror';
export type { SnapshotScheduleItem, SnapshotScheduleLevel, SnapshotScheduleStatus } from './mirror/schedules';
export {
  PoolTrash,
  type TrashEntry,
  type TrashSource,
  type TrashMoveOptions,
  type TrashRemoveOptions,
  type TrashPurgeOptions,
} from './pool/trash';
export { PoolNamespaces } from './pool/namespaces';
export {
  PoolGroups,
  type GroupImage,
  type GroupImageState,
  type GroupSnapshot,
  type GroupSnapshotState,
  type GroupRollbackOptions,
  type GroupSnapshotOptions,
} from './pool/groups';
export { capabilities, type Capabilities, type CapabilityName, type OptionalLibrbdCall } from './cluster/capabilities';
export { FEATURES, featureNames, featureBits, type FeatureName, type UnknownFeature } from './core/features';
export type { ResourceState } from './core/resource';
export {
  RbdError,
  PermissionDenied,
  NotPrimary,
  NotFound,
  PoolNotFound,
  ImageNotFound,
  SnapshotNotFound,
  GroupNotFound,
  NamespaceNotFound,
  ImageExists,
  ReadOnlyImage,
  ImageBusy,
  ImageHasSnapshots,
  InvalidArgument,
  MirroringNotEnabled,
  MgrModuleUnavailable,
  NoSpace,
  Timeout,
  ConnectionShutdown,
  OperationNotSupported,
  FunctionNotSupported,
  CapabilityUnavailable,
  ArgumentOutOfRange,
  DiskQuotaExceeded,
  IOError,
  HandleClosed,
  CompareMismatch,
  errnoCode,
  type ErrorContext,
} from './core/errors';
export { AbortError } from './core/poll';
export {
  matchesMirrorState,
  type MirrorWaitTimeout,
  type MirrorWaitOptions,
  type WaitForReplicationOptions,
  type ReplicationWaitResult,
  type MirrorStateMatch,
} from './mirror/wait';
export type {
  MirrorImageLag,
  MirrorLagFigures,
  MirrorLagOptions,
  MirrorLagSource,
  MirrorSiteLag,
  PoolMirrorLag,
  PoolMirrorLagOptions,
} from './mirror/lag';
export { MirrorStatusWatcher, diffMirrorStatuses, type MirrorStatusChange, type MirrorWatchOptions } from './mirror/watch';
export {
  failover,
  failback,
  MirrorStateError,
  type DrAction,
  type DrCopyState,
  type DrEvent,
  type DrImageReport,
  type DrReport,
  type FailbackOptions,
  type FailoverMode,
  type FailoverOptions,
} from './dr/dr';
export {
  drill,
  CopyIsPrimary,
  NoConsistentPoint,
  DrillChecksumMismatch,
  type DrillOptions,
  type DrillHandle,
  type DrillPoint,
} from './dr/drill';
// ---- live migration, encryption, configuration (issue #15 rows 2, 3, 5) ----
export {
  PoolMigration,
  type MigrationState,
  type MigrationEnd,
  type MigrationStatus,
  type MigrationPrepareOptions,
  type MigrationSource,
  type MigrationRunOptions,
  type MigrationCommitOptions,
} from './pool/migration';
export {
  ImageEncryption,
  type EncryptionFormat,
  type EncryptionAlgorithm,
  type EncryptionFormatOptions,
  type EncryptionLoadOptions,
} from './image/encryption';
export { PoolConfig, PoolMetadata, type ConfigOption, type ConfigSource } from './pool/config';
export { ImageConfig } from './image/config';
export type { PurgeScheduleItem, PurgeScheduleLevel, PurgeScheduleStatus } from './pool/trash-schedules';
