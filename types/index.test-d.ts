// Type tests (tsd) for the public surface: what compiles and what must not.
import { expectAssignable, expectError, expectType } from 'tsd';
import {
  type GroupSnapshotRef,
  type JournalAppended,
  type MirrorSnapshotInfo,
  type MirrorSnapshotState,
  type ReplicationWaitResult,
  Cluster,
  Image,
  ImageNotFound,
  Pool,
  RbdError,
  type ConnectOptions,
  type ImageStat,
  type LibraryVersions,
  type ResourceState,
} from '..';

expectType<LibraryVersions>(Cluster.versions());
expectType<Promise<Cluster>>(Cluster.connect({ confPath: '/etc/ceph/ceph.conf' }));
expectType<Promise<Cluster>>(Cluster.connect({ monHost: 'v2:127.0.0.1:3300', key: 'secret', clientId: 'admin' }));
expectType<Promise<Cluster>>(Cluster.connect());
expectAssignable<ConnectOptions>({ config: { rbd_cache: false, client_mount_timeout: 5 }, timeoutMs: 5000 });
expectError(Cluster.connect({ confPath: 42 }));

declare const cluster: Cluster;
expectType<string>(cluster.fsid());
expectType<Promise<Pool>>(cluster.openPool('rbd'));
expectType<Promise<Pool>>(cluster.openPool('rbd', { namespace: 'ns' }));
expectType<Promise<void>>(cluster.close());
expectType<ResourceState>(cluster.state);

declare const pool: Pool;
expectType<Promise<void>>(pool.createImage('disk', 1024, { features: ['layering', 'exclusive-lock'], order: 22 }));
expectType<Promise<void>>(pool.createImage('disk', 1n << 40n));
expectType<Promise<string[]>>(pool.listImages());
expectType<Promise<Array<{ id: string; name: string }>>>(pool.listImageSpecs());
expectType<Promise<Image>>(pool.openImage('disk', { readOnly: true }));
expectType<Promise<Image>>(pool.openImageById('10ab'));
expectType<Promise<void>>(pool.removeImage('disk'));
expectError(pool.createImage('disk'));

declare const image: Image;
expectType<Promise<ImageStat>>(image.stat());
expectType<number>((await image.stat()).size);
expectType<Date>((await image.stat()).createdAt);
expectType<Promise<void>>(image[Symbol.asyncDispose]());

declare const err: ImageNotFound;
expectAssignable<RbdError>(err);
expectType<number>(err.errno);
expectType<string>(err.code);
expectType<string | undefined>(err.image);

// ---- image operations and the data path ----
import type {
  ChildImage,
  DiffExtent,
  GroupImage,
  GroupSnapshot,
  ImageParent,
  ImageReadStream,
  ImageWriteStream,
  LockOwners,
  MirrorImageInfo,
  MirrorImageMode,
  MirrorImageStatus,
  MirrorPeer,
  SnapshotInfo,
  TrashEntry,
  Watcher,
} from '..';
import { CompareMismatch, exportDiff, parseMirrorDescription } from '..';

expectType<Promise<void>>(image.resize(1 << 30, { allowShrink: true, onProgress: (done: number, total: number) => void [done, total] }));
expectType<Promise<void>>(image.enableFeatures(['exclusive-lock', 'journaling']));
expectType<Promise<void>>(image.disableFeatures('journaling'));
expectError(image.enableFeatures('journalling'));
expectType<Promise<ImageParent | null>>(image.parent());
expectType<Promise<LockOwners>>(image.lockOwners());
expectType<Promise<Watcher[]>>(image.watchers());
expectType<Promise<void>>(image.copy(pool, 'copy', { features: ['layering'] }));
expectType<Promise<void>>(image.flatten());

expectType<Promise<Buffer>>(image.read(0, 4096));
expectType<Promise<number>>(image.read(Buffer.alloc(4096), 0));
expectType<Promise<number>>(image.read(new Uint8Array(16), 0n, { fadvise: 'sequential' }));
expectError(image.read(0, 4096, { fadvise: 'fast' }));
expectType<Promise<number>>(image.write(Buffer.from('x'), 0));
expectType<Promise<void>>(image.discard(0, 4096));
expectType<Promise<void>>(image.writeZeroes(0, 4096));
expectType<Promise<void>>(image.writeSame(0, 4096, Buffer.from('ab')));
expectType<Promise<void>>(image.compareAndWrite(0, Buffer.alloc(512), Buffer.alloc(512)));
expectType<Promise<void>>(image.flush());
declare const mismatch: CompareMismatch;
expectType<number | undefined>(mismatch.mismatchOffset);
expectAssignable<ImageReadStream>(image.createReadStream({ start: 0, end: 4095, queueDepth: 4 }));
expectAssignable<ImageWriteStream>(image.createWriteStream({ start: 0 }));
expectType<Promise<number>>(image.exportTo('/tmp/x.raw'));
expectType<Promise<number>>(pool.importFrom('/tmp/x.raw', 'copy'));
expectAssignable<AsyncIterable<DiffExtent>>(image.diff({ fromSnapshot: 'a' }));
expectType<typeof exportDiff>(exportDiff);
image.on('update', () => undefined);

// ---- snapshots, metadata, trash, namespaces, groups ----
expectType<Promise<void>>(image.snapshots.create('s1'));
expectType<Promise<SnapshotInfo[]>>(image.snapshots.list());
declare const snap: SnapshotInfo;
expectType<MirrorSnapshotInfo | undefined>(snap.mirror);
expectAssignable<MirrorSnapshotState>('non-primary-demoted');
expectType<number | null>((snap.mirror as MirrorSnapshotInfo).primarySnapId);
expectType<GroupSnapshotRef | undefined>(snap.group);
expectType<string | null>((snap.group as GroupSnapshotRef).pool);
expectType<string>((snap.group as GroupSnapshotRef).groupSnapshot);
expectType<Promise<number>>(image.snapshots.id('s1'));
expectType<Promise<string>>(image.snapshots.name(4));
expectType<Promise<void>>(image.snapshots.setCurrentById(null));
expectType<Promise<void>>(image.snapshots.removeById(4));
expectError(image.snapshots.removeById('4'));
expectType<Promise<ReplicationWaitResult>>(image.mirror.waitForReplication({ peer: image }));
expectType<'journal' | 'peer-snapshot' | 'status'>(({} as ReplicationWaitResult).source);
expectType<Promise<JournalAppended>>(image.mirror.journalAppended());
expectType<Promise<void>>(image.snapshots.rollback('s1', { onProgress: () => undefined }));
expectType<Promise<void>>(image.snapshots.protect('s1'));
expectType<Promise<boolean>>(image.snapshots.isProtected('s1'));
expectType<Promise<void>>(image.snapshots.clone('s1', pool, 'child'));
expectType<Promise<ChildImage[]>>(image.snapshots.children('s1'));
expectType<Promise<number | null>>(image.snapshots.limit());
expectType<Promise<string | undefined>>(image.metadata.get('k'));
expectType<Promise<Record<string, string>>>(image.metadata.list());
expectType<Promise<TrashEntry[]>>(pool.trash.list());
expectType<Promise<void>>(pool.trash.move('disk', { delaySeconds: 60 }));
expectType<Promise<string[]>>(pool.namespaces.list());
expectType<Promise<GroupImage[]>>(pool.groups.listImages('g'));
expectType<Promise<GroupSnapshot[]>>(pool.groups.listSnapshots('g'));
expectType<Promise<void>>(pool.groups.removeImageById('g', pool, '10406b8b4567'));
expectError(pool.groups.removeImageById('g', pool, 42));

// ---- mirroring ----
expectType<Promise<void>>(image.mirror.enable('snapshot'));
expectError(image.mirror.enable('async'));
expectType<Promise<void>>(image.mirror.promote({ force: true }));
expectType<Promise<void>>(image.mirror.demote());
expectType<Promise<void>>(image.mirror.resync());
expectType<Promise<MirrorImageInfo>>(image.mirror.info());
expectType<Promise<MirrorImageMode>>(image.mirror.mode());
expectType<Promise<number>>(image.mirror.createSnapshot());
expectType<Promise<MirrorImageStatus>>(image.mirror.status());
expectType<Promise<string>>(pool.mirror.createBootstrapToken());
expectType<Promise<void>>(pool.mirror.importBootstrapToken('token', { direction: 'rx-tx' }));
expectError(pool.mirror.importBootstrapToken('token', { direction: 'tx-only' }));
expectType<Promise<MirrorPeer[]>>(pool.mirror.listPeers());
expectAssignable<ReturnType<typeof parseMirrorDescription>>(null);

// ---- disaster recovery: failover / failback
import {
  failback,
  failover,
  MirrorStateError,
  type DrCopyState,
  type DrEvent,
  type DrImageReport,
  type DrReport,
  type FailoverOptions,
} from '..';

declare const poolB: Pool;
expectType<Promise<DrReport>>(failover({ mode: 'planned', from: pool, to: poolB }));
expectType<Promise<DrReport>>(failover({ mode: 'forced', from: null, to: poolB, images: ['a', 'b'], timeoutMs: 1000 }));
expectType<Promise<DrReport>>(
  failover({ mode: 'planned', from: pool, to: poolB, signal: new AbortController().signal, onEvent: (e: DrEvent) => void e.phase }),
);
expectError(failover({ mode: 'sideways', from: pool, to: poolB }));
expectError(failover({ from: pool, to: poolB }));
expectError(failover({ mode: 'planned', from: pool }));
expectAssignable<FailoverOptions>({ mode: 'forced', to: poolB, concurrency: 2, pollMs: 500 });
expectType<Promise<DrReport>>(failback({ from: poolB, to: pool, images: ['a'] }));
expectError(failback({ to: pool }));
declare const report: DrReport;
expectType<boolean>(report.ok);
expectType<'failover' | 'failback'>(report.operation);
expectType<string | null>(report.from);
expectType<DrImageReport[]>(report.images);
expectType<'done' | 'already' | 'failed'>(report.images[0].outcome);
expectType<DrCopyState>(report.images[0].after.to);
expectType<Error | undefined>(report.images[0].error);
expectType<string>(new MirrorStateError('img', 'msg').image);
expectAssignable<Error>(new MirrorStateError('img', 'msg'));

// ---- mirror status watching: persistent
expectType<boolean>(pool.mirror.watch({ intervalMs: 1000, persistent: true }).polling);
expectError(pool.mirror.watch({ persistent: 'yes' }));

// ---- capabilities and the errors of compatibility (issue 12)
import {
  CapabilityUnavailable,
  FunctionNotSupported,
  InvalidArgument,
  MirroringNotEnabled,
  MgrModuleUnavailable,
  capabilities,
  type Capabilities,
  type CapabilityName,
  type OptionalLibrbdCall,
} from '..';

const caps = capabilities();
expectType<Capabilities>(caps);
expectType<string>(caps.librbdHeader);
expectType<string>(caps.librbd);
expectType<boolean>(caps.calls.rbd_mirror_remote_namespace_set);
expectType<boolean>(caps.calls.rbd_diff_iterate3);
expectType<boolean>(caps.features.mirrorRemoteNamespace);
expectAssignable<OptionalLibrbdCall>('rbd_encryption_load2');
expectAssignable<CapabilityName>('mirrorRemoteNamespace');
expectError(caps.calls.rbd_no_such_call);
expectError((caps.features.mirrorRemoteNamespace = false));

expectType<Promise<string>>(pool.mirror.remoteNamespace());
expectType<Promise<void>>(pool.mirror.setRemoteNamespace('dr'));
expectType<Promise<void>>(pool.mirror.enable('image', { remoteNamespace: 'dr', siteName: 'a' }));
expectError(pool.mirror.setRemoteNamespace(7));

declare const notEnabled: MirroringNotEnabled;
expectAssignable<InvalidArgument>(notEnabled);
expectType<number | undefined>(notEnabled.nativeErrno);
declare const unavailable: CapabilityUnavailable;
expectAssignable<FunctionNotSupported>(unavailable);
expectType<string | undefined>(unavailable.capability);
declare const noModule: MgrModuleUnavailable;
expectAssignable<InvalidArgument>(noModule);
expectType<string | undefined>(noModule.command);

// ---- locks (issue #15, row 1) ----
import type { AdvisoryLocks, ImageLocks, LockMode } from '..';
expectType<ImageLocks>(image.locks);
expectType<Promise<void>>(image.locks.acquire());
expectType<Promise<void>>(image.locks.breakOwner('owner', { mode: 'exclusive' }));
expectType<Promise<boolean>>(image.locks.isOwner());
expectType<Promise<LockOwners>>(image.locks.owners());
declare const heldBy: LockOwners;
expectType<'exclusive' | 'shared' | `unknown(${number})` | null>(heldBy.mode);
expectType<Promise<AdvisoryLocks>>(image.locks.list());
expectType<Promise<void>>(image.locks.add('id', { shared: 'tag' }));
expectType<Promise<void>>(image.locks.remove('id', { locker: 'client.4' }));
expectAssignable<LockMode>('shared');
expectError(image.locks.acquire({ mode: 'both' }));

// ---- I/O and stat additions (issue #15, rows 4 and 6) ----
import type { ImageGroupRef, OperationFeature, WriteZeroesOptions } from '..';
expectType<Promise<number>>(image.readv([Buffer.alloc(1), new Uint8Array(2)], 0));
expectType<Promise<number>>(image.writev([Buffer.alloc(1)], 0n));
expectError(image.writev(Buffer.alloc(1), 0));
expectAssignable<WriteZeroesOptions>({ thickProvision: true, fadvise: 'nocache' });
expectType<Promise<void>>(image.writeZeroes(0, 4096, { thickProvision: true }));
declare const st: ImageStat;
expectType<ImageGroupRef | null>(st.group);
expectType<Date>(st.accessedAt);
expectType<Date>(st.modifiedAt);
expectAssignable<OperationFeature | `unknown(${number})`>(st.opFeatures[0]!);
expectType<AsyncGenerator<DiffExtent>>(image.diff({ includeParent: false }));
expectType<Promise<void>>(pool.groups.createSnapshot('g', 's', { skipQuiesce: true, ignoreQuiesceError: false }));
expectError(pool.groups.createSnapshot('g', 's', { skipQuiesce: 'yes' }));
import type { DiskUsage, PoolImageStats } from '..';
expectType<Promise<PoolImageStats>>(pool.imageStats());
expectType<Promise<DiskUsage>>(image.du());
expectType<Promise<void>>(image.sparsify({ sparseSize: 8192, onProgress: (done: number, total: number) => void [done, total] }));
expectType<Promise<void>>(image.deepCopy(pool, 'copy', { features: ['layering'] }));
expectType<Promise<void>>(image.copy(pool, 'copy', { sparseSize: 4096 }));
expectType<Promise<void>>(image.rebuildObjectMap());
expectType<Promise<void>>(image.invalidateCache());
expectError(image.sparsify({ sparseSize: '4k' }));

// ---- live migration, encryption, configuration (issue #15 rows 2, 3, 5) ----
import type {
  ConfigOption,
  ConfigSource,
  EncryptionFormat,
  MigrationSource,
  MigrationState,
  MigrationStatus,
  PurgeScheduleLevel,
  PurgeScheduleStatus,
} from '..';

expectType<Promise<void>>(pool.migration.prepare('img', { destPool: pool, destName: 'img2', objectSize: 1 << 20 }));
expectType<Promise<void>>(pool.migration.prepareImport({ format: 'raw', file: '/tmp/disk.raw' }, 'img'));
expectType<Promise<void>>(pool.migration.prepareImport({ format: 'native', pool: 'p', image: 'i', snapshot: 's' }, 'img'));
expectAssignable<MigrationSource>({ spec: { type: 'raw', stream: { type: 'file', file_path: '/x' } } });
expectError(pool.migration.prepareImport({ format: 'native', pool: 'p', image: 'i' }, 'img'));
expectType<Promise<void>>(pool.migration.execute('img', { onProgress: (d: number, t: number) => void [d, t], signal: new AbortController().signal }));
expectType<Promise<void>>(pool.migration.commit('img'));
expectType<Promise<void>>(pool.migration.abort('img'));
const migStatus = await pool.migration.status('img');
expectType<MigrationStatus>(migStatus);
expectAssignable<MigrationState>(migStatus.state);
expectType<number>(migStatus.source.poolId);

expectType<Promise<void>>(image.encryption.format({ format: 'luks2', passphrase: 'pw', algorithm: 'aes-256' }));
expectType<Promise<void>>(image.encryption.load({ format: 'luks1', passphrase: new Uint8Array([1, 2]) }));
expectType<Promise<void>>(image.encryption.loadLayered([{ format: 'luks2', passphrase: 'a' }]));
expectAssignable<EncryptionFormat>('luks2');
expectError(image.encryption.format({ format: 'luks3', passphrase: 'pw' }));
expectError(image.encryption.load({ format: 'luks2' }));

expectType<Promise<string | undefined>>(pool.config.get('rbd_cache'));
expectType<Promise<void>>(pool.config.set('rbd_cache', false));
expectType<Promise<ConfigOption[]>>(image.config.list());
expectAssignable<ConfigSource>('pool');
expectType<Promise<Record<string, string>>>(pool.metadata.list());
expectType<Promise<PurgeScheduleLevel[]>>(pool.trash.listPurgeSchedules({ recursive: true }));
expectType<Promise<PurgeScheduleStatus[]>>(pool.trash.purgeScheduleStatus());
expectType<Promise<void>>(pool.trash.addPurgeSchedule('1d', { startTime: '14:00' }));
