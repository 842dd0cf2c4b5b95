/** A pool's peer sites (`rbd mirror pool peer add|remove|set`, `rbd mirror pool info [--all]`'s peers). */
import { rbdError } from '../core/errors';
import { checkName, checkOptions } from '../core/validate';
import type { Pool } from '../pool/pool';
import { MIRROR_PEER_DIRECTION } from '../core/constants';
import { ENOENT, api, isEnoent, mirrorCall } from './pool-call';

/** Which way a peer replicates (rbd_mirror_peer_direction_t). */
export type MirrorPeerDirection = 'rx-only' | 'tx-only' | 'rx-tx' | `unknown(${number})`;

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A peer direction's name → librbd's value (TypeError unless it is one of `allowed`). */
export function peerDirectionCode(value: unknown, allowed: ReadonlyArray<'rx-only' | 'tx-only' | 'rx-tx'> = MIRROR_PEER_DIRECTION.names): number {
  return MIRROR_PEER_DIRECTION.check(value, 'direction', allowed);
}

function checkUuid(value: unknown): string {
  const s = checkName(value, 'peer uuid');
  if (!UUID.test(s)) throw new RangeError('peer uuid must be a uuid like 55672766-c02b-4729-8567-f13a66893445');
  return s;
}

function checkAttr(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (value.includes('\0')) throw new RangeError(`${what} must not contain NUL bytes`);
  return value;
}

function dateOrNull(seconds: number): Date | null {
  return seconds > 0 ? new Date(seconds * 1000) : null;
}

export async function listPeers(pool: Pool): Promise<MirrorPeer[]> {
  const peers = await mirrorCall(pool, 'listPeers', (n) => api().peerList(n));
  return peers.map((p) => ({
    uuid: p.uuid,
    siteName: p.siteName,
    mirrorUuid: p.mirrorUuid,
    clientName: p.clientName,
    direction: MIRROR_PEER_DIRECTION.name(p.direction),
    lastSeen: dateOrNull(p.lastSeen),
  }));
}

export async function addPeer(pool: Pool, options: AddPeerOptions): Promise<string> {
  const o = checkOptions<AddPeerOptions>(options);
  const siteName = checkName(o.siteName, 'siteName');
  const clientName = o.clientName === undefined ? pool.cluster.user : checkName(o.clientName, 'clientName');
  const d = o.direction === undefined ? MIRROR_PEER_DIRECTION.value('rx-tx') : peerDirectionCode(o.direction, ['rx-only', 'rx-tx']);
  const attrs = attributes(o);
  const uuid = await mirrorCall(pool, 'addPeer', (n) => api().peerAdd(n, d, siteName, clientName));
  if (attrs.length > 0) {
    try {
      await mirrorCall(pool, 'addPeer', (n) => api().peerSetAttributes(n, uuid, attrs));
    } catch (err) {
      await mirrorCall(pool, 'addPeer', (n) => api().peerRemove(n, uuid)).catch(() => undefined);
      throw err;
    }
  }
  return uuid;
}

export async function removePeer(pool: Pool, uuid: string): Promise<void> {
  const u = checkUuid(uuid);
  await requirePeer(pool, 'mirror.removePeer', u);
  await mirrorCall(pool, 'removePeer', (n) => api().peerRemove(n, u));
}

export async function setPeerSiteName(pool: Pool, uuid: string, siteName: string): Promise<void> {
  const u = checkUuid(uuid);
  const s = checkName(siteName, 'siteName');
  await mirrorCall(pool, 'setPeerSiteName', (n) => api().peerSetName(n, u, s));
}

export async function setPeerClient(pool: Pool, uuid: string, clientName: string): Promise<void> {
  const u = checkUuid(uuid);
  const c = checkName(clientName, 'clientName');
  await mirrorCall(pool, 'setPeerClient', (n) => api().peerSetClient(n, u, c));
}

export async function setPeerDirection(pool: Pool, uuid: string, direction: 'rx-only' | 'tx-only' | 'rx-tx'): Promise<void> {
  const u = checkUuid(uuid);
  const d = peerDirectionCode(direction);
  await mirrorCall(pool, 'setPeerDirection', (n) => api().peerSetDirection(n, u, d));
}

export async function peerAttributes(pool: Pool, uuid: string): Promise<MirrorPeerAttributes> {
  const u = checkUuid(uuid);
  const pairs = await readAttributes(pool, u);
  if (pairs === null) {
    await requirePeer(pool, 'mirror.peerAttributes', u);
    return {};
  }
  const out: MirrorPeerAttributes = {};
  for (const [k, v] of pairs) {
    if (k === 'mon_host') out.monHost = v;
    else if (k === 'key') out.key = v;
  }
  return out;
}

export async function setPeerAttributes(pool: Pool, uuid: string, attributes: MirrorPeerAttributes): Promise<void> {
  const u = checkUuid(uuid);
  const o = checkOptions<MirrorPeerAttributes>(attributes, 'attributes');
  const changes = new Map<string, string>();
  if (o.monHost !== undefined) changes.set('mon_host', checkAttr(o.monHost, 'monHost'));
  if (o.key !== undefined) changes.set('key', checkAttr(o.key, 'key'));
  const current = new Map((await readAttributes(pool, u)) ?? []);
  for (const [k, v] of changes) {
    if (v === '') current.delete(k);
    else current.set(k, v);
  }
  await mirrorCall(pool, 'setPeerAttributes', (n) => api().peerSetAttributes(n, u, [...current]));
}

function attributes(o: Partial<MirrorPeerAttributes>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (o.monHost !== undefined) out.push(['mon_host', checkName(o.monHost, 'monHost')]);
  if (o.key !== undefined) out.push(['key', checkName(o.key, 'key')]);
  return out;
}

/** The stored attributes, or null when there are none (librbd: ENOENT). */
async function readAttributes(pool: Pool, uuid: string): Promise<Array<[string, string]> | null> {
  let missing = false;
  const pairs = await mirrorCall(pool, 'peerAttributes', (n) =>
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
async function requirePeer(pool: Pool, op: string, uuid: string): Promise<void> {
  const peers = await listPeers(pool);
  if (peers.some((p) => p.uuid === uuid)) return;
  const ctx = { op, cluster: pool.cluster.name, pool: pool.name, namespace: pool.namespace };
  throw rbdError(ENOENT, ctx, `no mirror peer with uuid ${uuid}`);
}
