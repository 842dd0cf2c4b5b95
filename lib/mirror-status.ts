/**
 * Mirroring states and statuses as librbd reports them, named. Shared by
 * `pool.mirror` and `image.mirror`. Unknown numeric values map to
 * 'unknown(n)' rather than throwing: a newer cluster may report states this
 * version does not know.
 */

export type MirrorImageState = 'disabling' | 'enabled' | 'disabled' | `unknown(${number})`;

export type MirrorStatusState =
  | 'unknown'
  | 'error'
  | 'syncing'
  | 'starting_replay'
  | 'replaying'
  | 'stopping_replay'
  | 'stopped'
  | `unknown(${number})`;

const imageStates = ['disabling', 'enabled', 'disabled'] as const;
const statusStates = [
  'unknown',
  'error',
  'syncing',
  'starting_replay',
  'replaying',
  'stopping_replay',
  'stopped',
] as const;

/** rbd_mirror_image_state_t → name. */
export function mirrorImageState(n: number): MirrorImageState {
  return imageStates[n] ?? `unknown(${n})`;
}

/** rbd_mirror_image_status_state_t → name, as `rbd mirror image status` prints it. */
export function mirrorStatusState(n: number): MirrorStatusState {
  return statusStates[n] ?? `unknown(${n})`;
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
