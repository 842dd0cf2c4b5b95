/**
 * The plain-data shapes the addon's calls take and give (objects built in
 * native/, read in lib/): no functions here. lib/core/native.ts declares the
 * calls themselves, every one of them, and re-exports these.
 */

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
  /** RBD_OPERATION_FEATURE_* bits; timestamps in ms; group pool -1 and name '' when in no group. */
  opFeatures: number; accessedMs: number; modifiedMs: number; groupPoolId: number; groupName: string;
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

/** A trash entry as librbd reports it: times are seconds since the epoch, source is rbd_trash_image_source_t. */
export interface NativeTrashEntry {
  id: string;
  name: string;
  source: number;
  deletionTime: number;
  defermentEndTime: number;
}

export interface NativeGroupImage {
  name: string;
  poolId: number;
  /** The pool's name, or null when the client's OSD map has no pool with that id. */
  pool: string | null;
  /** rbd_group_image_state_t */
  state: number;
}

/** What librbd reports for one snapshot (native/snapshots.cc ListWorker). */
export interface NativeSnapshotInfo {
  id: number;
  name: string;
  size: number;
  /** rbd_snap_namespace_type_t. */
  namespaceType: number;
  timestampMs: number;
  protected: boolean;
  /** rbd_snap_get_mirror_namespace, for mirror snapshots. */
  mirror?: {
    state: number;
    mirrorPeerUuids: string[];
    complete: boolean;
    primaryMirrorUuid: string;
    primarySnapId: number;
    lastCopiedObjectNumber: number;
  };
  /** rbd_snap_get_trash_namespace, for trash snapshots. */
  trashOriginalName?: string;
  /** rbd_snap_get_group_namespace, for group snapshots; pool: the name of poolId, null if unresolved. */
  group?: { poolId: number; pool: string | null; group: string; groupSnapshot: string };
}

/** An rbd_linked_image_spec_t. */
export interface NativeLinkedImage {
  poolId: number;
  pool: string;
  namespace: string;
  id: string;
  name: string;
  trash: boolean;
}

export interface NativePeerSite {
  siteName: string;
  mirrorUuid: string;
  /** rbd_mirror_peer_direction_t. */
  direction: number;
  uuid: string;
  clientName: string;
  /** Seconds since the epoch; 0 = never. */
  lastSeen: number;
}

export interface NativePeer {
  uuid: string;
  direction: number;
  siteName: string;
  mirrorUuid: string;
  clientName: string;
  /** Seconds since the epoch; 0 = never. */
  lastSeen: number;
}

/** rados_cluster_stat_t. */
export interface NativeClusterStats {
  kb: number;
  kbUsed: number;
  kbAvail: number;
  numObjects: number;
}

/** What native/util/mirror_status.h builds. */
export interface NativeMirrorInfo {
  globalId: string;
  state: number;
  primary: boolean;
}

export interface NativeMirrorSiteStatus {
  mirrorUuid: string;
  state: number;
  description: string;
  /** Seconds since the epoch. */
  lastUpdate: number;
  up: boolean;
}

export interface NativeMirrorGlobalStatus {
  name: string;
  info: NativeMirrorInfo;
  siteStatuses: NativeMirrorSiteStatus[];
}

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

/** rbd_image_migration_status_t; state: rbd_image_migration_state_t (names in NativeMigration.states). */
export interface NativeMigrationStatus {
  sourcePoolId: number; sourceNamespace: string; sourceImageName: string; sourceImageId: string;
  destPoolId: number; destNamespace: string; destImageName: string; destImageId: string;
  state: number; stateDescription: string;
}

export interface NativeHandleCounts {
  cluster: number;
  pool: number;
  image: number;
}

export interface NativeConnectOptions {
  clusterName: string;
  /** Full entity name, e.g. `client.admin`. */
  name: string;
  /** A path, `null` for the default search path, `undefined` for no file. */
  confPath?: string | null;
  config: Array<[string, string]>;
}
