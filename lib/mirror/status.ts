/**
 * Mirroring states and statuses as librbd reports them, named. Shared by
 * `pool.mirror` and `image.mirror`. Unknown numeric values map to
 * 'unknown(n)' rather than throwing: a newer cluster may report states this
 * version does not know.
 */
import { MIRROR_IMAGE_MODE, MIRROR_IMAGE_STATE, MIRROR_PEER_DIRECTION, MIRROR_STATUS_STATE } from '../core/constants';
import type { NativeMirrorSiteStatus } from '../core/native';

/**
 * 'creating' is not in librbd.h's enum but librbd passes it through
 * (cls_rbd's MIRROR_IMAGE_STATE_CREATING): the non-primary copy that
 * rbd-mirror is still creating and has not finished its first sync.
 */
export type MirrorImageState = 'disabling' | 'enabled' | 'disabled' | 'creating' | `unknown(${number})`;

/**
 * A site's replay state of a mirrored image (rbd_mirror_image_status_state_t),
 * as `rbd mirror image status` prints it after `up+` / `down+`.
 */
export type MirrorStatusState =
  | 'unknown'
  | 'error'
  | 'syncing'
  | 'starting_replay'
  | 'replaying'
  | 'stopping_replay'
  | 'stopped'
  | `unknown(${number})`;

/** rbd_mirror_image_state_t → name. */
export function mirrorImageState(n: number): MirrorImageState {
  return MIRROR_IMAGE_STATE.name(n);
}

/** rbd_mirror_image_status_state_t → name, as `rbd mirror image status` prints it. */
export function mirrorStatusState(n: number): MirrorStatusState {
  return MIRROR_STATUS_STATE.name(n);
}




// ---------------------------------------------------------------------------------------------
// Image mirroring modes, peer directions, site statuses and the replay status in a description.
// Shared: pool.mirror and image.mirror both report site statuses in this shape.

/** How an image is mirrored (rbd_mirror_image_mode_t). */
export type MirrorImageMode = 'journal' | 'snapshot' | `unknown(${number})`;

/** rbd_mirror_image_mode_t → name, as `rbd mirror image status` / `rbd info` print it. */
export function mirrorImageMode(n: number): MirrorImageMode {
  return MIRROR_IMAGE_MODE.name(n);
}

/** A position in an image journal: which entry of which tag, in which journal object. */
export interface JournalPosition {
  /** The tag (epoch of one primary) the entry belongs to. */
  tagTid: number;
  /** The entry's id within its tag. */
  entryTid: number;
  /** The journal object that holds the entry. */
  objectNumber: number;
}

/** Replay progress of a journal-mode image, from a description like `replaying, {...}`. */
export interface JournalReplayStatus {
  /** Journal-based mirroring. */
  kind: 'journal';
  /** Journal entries the non-primary image still has to replay. */
  entriesBehindPrimary: number;
  /** The primary image's journal head; null when rbd-mirror reported none (`{}`). */
  primaryPosition: JournalPosition | null;
  /** How far the non-primary image has replayed; null when it has replayed nothing yet (`{}`). */
  nonPrimaryPosition: JournalPosition | null;
  /** Replay speed; 0 when not reported. */
  bytesPerSecond: number;
  /** Replay speed; 0 when not reported. */
  entriesPerSecond: number;
  /** Estimated time to catch up (newer rbd-mirror releases only). */
  secondsUntilSynced?: number;
}

/** Replay progress of a snapshot-mode image, from a description like `replaying, {...}`. */
export interface SnapshotReplayStatus {
  /** Snapshot-based mirroring. */
  kind: 'snapshot';
  /** 'idle' between mirror snapshots, 'syncing' while copying one. */
  replayState: 'idle' | 'syncing' | (string & {});
  /** When the last mirror snapshot synced here was taken on the primary; null before the first one. */
  localSnapshotTimestamp: Date | null;
  /** When the newest mirror snapshot of the primary was taken; null when not reported. */
  remoteSnapshotTimestamp: Date | null;
  /** While syncing: when the snapshot being copied was taken. */
  syncingSnapshotTimestamp?: Date;
  /** While syncing: how much of it is copied, 0-100. */
  syncingPercent?: number;
  /** Copy speed; 0 when not reported. */
  bytesPerSecond: number;
  /** Average bytes copied per mirror snapshot, when reported. */
  bytesPerSnapshot?: number;
  /** Bytes copied for the last synced mirror snapshot, when reported. */
  lastSnapshotBytes?: number;
  /** How long the last synced mirror snapshot took to copy, in seconds, when reported. */
  lastSnapshotSyncSeconds?: number;
  /** Estimated time to catch up (newer rbd-mirror releases only). */
  secondsUntilSynced?: number;
}

/** What the JSON part of a site status description says, by mirroring mode. */
export type MirrorReplayStatus = JournalReplayStatus | SnapshotReplayStatus;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(o: Json, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function date(o: Json, key: string): Date | undefined {
  const s = num(o, key);
  return s === undefined ? undefined : new Date(s * 1000);
}

function position(v: unknown): JournalPosition | null {
  if (!isObject(v)) return null;
  const tagTid = num(v, 'tag_tid');
  const entryTid = num(v, 'entry_tid');
  const objectNumber = num(v, 'object_number');
  if (tagTid === undefined || entryTid === undefined || objectNumber === undefined) return null;
  return { tagTid, entryTid, objectNumber };
}

/** The JSON object embedded in a description (`replaying, {...}`), or null. */
function embeddedJson(description: string): Json | null {
  const start = description.indexOf('{');
  const end = description.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  try {
    const v: unknown = JSON.parse(description.slice(start, end + 1));
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * Parse the replay status rbd-mirror embeds in a site status description
 * (`replaying, {"bytes_per_second":...}`): journal mode reports journal
 * positions and entries behind, snapshot mode the replay state, snapshot
 * timestamps and sync progress. Returns null when the description carries no
 * such JSON (`local image is primary`, `split-brain detected`, `status not
 * found`...), when the JSON is malformed or of neither kind, and for states
 * whose descriptions are never replay data ('error', 'unknown'). Never throws;
 * the raw description stays available next to the parsed value.
 */
export function parseMirrorDescription(description: string, state?: MirrorStatusState): MirrorReplayStatus | null {
  if (typeof description !== 'string') return null;
  if (state === 'error' || state === 'unknown') return null;
  const o = embeddedJson(description);
  if (o === null) return null;
  const entriesBehindPrimary = num(o, 'entries_behind_primary');
  if (entriesBehindPrimary !== undefined) {
    const j: JournalReplayStatus = {
      kind: 'journal',
      entriesBehindPrimary,
      primaryPosition: position(o.primary_position),
      nonPrimaryPosition: position(o.non_primary_position),
      bytesPerSecond: num(o, 'bytes_per_second') ?? 0,
      entriesPerSecond: num(o, 'entries_per_second') ?? 0,
    };
    const eta = num(o, 'seconds_until_synced');
    if (eta !== undefined) j.secondsUntilSynced = eta;
    return j;
  }
  if (typeof o.replay_state === 'string') {
    const s: SnapshotReplayStatus = {
      kind: 'snapshot',
      replayState: o.replay_state,
      localSnapshotTimestamp: date(o, 'local_snapshot_timestamp') ?? null,
      remoteSnapshotTimestamp: date(o, 'remote_snapshot_timestamp') ?? null,
      bytesPerSecond: num(o, 'bytes_per_second') ?? 0,
    };
    const syncing = date(o, 'syncing_snapshot_timestamp');
    if (syncing !== undefined) s.syncingSnapshotTimestamp = syncing;
    const optional = [
      ['syncingPercent', 'syncing_percent'],
      ['bytesPerSnapshot', 'bytes_per_snapshot'],
      ['lastSnapshotBytes', 'last_snapshot_bytes'],
      ['lastSnapshotSyncSeconds', 'last_snapshot_sync_seconds'],
      ['secondsUntilSynced', 'seconds_until_synced'],
    ] as const;
    for (const [field, key] of optional) {
      const v = num(o, key);
      if (v !== undefined) s[field] = v;
    }
    return s;
  }
  return null;
}

/** One site's view of a mirrored image (rbd_mirror_image_site_status_t), named and parsed. */
export interface MirrorSiteStatus {
  /** The site's mirror uuid; '' for the local site. */
  mirrorUuid: string;
  /** The peer site's name, from the pool's peers ('' for the local site or an unknown peer). */
  siteName: string;
  /** The replay state on that site. */
  state: MirrorStatusState;
  /** As rbd-mirror wrote it, e.g. 'replaying, {"bytes_per_second":...}' or 'split-brain detected'. */
  description: string;
  /** Whether the rbd-mirror daemon that wrote it is running. The CLI prints `up+replaying` / `down+unknown`. */
  up: boolean;
  /** When rbd-mirror last wrote it; null for a site that has not reported ('status not found'). */
  lastUpdate: Date | null;
  /** The description's replay status (parseMirrorDescription), or null when it carries none. */
  replay: MirrorReplayStatus | null;
}

/** A pool's peer as mirror statuses need it: which mirror uuid is which site. */
export interface MirrorPeerRef {
  siteName: string;
  mirrorUuid: string;
  /** rbd_mirror_peer_direction_t (MIRROR_PEER_DIRECTION in lib/core/constants.ts). */
  direction: number;
}

/** rbd_mirror_image_site_status_t (as native/util/mirror_status.h builds it) → MirrorSiteStatus. */
export function mirrorSiteStatus(s: NativeMirrorSiteStatus, peers: readonly MirrorPeerRef[]): MirrorSiteStatus {
  const state = mirrorStatusState(s.state);
  return {
    mirrorUuid: s.mirrorUuid,
    siteName: s.mirrorUuid === '' ? '' : (peers.find((p) => p.mirrorUuid === s.mirrorUuid)?.siteName ?? ''),
    state,
    description: s.description,
    up: s.up,
    lastUpdate: s.lastUpdate > 0 ? new Date(s.lastUpdate * 1000) : null,
    replay: parseMirrorDescription(s.description, state),
  };
}

/**
 * The local and peer site statuses of a global status, completed as the rbd
 * CLI completes them: a site that should report but has not (the local one
 * unless every peer is tx-only; each peer that is not tx-only and has a mirror
 * uuid) gets a down+unknown 'status not found' entry.
 */
export function mirrorSiteStatuses(
  sites: readonly NativeMirrorSiteStatus[],
  peers: readonly MirrorPeerRef[],
): { local: MirrorSiteStatus | null; peers: MirrorSiteStatus[] } {
  const missing = (mirrorUuid: string, siteName: string): MirrorSiteStatus => ({
    mirrorUuid,
    siteName,
    state: 'unknown',
    description: 'status not found',
    up: false,
    lastUpdate: null,
    replay: null,
  });
  const all = sites.map((s) => mirrorSiteStatus(s, peers));
  const allTx = peers.length > 0 && peers.every((p) => p.direction === MIRROR_PEER_DIRECTION.value('tx-only'));
  const local = all.find((s) => s.mirrorUuid === '') ?? (allTx ? null : missing('', ''));
  const reported = all.filter((s) => s.mirrorUuid !== '');
  const expected = peers.filter((p) => p.direction !== MIRROR_PEER_DIRECTION.value('tx-only') && p.mirrorUuid !== '');
  const out = expected.map((p) => reported.find((s) => s.mirrorUuid === p.mirrorUuid) ?? missing(p.mirrorUuid, p.siteName));
  // Statuses from mirror uuids that are no peer (any more) stay visible, after the peers'.
  for (const s of reported) if (!out.includes(s)) out.push(s);
  return { local, peers: out };
}
