/**
 * Pool-level RBD mirroring: `rbd mirror pool ...` and `rbd mirror snapshot
 * schedule ...`, as `pool.mirror`. PoolMirror is the facade; each job lives in
 * its own file of lib/mirror/: mode.ts (mode, remote namespace, uuid, site
 * name), bootstrap.ts, peers.ts, daemons.ts (`rbd mirror pool status`'s
 * health), pool-status.ts (the paged lists), pool-actions.ts (pool-wide
 * promote/demote), schedules.ts, watch.ts.
 */
import { closedError } from '../core/errors';
import type { Pool } from '../pool/pool';
import * as bootstrap from './bootstrap';
import type { ImportBootstrapTokenOptions } from './bootstrap';
import { poolStatus, type PoolMirrorStatus } from './daemons';
import * as modes from './mode';
import type { EnableMirrorOptions, MirrorMode } from './mode';
import * as peers from './peers';
import type { AddPeerOptions, MirrorPeer, MirrorPeerAttributes } from './peers';
import * as actions from './pool-actions';
import type { MirrorPoolActionResult, PoolPromoteOptions } from './pool-actions';
import * as lists from './pool-status';
import type { MirrorImageInfoEntry, MirrorPoolImageStatus } from './pool-status';
import * as schedules from './schedules';
import type { SnapshotScheduleLevel, SnapshotScheduleOptions, SnapshotScheduleStatus } from './schedules';
import type { MirrorStatusState } from './status';
import { MirrorStatusWatcher, type MirrorWatchOptions } from './watch';

// Shared with image.mirror (lib/mirror/status.ts), re-exported for this area's users.
export type { MirrorImageMode, MirrorSiteStatus } from './status';
// The types of the parts, exported from here as before the split.
export type { MirrorMode, EnableMirrorOptions } from './mode';
export type { MirrorPeerDirection, MirrorPeer, AddPeerOptions, MirrorPeerAttributes } from './peers';
export type { ImportBootstrapTokenOptions } from './bootstrap';
export type { MirrorHealth, MirrorDaemon, PoolMirrorStatus } from './daemons';
export type { MirrorPoolImageStatus, MirrorImageInfoEntry } from './pool-status';
export type { MirrorPoolActionResult, PoolPromoteOptions } from './pool-actions';
export type { SnapshotScheduleOptions } from './schedules';

/** Mirroring of the pool (`pool.mirror`), like `rbd mirror pool ...`. */
export class PoolMirror {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.mirror`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }

  // ---- mode, uuid, site name -------------------------------------------------------------

  /** The pool's mirroring mode (like `rbd mirror pool info`'s mode). */
  async mode(): Promise<MirrorMode> {
    return modes.mode(this.#pool);
  }

  /**
   * Set the pool's mirroring mode. 'image': images are mirrored one by one
   * once enabled; 'pool': every journaled image is; 'disabled' fails with
   * ImageBusy (EBUSY) while peers are registered, as librbd refuses it.
   */
  async setMode(mode: 'disabled' | 'image' | 'pool'): Promise<void> {
    return modes.setMode(this.#pool, mode);
  }

  /** Enable mirroring in 'image' or 'pool' mode (like `rbd mirror pool enable <pool> <mode> [--site-name]`). */
  async enable(mode: 'image' | 'pool', options?: EnableMirrorOptions): Promise<void> {
    return modes.enable(this.#pool, mode, options);
  }

  /**
   * The namespace of the peer pool this pool's namespace mirrors to (20.2's
   * `rbd mirror pool info`'s remote namespace): the pool's own namespace
   * unless one was set. Needs librbd 1.20 (Ceph 20.2): rejects with
   * CapabilityUnavailable (ENOSYS) on an addon built against older headers.
   */
  async remoteNamespace(): Promise<string> {
    return modes.remoteNamespace(this.#pool);
  }

  /**
   * Mirror this pool's namespace to another namespace of the peer pool (like
   * `rbd mirror pool enable <pool>/<ns> <mode> --remote-namespace <remote>` of
   * 20.2). librbd takes it only while mirroring of this namespace is disabled,
   * and maps the default namespace only to the default one (InvalidArgument,
   * EINVAL, saying which). Disabling mirroring resets it to the pool's own
   * namespace. Needs librbd 1.20: CapabilityUnavailable (ENOSYS) otherwise.
   */
  async setRemoteNamespace(remoteNamespace: string): Promise<void> {
    return modes.setRemoteNamespace(this.#pool, remoteNamespace);
  }

  /** Disable mirroring (like `rbd mirror pool disable`). Remove the peers first. */
  async disable(): Promise<void> {
    return modes.disable(this.#pool);
  }

  /** The pool's mirror uuid (how peers tell this pool's statuses apart). Rejects with NotFound while mirroring is disabled. */
  async uuid(): Promise<string> {
    return modes.uuid(this.#pool);
  }

  /** This cluster's mirroring site name (its fsid unless one was set). Cluster-wide, not per pool. */
  async siteName(): Promise<string> {
    return modes.siteName(this.#pool);
  }

  /** Set this cluster's mirroring site name (cluster-wide). An empty name resets it to the fsid. */
  async setSiteName(siteName: string): Promise<void> {
    return modes.setSiteName(this.#pool, siteName);
  }

  // ---- bootstrap -------------------------------------------------------------------------

  /**
   * A bootstrap token for a peer cluster to import (like `rbd mirror pool
   * peer bootstrap create`): it carries this cluster's fsid, monitors and the
   * key of the `client.rbd-mirror-peer` user (created if needed). It is a
   * secret: treat it as a key.
   */
  async createBootstrapToken(): Promise<string> {
    return bootstrap.createBootstrapToken(this.#pool);
  }

  /**
   * Import a peer's bootstrap token (like `rbd mirror pool peer bootstrap
   * import`): registers the peer here and, for 'rx-tx', this site on the peer.
   * Rejects with InvalidArgument for a malformed token; the token never
   * appears in the error.
   */
  async importBootstrapToken(token: string, options?: ImportBootstrapTokenOptions): Promise<void> {
    return bootstrap.importBootstrapToken(this.#pool, token, options);
  }

  // ---- peers -----------------------------------------------------------------------------

  /** The pool's peer sites (like `rbd mirror pool info`'s peers). */
  async listPeers(): Promise<MirrorPeer[]> {
    return peers.listPeers(this.#pool);
  }

  /**
   * Register a peer site (like `rbd mirror pool peer add [--direction]
   * [--remote-mon-host] [--remote-key-file]`) and return its uuid. With
   * `monHost`/`key` the peer's attributes are stored too; if that fails the
   * peer is removed again and the error is thrown.
   */
  async addPeer(options: AddPeerOptions): Promise<string> {
    return peers.addPeer(this.#pool, options);
  }

  /**
   * Unregister a peer and its stored attributes (like `rbd mirror pool peer
   * remove`). Rejects with NotFound for an unknown uuid (librbd and the CLI
   * silently succeed; this checks the peer list first).
   */
  async removePeer(uuid: string): Promise<void> {
    return peers.removePeer(this.#pool, uuid);
  }

  /** Rename a peer's site (like `rbd mirror pool peer set <uuid> site-name <name>`). */
  async setPeerSiteName(uuid: string, siteName: string): Promise<void> {
    return peers.setPeerSiteName(this.#pool, uuid, siteName);
  }

  /** Change the user a peer is reached as (like `rbd mirror pool peer set <uuid> client <name>`). */
  async setPeerClient(uuid: string, clientName: string): Promise<void> {
    return peers.setPeerClient(this.#pool, uuid, clientName);
  }

  /** Change a peer's direction (like `rbd mirror pool peer set <uuid> direction <dir>`). */
  async setPeerDirection(uuid: string, direction: 'rx-only' | 'tx-only' | 'rx-tx'): Promise<void> {
    return peers.setPeerDirection(this.#pool, uuid, direction);
  }

  /**
   * A peer's monitors and key (like `rbd mirror pool info --all`). A peer
   * without stored attributes gives {}; an unknown uuid rejects with NotFound.
   */
  async peerAttributes(uuid: string): Promise<MirrorPeerAttributes> {
    return peers.peerAttributes(this.#pool, uuid);
  }

  /**
   * Change a peer's monitors and/or key (like `rbd mirror pool peer set <uuid>
   * mon-host|key-file`): a given value replaces the stored one, '' removes
   * it, an absent one is kept. Other stored attributes are kept.
   */
  async setPeerAttributes(uuid: string, attributes: MirrorPeerAttributes): Promise<void> {
    return peers.setPeerAttributes(this.#pool, uuid, attributes);
  }

  // ---- status ----------------------------------------------------------------------------

  /** Mirrored images counted by local status state (rbd_mirror_image_status_summary), e.g. { replaying: 3 }. */
  async summary(): Promise<Partial<Record<MirrorStatusState, number>>> {
    return lists.summary(this.#pool);
  }

  /**
   * The pool's mirroring health (like `rbd mirror pool status [--verbose]
   * --format json`). As the CLI does: image health is WARNING when any image
   * is in a state other than replaying/stopped and ERROR when any is in
   * error; daemon health comes from the monitors' `service dump` and
   * `service status` (ERROR when no rbd-mirror daemon reports this pool,
   * WARNING without a leader or with a daemon's warning callouts, UNKNOWN
   * when no daemon runs). `verbose` adds the daemons and every image's
   * status (the CLI's per-image daemon service field is not reproduced).
   * Unlike the CLI this does not refuse a pool with mirroring disabled.
   */
  async status(options?: { verbose?: boolean }): Promise<PoolMirrorStatus> {
    return poolStatus(this.#pool, options);
  }

  /**
   * Every mirrored image's status on every site, page by page
   * (rbd_mirror_image_global_status_list), in image id order, in the shape
   * `image.mirror.status()` gives: peer sites named from the pool's peers, a
   * site that has not reported shown as the CLI shows it ('status not
   * found', down+unknown), descriptions parsed into `replay`, and
   * `info.primary` taken from rbd_mirror_image_info_list (the status list
   * always reports false).
   */
  async *globalStatuses(options?: { pageSize?: number }): AsyncIterableIterator<MirrorPoolImageStatus> {
    yield* lists.globalStatuses(this.#pool, options);
  }

  /** Every mirrored image's mirroring mode and state (rbd_mirror_image_info_list), optionally of one mode. */
  async imageInfos(options?: { mode?: 'journal' | 'snapshot' }): Promise<MirrorImageInfoEntry[]> {
    return lists.imageInfos(this.#pool, options);
  }

  /** Which rbd-mirror instance handles each image: image id → instance id (rbd_mirror_image_instance_id_list). */
  async instanceIds(): Promise<Map<string, string>> {
    return lists.instanceIds(this.#pool);
  }

  /**
   * The image mirrored under a global id (the id that is the same on every
   * site), or null: what a CSI driver needs after a failover to find the
   * local copy of an image.
   */
  async findImageByGlobalId(globalId: string): Promise<{
    /** The local image's id. */
    id: string;
    /** The local image's name. */
    name: string;
  } | null> {
    return lists.findImageByGlobalId(this.#pool, globalId);
  }

  // ---- pool-wide promote / demote --------------------------------------------------------

  /**
   * Promote every mirrored non-primary image of the pool (like `rbd mirror
   * pool promote [--force]`), a bounded number at a time, and report each
   * image acted on, by name. An image that fails does not stop the others.
   */
  async promote(options?: PoolPromoteOptions): Promise<MirrorPoolActionResult[]> {
    return actions.promote(this.#pool, options);
  }

  /**
   * Demote every mirrored primary image of the pool (like `rbd mirror pool
   * demote`), a bounded number at a time, and report each image acted on.
   */
  async demote(options?: { concurrency?: number }): Promise<MirrorPoolActionResult[]> {
    return actions.demote(this.#pool, options);
  }

  // ---- mirror-snapshot schedules (the manager's rbd_support module) ----------------------

  /**
   * Schedule mirror snapshots of the pool (namespace) or of one image every
   * `interval` ('30m', '1h', '1d'; like `rbd mirror snapshot schedule add
   * [--image] <interval> [<start-time>]`). Only snapshot-mode images get them.
   */
  async addSnapshotSchedule(interval: string, options?: SnapshotScheduleOptions): Promise<void> {
    return schedules.addPoolSchedule(this.#pool, interval, options);
  }

  /**
   * Remove a schedule (like `rbd mirror snapshot schedule remove [--image]
   * [<interval> [<start-time>]]`): without an interval, every schedule of the level.
   */
  async removeSnapshotSchedule(interval?: string, options?: SnapshotScheduleOptions): Promise<void> {
    return schedules.removePoolSchedule(this.#pool, interval, options);
  }

  /**
   * The schedules of the pool (namespace) or of one image (like `rbd mirror
   * snapshot schedule ls [--image] [-R]`): without `recursive`, only that
   * level's own (an empty list when it has none; the CLI exits with ENOENT);
   * with it, also its images' and the nearest scheduled level above.
   */
  async listSnapshotSchedules(options?: { image?: string; recursive?: boolean }): Promise<SnapshotScheduleLevel[]> {
    return schedules.listPoolSchedules(this.#pool, options);
  }

  /** The next scheduled mirror snapshots of the pool's (or one image's) images (like `rbd mirror snapshot schedule status`). */
  async snapshotScheduleStatus(options?: { image?: string }): Promise<SnapshotScheduleStatus[]> {
    return schedules.poolScheduleStatus(this.#pool, options);
  }

  /**
   * Watch the mirroring statuses of the pool's images: 'change' events (and
   * an async iterator) of { image, previous, current } for each image whose
   * state or description changed. All watchers of this pool handle share one
   * poll of globalStatuses(). See lib/mirror/watch.ts.
   */
  watch(options?: MirrorWatchOptions): MirrorStatusWatcher {
    if (this.#pool.closed) {
      throw closedError({ op: 'mirror.watch', cluster: this.#pool.cluster.name, pool: this.#pool.name, namespace: this.#pool.namespace }, 'pool');
    }
    return new MirrorStatusWatcher(this.#pool, null, options);
  }
}
