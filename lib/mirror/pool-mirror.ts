/** Pool-level RBD mirroring: `rbd mirror pool ...` and `rbd mirror snapshot schedule ...`. */
import type { Cluster } from '../cluster/cluster';
import type { Image } from '../image/image';
import { connectNative } from '../cluster/connect';
import { requireCapability } from '../cluster/capabilities';
import type { ErrorContext, RbdError } from '../core/errors';
import { InvalidArgument, closedError, rbdError } from '../core/errors';
import type { MirrorImageStatus } from './image-mirror';
import {
  mirrorImageMode,
  mirrorImageState,
  mirrorSiteStatuses,
  mirrorStatusState,
  type MirrorImageMode,
  type MirrorImageState,
  type MirrorPeerRef,
  type MirrorStatusState,
} from './status';
import {
  addSchedule,
  checkInterval,
  checkStartTime,
  levelSpec,
  listSchedules,
  removeSchedule,
  scheduleStatus,
  type SnapshotScheduleLevel,
  type SnapshotScheduleStatus,
} from './schedules';
import type { NativeMirrorGlobalStatus, NativeMirrorInfo, NativePool, NativePoolMirror } from '../core/native';
import { native, type NativeBinding } from '../core/native';
import type { Pool } from '../pool/pool';
import { checkBoolean, checkInt, checkName, checkOptions } from '../core/validate';
import { MirrorStatusWatcher, type MirrorWatchOptions } from './watch';



const api = (): NativeBinding['mirrorPool'] => native().mirrorPool;

// Shared with image.mirror (lib/mirror/status.ts), re-exported for this area's users.
export type { MirrorImageMode, MirrorSiteStatus } from './status';

/** A pool's mirroring mode (rbd_mirror_mode_t), as `rbd mirror pool info` shows it. */
export type MirrorMode = 'disabled' | 'image' | 'pool' | `unknown(${number})`;
/** Which way a peer replicates (rbd_mirror_peer_direction_t). */
export type MirrorPeerDirection = 'rx-only' | 'tx-only' | 'rx-tx' | `unknown(${number})`;
/** Health as `rbd mirror pool status` reports it. */
export type MirrorHealth = 'OK' | 'UNKNOWN' | 'WARNING' | 'ERROR';

const MODES = ['disabled', 'image', 'pool'] as const;
const DIRECTIONS = ['rx-only', 'tx-only', 'rx-tx'] as const;
const IMAGE_MODES = ['journal', 'snapshot'] as const;
// Ordered as the CLI compares them: the worse one wins.
const HEALTH_ORDER: readonly MirrorHealth[] = ['OK', 'UNKNOWN', 'WARNING', 'ERROR'];

function name<T extends string>(names: readonly T[], n: number): T | `unknown(${number})` {
  return names[n] ?? `unknown(${n})`;
}

function code<T extends string>(names: readonly T[], value: unknown, what: string, allowed: readonly T[] = names): number {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, one of ${allowed.join(', ')}`);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new TypeError(`${what} must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return names.indexOf(value as T);
}

function worse(a: MirrorHealth, b: MirrorHealth): MirrorHealth {
  return HEALTH_ORDER.indexOf(a) >= HEALTH_ORDER.indexOf(b) ? a : b;
}

function dateOrNull(seconds: number): Date | null {
  return seconds > 0 ? new Date(seconds * 1000) : null;
}

/** A peer site of the pool (a row of `rbd mirror pool info`'s peers). */
export interface MirrorPeer {
  /** The peer's uuid: what removePeer() and the peer attribute calls take. */
  uuid: string;
  /** The peer's site name. */
  siteName: string;
  /** The peer pool's mirror uuid ('' until its rbd-mirror daemon has registered). */
  mirrorUuid: string;
  /** The user the local rbd-mirror daemon connects to the peer as, e.g. 'client.rbd-mirror-peer'. */
  clientName: string;
  /** Which way images are mirrored with this peer. */
  direction: MirrorPeerDirection;
  /** When the peer's rbd-mirror daemon last reported, or null. */
  lastSeen: Date | null;
}

/** Options of `pool.mirror.addPeer()` (like `rbd mirror pool peer add`). */
export interface AddPeerOptions {
  /** The peer's site name (or cluster name), as in `rbd mirror pool peer add <client>@<site>`. */
  siteName: string;
  /** The user to connect to the peer as. Default: this connection's user (like the CLI). */
  clientName?: string;
  /** Default 'rx-tx'. 'tx-only' peers cannot be added (librbd refuses them; they come from a peer's 'rx-tx' import). */
  direction?: 'rx-only' | 'rx-tx';
  /** The peer's monitors (`--remote-mon-host`), stored in the monitors' config-key store. */
  monHost?: string;
  /** The peer user's key (`--remote-key-file`'s content). A secret: never part of an error message. */
  key?: string;
}

/** A peer's connection attributes (`rbd mirror pool info --all`). `key` is a secret. */
export interface MirrorPeerAttributes {
  /** The peer's monitors (`mon_host`). */
  monHost?: string;
  /** The peer user's key. */
  key?: string;
}

/** Options of `pool.mirror.importBootstrapToken()` (like `rbd mirror pool peer bootstrap import`). */
export interface ImportBootstrapTokenOptions {
  /** Default 'rx-tx'. 'tx-only' cannot be imported (librbd refuses it). */
  direction?: 'rx-only' | 'rx-tx';
  /**
   * How long reaching the peer site may take, in ms (default 30000): the
   * import fails with Timeout (ETIMEDOUT) past it. librbd's own connection to
   * the peer waits its built-in 300 s on an unreachable site, so the SDK first
   * connects to the peer with the token's credentials, within this bound.
   */
  timeoutMs?: number;
}

/** Options of `pool.mirror.enable()` (like `rbd mirror pool enable`). */
export interface EnableMirrorOptions {
  /** Also set this cluster's site name (`--site-name`). */
  siteName?: string;
  /**
   * The namespace of the peer pool that this namespace mirrors to (like 20.2's
   * `--remote-namespace`), set before mirroring is enabled. Needs librbd 1.20
   * (capabilities().features.mirrorRemoteNamespace): CapabilityUnavailable otherwise.
   */
  remoteNamespace?: string;
}

/**
 * A mirrored image's status on every site (rbd_mirror_image_global_status_t):
 * the shape `image.mirror.status()` reports, plus the image id.
 */
export interface MirrorPoolImageStatus extends MirrorImageStatus {
  /** The image id (what the list is paged and ordered by). */
  id: string;
}

/** An rbd-mirror daemon of this cluster, as `rbd mirror pool status --verbose` lists it. */
export interface MirrorDaemon {
  /** The daemon's service id in the manager's service map. */
  serviceId: string;
  /** Its instance id for this pool ('' when it does not report the pool). */
  instanceId: string;
  /** Its daemon (client) id, e.g. 'site-a'. */
  clientId: string;
  /** The host it runs on. */
  hostname: string;
  /** Its Ceph version, e.g. '16.2.15'. */
  cephVersion: string;
  /** Whether it leads the pool's replayers. */
  leader: boolean;
  /** Its health for this pool. */
  health: MirrorHealth;
  /** The warnings and errors it reports (e.g. 'not reporting status'). */
  callouts: string[];
}

/** What `rbd mirror pool status [--verbose]` reports. */
export interface PoolMirrorStatus {
  /** The worse of daemonHealth and imageHealth. */
  health: MirrorHealth;
  /** The rbd-mirror daemons' health: WARNING without a running leader or with a daemon's warnings. */
  daemonHealth: MirrorHealth;
  /** The mirrored images' health, from their local status states. */
  imageHealth: MirrorHealth;
  /** Mirrored images by local status state, e.g. { replaying: 2 }. */
  states: Partial<Record<MirrorStatusState, number>>;
  /** With `verbose`: the rbd-mirror daemons. */
  daemons?: MirrorDaemon[];
  /** With `verbose`: every mirrored image, by name. */
  images?: MirrorPoolImageStatus[];
}

/** A mirrored image's mode and state, as `pool.mirror.imageInfos()` lists them. */
export interface MirrorImageInfoEntry {
  /** The image id. */
  id: string;
  /** 'journal' or 'snapshot'. */
  mode: MirrorImageMode;
  /** The id shared by the image's copies on every site. */
  globalId: string;
  /** Whether mirroring is enabled for the image (or being enabled or disabled). */
  state: MirrorImageState;
  /** Whether this copy is the primary one. */
  primary: boolean;
}

/** One image's outcome of a pool-wide promote or demote. */
export interface MirrorPoolActionResult {
  /** The image name. */
  image: string;
  /** Whether it was promoted (demoted). */
  ok: boolean;
  /** Why not, when it was not. */
  error?: RbdError;
}

/** Options of `pool.mirror.promote()` (like `rbd mirror pool promote`). */
export interface PoolPromoteOptions {
  /** Promote even if the peer did not demote cleanly (split-brain risk), like `--force`. */
  force?: boolean;
  /** Images handled at once. Default 10 (the CLI's rbd_concurrent_management_ops). */
  concurrency?: number;
}

/** Where a mirror snapshot schedule applies: the pool (namespace), or one image of it. */
export interface SnapshotScheduleOptions {
  /** An image of this pool instead of the whole pool (namespace). */
  image?: string;
  /** Anchor time, e.g. '14:00' or '2024-01-01T14:00:00+02:00' (the manager parses it). */
  startTime?: string;
}

const PAGE = 1024;
const ENOENT = 2;

function isEnoent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { errno?: unknown }).errno === ENOENT;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkRemoteNamespace(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`remoteNamespace must be a string, got ${typeof value}`);
  if (value.includes('\0')) throw new RangeError('remoteNamespace must not contain NUL bytes');
  return value;
}

function checkUuid(value: unknown): string {
  const s = checkName(value, 'peer uuid');
  if (!UUID.test(s)) throw new RangeError('peer uuid must be a uuid like 55672766-c02b-4729-8567-f13a66893445');
  return s;
}

/** Mirroring of the pool (`pool.mirror`), like `rbd mirror pool ...`. */
export class PoolMirror {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.mirror`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** CapabilityUnavailable without the remote-namespace calls; a closed pool says so first (HandleClosed), as every call does. */
  #requireRemoteNamespace(op: string): void {
    if (this.#pool.closed) throw closedError(this.#context(op), 'pool');
    requireCapability('mirrorRemoteNamespace', this.#context(op));
  }

  #call<T>(op: string, fn: (n: NativePool) => Promise<T>, extra?: Partial<ErrorContext>): Promise<T> {
    return this.#pool._call(`mirror.${op}`, fn, extra);
  }

  // ---- mode, uuid, site name -------------------------------------------------------------

  /** The pool's mirroring mode (like `rbd mirror pool info`'s mode). */
  async mode(): Promise<MirrorMode> {
    return name(MODES, await this.#call('mode', (n) => api().modeGet(n)));
  }

  /**
   * Set the pool's mirroring mode. 'image': images are mirrored one by one
   * once enabled; 'pool': every journaled image is; 'disabled' fails with
   * ImageBusy (EBUSY) while peers are registered, as librbd refuses it.
   */
  async setMode(mode: 'disabled' | 'image' | 'pool'): Promise<void> {
    const m = code(MODES, mode, 'mode');
    await this.#call('setMode', (n) => api().modeSet(n, m));
  }

  /** Enable mirroring in 'image' or 'pool' mode (like `rbd mirror pool enable <pool> <mode> [--site-name]`). */
  async enable(mode: 'image' | 'pool', options?: EnableMirrorOptions): Promise<void> {
    const m = code(MODES, mode, 'mode', ['image', 'pool']);
    const o = checkOptions<EnableMirrorOptions>(options);
    if (o.remoteNamespace !== undefined) {
      checkRemoteNamespace(o.remoteNamespace);
      this.#requireRemoteNamespace('enable');
    }
    if (o.siteName !== undefined) await this.setSiteName(o.siteName);
    // librbd takes the remote namespace only while mirroring is disabled: first, as the CLI does.
    if (o.remoteNamespace !== undefined) await this.setRemoteNamespace(o.remoteNamespace);
    await this.#call('enable', (n) => api().modeSet(n, m));
  }

  /**
   * The namespace of the peer pool this pool's namespace mirrors to (20.2's
   * `rbd mirror pool info`'s remote namespace): the pool's own namespace
   * unless one was set. Needs librbd 1.20 (Ceph 20.2): rejects with
   * CapabilityUnavailable (ENOSYS) on an addon built against older headers.
   */
  async remoteNamespace(): Promise<string> {
    this.#requireRemoteNamespace('remoteNamespace');
    const get = api().remoteNamespaceGet as NonNullable<NativePoolMirror['remoteNamespaceGet']>;
    return this.#call('remoteNamespace', (n) => get(n));
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
    checkRemoteNamespace(remoteNamespace);
    this.#requireRemoteNamespace('setRemoteNamespace');
    const set = api().remoteNamespaceSet as NonNullable<NativePoolMirror['remoteNamespaceSet']>;
    try {
      await this.#call('setRemoteNamespace', (n) => set(n, remoteNamespace));
    } catch (err) {
      if (!(err instanceof InvalidArgument)) throw err;
      const local = this.#pool.namespace;
      let detail: string | undefined;
      if (local === '' && remoteNamespace !== '') detail = 'the default namespace can only be mirrored to the default namespace';
      else if (local !== '' && remoteNamespace === '') detail = 'a non-default namespace cannot be mirrored to the default namespace';
      else if ((await this.mode().catch(() => 'disabled')) !== 'disabled') {
        detail = 'mirroring is enabled: the remote namespace can only be set while it is disabled (or with enable())';
      }
      if (detail === undefined) throw err;
      throw rbdError(err.errno, this.#context('setRemoteNamespace'), detail, err.nativeOp);
    }
  }

  /** Disable mirroring (like `rbd mirror pool disable`). Remove the peers first. */
  async disable(): Promise<void> {
    await this.#call('disable', (n) => api().modeSet(n, 0));
  }

  /** The pool's mirror uuid (how peers tell this pool's statuses apart). Rejects with NotFound while mirroring is disabled. */
  async uuid(): Promise<string> {
    return this.#call('uuid', (n) => api().uuidGet(n));
  }

  /** This cluster's mirroring site name (its fsid unless one was set). Cluster-wide, not per pool. */
  async siteName(): Promise<string> {
    return this.#call('siteName', (n) => api().siteNameGet(n));
  }

  /** Set this cluster's mirroring site name (cluster-wide). An empty name resets it to the fsid. */
  async setSiteName(siteName: string): Promise<void> {
    if (typeof siteName !== 'string') throw new TypeError('siteName must be a string');
    if (siteName.includes('\0')) throw new RangeError('siteName must not contain NUL bytes');
    await this.#call('setSiteName', (n) => api().siteNameSet(n, siteName));
  }

  // ---- bootstrap -------------------------------------------------------------------------

  /**
   * A bootstrap token for a peer cluster to import (like `rbd mirror pool
   * peer bootstrap create`): it carries this cluster's fsid, monitors and the
   * key of the `client.rbd-mirror-peer` user (created if needed). It is a
   * secret: treat it as a key.
   */
  async createBootstrapToken(): Promise<string> {
    return this.#call('createBootstrapToken', (n) => api().bootstrapCreate(n));
  }

  /**
   * Import a peer's bootstrap token (like `rbd mirror pool peer bootstrap
   * import`): registers the peer here and, for 'rx-tx', this site on the peer.
   * Rejects with InvalidArgument for a malformed token; the token never
   * appears in the error.
   */
  async importBootstrapToken(token: string, options?: ImportBootstrapTokenOptions): Promise<void> {
    if (typeof token !== 'string' || token.length === 0) throw new TypeError('token must be a non-empty string');
    if (token.includes('\0')) throw new RangeError('token must not contain NUL bytes');
    const o = checkOptions<ImportBootstrapTokenOptions>(options);
    const d = o.direction === undefined ? 2 : code(DIRECTIONS, o.direction, 'direction', ['rx-only', 'rx-tx']);
    const timeoutMs = o.timeoutMs === undefined ? 30_000 : checkInt(o.timeoutMs, 'timeoutMs', 1, 2 ** 31 - 1);
    if (this.#pool.closed) throw closedError(this.#context('importBootstrapToken'), 'pool');
    const peer = decodeToken(token.trim());
    if (peer) await this.#reachPeer(peer, timeoutMs);
    await this.#call('importBootstrapToken', (n) => api().bootstrapImport(n, d, token.trim()));
  }

  #context(op: string): ErrorContext {
    return { op: `mirror.${op}`, cluster: this.#pool.cluster.name, pool: this.#pool.name, namespace: this.#pool.namespace };
  }

  // Connect to the token's site and leave again, within the caller's bound. The
  // error names the monitors (not secret), never the key.
  async #reachPeer(peer: { monHost: string; clientId: string; key: string }, timeoutMs: number): Promise<void> {
    let handle: Awaited<ReturnType<typeof connectNative>>['handle'];
    try {
      ({ handle } = await connectNative({ monHost: peer.monHost, clientId: peer.clientId, key: peer.key, timeoutMs }));
    } catch (err) {
      if (!(err instanceof Error) || typeof (err as RbdError).errno !== 'number') throw err;
      const e = err as RbdError;
      throw rbdError(e.errno, this.#context('importBootstrapToken'), `cannot connect to the peer site of the token (mon_host ${peer.monHost}): ${e.code}`, e.nativeOp);
    }
    await handle.close();
  }

  // ---- peers -----------------------------------------------------------------------------

  /** The pool's peer sites (like `rbd mirror pool info`'s peers). */
  async listPeers(): Promise<MirrorPeer[]> {
    const peers = await this.#call('listPeers', (n) => api().peerList(n));
    return peers.map((p) => ({
      uuid: p.uuid,
      siteName: p.siteName,
      mirrorUuid: p.mirrorUuid,
      clientName: p.clientName,
      direction: name(DIRECTIONS, p.direction),
      lastSeen: dateOrNull(p.lastSeen),
    }));
  }

  /**
   * Register a peer site (like `rbd mirror pool peer add [--direction]
   * [--remote-mon-host] [--remote-key-file]`) and return its uuid. With
   * `monHost`/`key` the peer's attributes are stored too; if that fails the
   * peer is removed again and the error is thrown.
   */
  async addPeer(options: AddPeerOptions): Promise<string> {
    const o = checkOptions<AddPeerOptions>(options);
    const siteName = checkName(o.siteName, 'siteName');
    const clientName = o.clientName === undefined ? this.#pool.cluster.user : checkName(o.clientName, 'clientName');
    const d = o.direction === undefined ? 2 : code(DIRECTIONS, o.direction, 'direction', ['rx-only', 'rx-tx']);
    const attrs = this.#attributes(o);
    const uuid = await this.#call('addPeer', (n) => api().peerAdd(n, d, siteName, clientName));
    if (attrs.length > 0) {
      try {
        await this.#call('addPeer', (n) => api().peerSetAttributes(n, uuid, attrs));
      } catch (err) {
        await this.#call('addPeer', (n) => api().peerRemove(n, uuid)).catch(() => undefined);
        throw err;
      }
    }
    return uuid;
  }

  /**
   * Unregister a peer and its stored attributes (like `rbd mirror pool peer
   * remove`). Rejects with NotFound for an unknown uuid (librbd and the CLI
   * silently succeed; this checks the peer list first).
   */
  async removePeer(uuid: string): Promise<void> {
    const u = checkUuid(uuid);
    await this.#requirePeer('mirror.removePeer', u);
    await this.#call('removePeer', (n) => api().peerRemove(n, u));
  }

  /** Rename a peer's site (like `rbd mirror pool peer set <uuid> site-name <name>`). */
  async setPeerSiteName(uuid: string, siteName: string): Promise<void> {
    const u = checkUuid(uuid);
    const s = checkName(siteName, 'siteName');
    await this.#call('setPeerSiteName', (n) => api().peerSetName(n, u, s));
  }

  /** Change the user a peer is reached as (like `rbd mirror pool peer set <uuid> client <name>`). */
  async setPeerClient(uuid: string, clientName: string): Promise<void> {
    const u = checkUuid(uuid);
    const c = checkName(clientName, 'clientName');
    await this.#call('setPeerClient', (n) => api().peerSetClient(n, u, c));
  }

  /** Change a peer's direction (like `rbd mirror pool peer set <uuid> direction <dir>`). */
  async setPeerDirection(uuid: string, direction: 'rx-only' | 'tx-only' | 'rx-tx'): Promise<void> {
    const u = checkUuid(uuid);
    const d = code(DIRECTIONS, direction, 'direction');
    await this.#call('setPeerDirection', (n) => api().peerSetDirection(n, u, d));
  }

  /**
   * A peer's monitors and key (like `rbd mirror pool info --all`). A peer
   * without stored attributes gives {}; an unknown uuid rejects with NotFound.
   */
  async peerAttributes(uuid: string): Promise<MirrorPeerAttributes> {
    const u = checkUuid(uuid);
    const pairs = await this.#readAttributes(u);
    if (pairs === null) {
      await this.#requirePeer('mirror.peerAttributes', u);
      return {};
    }
    const out: MirrorPeerAttributes = {};
    for (const [k, v] of pairs) {
      if (k === 'mon_host') out.monHost = v;
      else if (k === 'key') out.key = v;
    }
    return out;
  }

  /**
   * Change a peer's monitors and/or key (like `rbd mirror pool peer set <uuid>
   * mon-host|key-file`): a given value replaces the stored one, '' removes
   * it, an absent one is kept. Other stored attributes are kept.
   */
  async setPeerAttributes(uuid: string, attributes: MirrorPeerAttributes): Promise<void> {
    const u = checkUuid(uuid);
    const o = checkOptions<MirrorPeerAttributes>(attributes, 'attributes');
    const changes = new Map<string, string>();
    if (o.monHost !== undefined) changes.set('mon_host', checkAttr(o.monHost, 'monHost'));
    if (o.key !== undefined) changes.set('key', checkAttr(o.key, 'key'));
    const current = new Map((await this.#readAttributes(u)) ?? []);
    for (const [k, v] of changes) {
      if (v === '') current.delete(k);
      else current.set(k, v);
    }
    await this.#call('setPeerAttributes', (n) => api().peerSetAttributes(n, u, [...current]));
  }

  #attributes(o: Partial<MirrorPeerAttributes>): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    if (o.monHost !== undefined) out.push(['mon_host', checkName(o.monHost, 'monHost')]);
    if (o.key !== undefined) out.push(['key', checkName(o.key, 'key')]);
    return out;
  }

  /** The stored attributes, or null when there are none (librbd: ENOENT). */
  async #readAttributes(uuid: string): Promise<Array<[string, string]> | null> {
    let missing = false;
    const pairs = await this.#call('peerAttributes', (n) =>
      api()
        .peerGetAttributes(n, uuid)
        .catch((err: unknown) => {
          if (!isEnoent(err)) throw err;
          missing = true;
          return [] as Array<[string, string]>;
        }),
    );
    return missing ? null : pairs;
  }

  /** librbd does not always tell an unknown peer from one without data: this does. */
  async #requirePeer(op: string, uuid: string): Promise<void> {
    const peers = await this.listPeers();
    if (peers.some((p) => p.uuid === uuid)) return;
    const ctx = { op, cluster: this.#pool.cluster.name, pool: this.#pool.name, namespace: this.#pool.namespace };
    throw rbdError(ENOENT, ctx, `no mirror peer with uuid ${uuid}`);
  }

  // ---- status ----------------------------------------------------------------------------

  /** Mirrored images counted by local status state (rbd_mirror_image_status_summary), e.g. { replaying: 3 }. */
  async summary(): Promise<Partial<Record<MirrorStatusState, number>>> {
    const rows = await this.#call('summary', (n) => api().statusSummary(n));
    const out: Partial<Record<MirrorStatusState, number>> = {};
    for (const [state, count] of rows) {
      const s = mirrorStatusState(state);
      out[s] = (out[s] ?? 0) + count;
    }
    return out;
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
    const o = checkOptions<{ verbose?: boolean }>(options);
    const verbose = o.verbose === undefined ? false : checkBoolean(o.verbose, 'verbose');
    const states = await this.summary();
    let imageHealth: MirrorHealth = 'OK';
    for (const s of Object.keys(states)) {
      if (s !== 'replaying' && s !== 'stopped') imageHealth = worse(imageHealth, 'WARNING');
      if (s === 'error') imageHealth = 'ERROR';
    }
    const { health: daemonHealth, daemons } = await this.#daemons();
    const out: PoolMirrorStatus = { health: worse(imageHealth, daemonHealth), daemonHealth, imageHealth, states };
    if (verbose) {
      out.daemons = daemons;
      const images: MirrorPoolImageStatus[] = [];
      for await (const s of this.#globalStatuses(PAGE)) images.push(s);
      out.images = images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    return out;
  }

  /** The rbd-mirror daemons and their health for this pool, as the CLI's MirrorDaemonServiceInfo works them out. */
  async #daemons(): Promise<{ health: MirrorHealth; daemons: MirrorDaemon[] }> {
    const cluster: Cluster = this.#pool.cluster;
    const dump = JSON.parse((await cluster.monCommand({ prefix: 'service dump', format: 'json' })).output || '{}') as {
      services?: Record<string, { daemons?: Record<string, unknown> }>;
    };
    const services = new Map<string, MirrorDaemon>();
    for (const [id, d] of Object.entries(dump.services?.['rbd-mirror']?.daemons ?? {})) {
      const md = (d as { metadata?: Record<string, unknown> } | null)?.metadata;
      if (d === null || typeof d !== 'object' || !md) continue;
      const str = (v: unknown): string => (typeof v === 'string' ? v : '');
      services.set(id, {
        serviceId: id,
        instanceId: '',
        clientId: str(md.id),
        hostname: str(md.hostname),
        cephVersion: str(md.ceph_version_short),
        leader: false,
        health: 'UNKNOWN',
        callouts: [],
      });
    }
    if (services.size === 0) return { health: 'UNKNOWN', daemons: [] };
    const status = JSON.parse((await cluster.monCommand({ prefix: 'service status', format: 'json' })).output || '{}') as Record<
      string,
      Record<string, { status?: { json?: string } }>
    >;
    const poolId = String(this.#pool.id());
    let foundPool = false;
    let foundLeader = false;
    for (const [id, d] of Object.entries(status['rbd-mirror'] ?? {})) {
      const svc = services.get(id);
      if (!svc) continue;
      const json = d?.status?.json;
      if (typeof json !== 'string') {
        svc.callouts.push('not reporting status');
        svc.health = 'WARNING';
        continue;
      }
      const perPool = (JSON.parse(json) as Record<string, unknown>)[poolId] as
        | { instance_id?: string; leader?: boolean; callouts?: Record<string, { level?: string; text?: string }> }
        | undefined;
      if (!perPool) {
        svc.callouts.push('not reporting status for pool');
        svc.health = 'WARNING';
        continue;
      }
      foundPool = true;
      if (typeof perPool.instance_id === 'string') svc.instanceId = perPool.instance_id;
      if (perPool.leader === true) {
        svc.leader = true;
        foundLeader = true;
      }
      let h: MirrorHealth = 'OK';
      for (const c of Object.values(perPool.callouts ?? {})) {
        if (c.level === 'error') h = 'ERROR';
        else if (c.level === 'warning') h = worse(h, 'WARNING');
        if (typeof c.text === 'string') svc.callouts.push(c.text);
      }
      svc.health = h;
    }
    let health: MirrorHealth = !foundPool ? 'ERROR' : !foundLeader ? 'WARNING' : 'OK';
    for (const s of services.values()) health = worse(health, s.health);
    return { health, daemons: [...services.values()] };
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
    const o = checkOptions<{ pageSize?: number }>(options);
    const size = o.pageSize === undefined ? PAGE : checkInt(o.pageSize, 'pageSize', 1, 4096);
    yield* this.#globalStatuses(size);
  }

  async *#globalStatuses(size: number): AsyncIterableIterator<MirrorPoolImageStatus> {
    const peers: MirrorPeerRef[] = await this.#call('globalStatuses', (n) => api().peerList(n));
    let start = '';
    for (;;) {
      const page = await this.#call('globalStatuses', (n) => api().globalStatusList(n, start, size));
      // librbd's status list leaves info.primary false (Pacific): take it from the
      // info list, which walks the same mirrored images in the same id order.
      const infos = page.length ? await this.#call('globalStatuses', (n) => api().infoList(n, -1, start, size)) : [];
      const primary = new Map(infos.map((i) => [i.id, i.info.primary]));
      for (const { id, status } of page) {
        const { local, peers: sites } = mirrorSiteStatuses(status.siteStatuses, peers);
        yield {
          id,
          name: status.name,
          info: {
            globalId: status.info.globalId,
            state: mirrorImageState(status.info.state),
            primary: primary.get(id) ?? status.info.primary,
          },
          local,
          peers: sites,
        };
      }
      if (page.length < size) return;
      start = page[page.length - 1].id;
    }
  }

  /** Every mirrored image's mirroring mode and state (rbd_mirror_image_info_list), optionally of one mode. */
  async imageInfos(options?: { mode?: 'journal' | 'snapshot' }): Promise<MirrorImageInfoEntry[]> {
    const o = checkOptions<{ mode?: 'journal' | 'snapshot' }>(options);
    const filter = o.mode === undefined ? -1 : code(IMAGE_MODES, o.mode, 'mode');
    const out: MirrorImageInfoEntry[] = [];
    let start = '';
    for (;;) {
      const page = await this.#call('imageInfos', (n) => api().infoList(n, filter, start, PAGE));
      for (const r of page) {
        out.push({
          id: r.id,
          mode: mirrorImageMode(r.mode),
          globalId: r.info.globalId,
          state: mirrorImageState(r.info.state),
          primary: r.info.primary,
        });
      }
      if (page.length < PAGE) return out;
      start = page[page.length - 1].id;
    }
  }

  /** Which rbd-mirror instance handles each image: image id → instance id (rbd_mirror_image_instance_id_list). */
  async instanceIds(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let start = '';
    for (;;) {
      const page = await this.#call('instanceIds', (n) => api().instanceIdList(n, start, PAGE));
      for (const [id, instance] of page) out.set(id, instance);
      if (page.length < PAGE) return out;
      start = page[page.length - 1][0];
    }
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
    checkName(globalId, 'globalId');
    const hit = (await this.imageInfos()).find((i) => i.globalId === globalId);
    if (!hit) return null;
    const spec = (await this.#pool.listImageSpecs()).find((s) => s.id === hit.id);
    return spec ? { id: spec.id, name: spec.name } : null;
  }

  // ---- pool-wide promote / demote --------------------------------------------------------

  /**
   * Promote every mirrored non-primary image of the pool (like `rbd mirror
   * pool promote [--force]`), a bounded number at a time, and report each
   * image acted on, by name. An image that fails does not stop the others.
   */
  async promote(options?: PoolPromoteOptions): Promise<MirrorPoolActionResult[]> {
    const o = checkOptions<PoolPromoteOptions>(options);
    const force = o.force === undefined ? false : checkBoolean(o.force, 'force');
    const concurrency = o.concurrency === undefined ? 10 : checkInt(o.concurrency, 'concurrency', 1, 256);
    return this.#forEachImage('promote', false, concurrency, (image) => image.mirror.promote({ force }));
  }

  /**
   * Demote every mirrored primary image of the pool (like `rbd mirror pool
   * demote`), a bounded number at a time, and report each image acted on.
   */
  async demote(options?: { concurrency?: number }): Promise<MirrorPoolActionResult[]> {
    const o = checkOptions<{ concurrency?: number }>(options);
    const concurrency = o.concurrency === undefined ? 10 : checkInt(o.concurrency, 'concurrency', 1, 256);
    return this.#forEachImage('demote', true, concurrency, (image) => image.mirror.demote());
  }

  async #forEachImage(
    op: string,
    primary: boolean,
    concurrency: number,
    act: (image: Image) => Promise<void>,
  ): Promise<MirrorPoolActionResult[]> {
    if (this.#pool.closed) throw closedError({ op: `mirror.${op}`, pool: this.#pool.name }, 'pool');
    const infos = await this.imageInfos();
    const wanted = new Set(infos.filter((i) => i.state === 'enabled' && i.primary === primary).map((i) => i.id));
    const names = (await this.#pool.listImageSpecs()).filter((s) => wanted.has(s.id)).map((s) => s.name);
    const results: MirrorPoolActionResult[] = new Array(names.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        const i = next++;
        const image = names[i];
        try {
          // Through an Image of this process, as image.mirror.promote()/demote()
          // would be called: the role gate holds this process's other handles
          // of the image (a handle writing while it is demoted: README "Known
          // issues") and the call waits for the new role to be seen.
          const handle = await this.#pool.openImage(image);
          try {
            await act(handle);
          } finally {
            await handle.close();
          }
          results[i] = { image, ok: true };
        } catch (err) {
          results[i] = { image, ok: false, error: err as RbdError };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
    return results;
  }

  // ---- mirror-snapshot schedules (the manager's rbd_support module) ----------------------

  #spec(image: unknown): string {
    if (this.#pool.closed) throw closedError({ op: 'mirror.snapshotSchedule', pool: this.#pool.name }, 'pool');
    return levelSpec(this.#pool.name, this.#pool.namespace, image === undefined ? undefined : checkName(image, 'image'));
  }

  /**
   * Schedule mirror snapshots of the pool (namespace) or of one image every
   * `interval` ('30m', '1h', '1d'; like `rbd mirror snapshot schedule add
   * [--image] <interval> [<start-time>]`). Only snapshot-mode images get them.
   */
  async addSnapshotSchedule(interval: string, options?: SnapshotScheduleOptions): Promise<void> {
    const i = checkInterval(interval);
    const o = checkOptions<SnapshotScheduleOptions>(options);
    const start = o.startTime === undefined ? undefined : checkStartTime(o.startTime);
    await addSchedule(this.#pool.cluster, this.#spec(o.image), i, start);
  }

  /**
   * Remove a schedule (like `rbd mirror snapshot schedule remove [--image]
   * [<interval> [<start-time>]]`): without an interval, every schedule of the level.
   */
  async removeSnapshotSchedule(interval?: string, options?: SnapshotScheduleOptions): Promise<void> {
    const i = interval === undefined ? undefined : checkInterval(interval);
    const o = checkOptions<SnapshotScheduleOptions>(options);
    if (o.startTime !== undefined && i === undefined) throw new TypeError('startTime needs an interval');
    const start = o.startTime === undefined ? undefined : checkStartTime(o.startTime);
    await removeSchedule(this.#pool.cluster, this.#spec(o.image), i, start);
  }

  /**
   * The schedules of the pool (namespace) or of one image (like `rbd mirror
   * snapshot schedule ls [--image] [-R]`): without `recursive`, only that
   * level's own (an empty list when it has none; the CLI exits with ENOENT);
   * with it, also its images' and the nearest scheduled level above.
   */
  async listSnapshotSchedules(options?: { image?: string; recursive?: boolean }): Promise<SnapshotScheduleLevel[]> {
    const o = checkOptions<{ image?: string; recursive?: boolean }>(options);
    const recursive = o.recursive === undefined ? false : checkBoolean(o.recursive, 'recursive');
    return listSchedules(this.#pool.cluster, this.#spec(o.image), recursive);
  }

  /** The next scheduled mirror snapshots of the pool's (or one image's) images (like `rbd mirror snapshot schedule status`). */
  async snapshotScheduleStatus(options?: { image?: string }): Promise<SnapshotScheduleStatus[]> {
    const o = checkOptions<{ image?: string }>(options);
    return scheduleStatus(this.#pool.cluster, this.#spec(o.image));
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

/**
 * The peer's monitors and credentials from a bootstrap token (base64 of
 * {fsid, client_id, key, mon_host}), or undefined when it does not decode:
 * librbd then refuses it with InvalidArgument.
 */
function decodeToken(token: string): { monHost: string; clientId: string; key: string } | undefined {
  let t: unknown;
  try {
    t = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  const { mon_host: monHost, client_id: clientId, key } = (t ?? {}) as Record<string, unknown>;
  const ok = (v: unknown): v is string => typeof v === 'string' && v !== '' && !v.includes('\0');
  if (!ok(monHost) || !ok(clientId) || !ok(key)) return undefined;
  return { monHost, clientId: clientId.replace(/^client\./, ''), key };
}

function checkAttr(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (value.includes('\0')) throw new RangeError(`${what} must not contain NUL bytes`);
  return value;
}
