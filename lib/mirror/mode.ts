/** A pool's mirroring mode, its remote namespace, its mirror uuid and the cluster's site name (`pool.mirror.mode()` ...). */
import { requireCapability } from '../cluster/capabilities';
import { InvalidArgument, closedError, rbdError } from '../core/errors';
import type { NativePoolMirror } from '../core/native';
import { checkOptions } from '../core/validate';
import type { Pool } from '../pool/pool';
import { MIRROR_MODE } from '../core/constants';
import { api, mirrorCall, mirrorContext } from './pool-call';

/** A pool's mirroring mode (rbd_mirror_mode_t), as `rbd mirror pool info` shows it. */
export type MirrorMode = 'disabled' | 'image' | 'pool' | `unknown(${number})`;

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


function checkRemoteNamespace(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`remoteNamespace must be a string, got ${typeof value}`);
  if (value.includes('\0')) throw new RangeError('remoteNamespace must not contain NUL bytes');
  return value;
}

/** CapabilityUnavailable without the remote-namespace calls; a closed pool says so first (HandleClosed), as every call does. */
function requireRemoteNamespace(pool: Pool, op: string): void {
  if (pool.closed) throw closedError(mirrorContext(pool, op), 'pool');
  requireCapability('mirrorRemoteNamespace', mirrorContext(pool, op));
}

export async function mode(pool: Pool): Promise<MirrorMode> {
  return MIRROR_MODE.name(await mirrorCall(pool, 'mode', (n) => api().modeGet(n)));
}

export async function setMode(pool: Pool, mode: 'disabled' | 'image' | 'pool'): Promise<void> {
  const m = MIRROR_MODE.check(mode, 'mode');
  await mirrorCall(pool, 'setMode', (n) => api().modeSet(n, m));
}

export async function enable(pool: Pool, mode: 'image' | 'pool', options?: EnableMirrorOptions): Promise<void> {
  const m = MIRROR_MODE.check(mode, 'mode', ['image', 'pool']);
  const o = checkOptions<EnableMirrorOptions>(options);
  if (o.remoteNamespace !== undefined) {
    checkRemoteNamespace(o.remoteNamespace);
    requireRemoteNamespace(pool, 'enable');
  }
  if (o.siteName !== undefined) await setSiteName(pool, o.siteName);
  // librbd takes the remote namespace only while mirroring is disabled: first, as the CLI does.
  if (o.remoteNamespace !== undefined) await setRemoteNamespace(pool, o.remoteNamespace);
  await mirrorCall(pool, 'enable', (n) => api().modeSet(n, m));
}

export async function remoteNamespace(pool: Pool): Promise<string> {
  requireRemoteNamespace(pool, 'remoteNamespace');
  const get = api().remoteNamespaceGet as NonNullable<NativePoolMirror['remoteNamespaceGet']>;
  return mirrorCall(pool, 'remoteNamespace', (n) => get(n));
}

export async function setRemoteNamespace(pool: Pool, remoteNamespace: string): Promise<void> {
  checkRemoteNamespace(remoteNamespace);
  requireRemoteNamespace(pool, 'setRemoteNamespace');
  const set = api().remoteNamespaceSet as NonNullable<NativePoolMirror['remoteNamespaceSet']>;
  try {
    await mirrorCall(pool, 'setRemoteNamespace', (n) => set(n, remoteNamespace));
  } catch (err) {
    if (!(err instanceof InvalidArgument)) throw err;
    const local = pool.namespace;
    let detail: string | undefined;
    if (local === '' && remoteNamespace !== '') detail = 'the default namespace can only be mirrored to the default namespace';
    else if (local !== '' && remoteNamespace === '') detail = 'a non-default namespace cannot be mirrored to the default namespace';
    else if ((await mode(pool).catch(() => 'disabled')) !== 'disabled') {
      detail = 'mirroring is enabled: the remote namespace can only be set while it is disabled (or with enable())';
    }
    if (detail === undefined) throw err;
    throw rbdError(err.errno, mirrorContext(pool, 'setRemoteNamespace'), detail, err.nativeOp);
  }
}

export async function disable(pool: Pool): Promise<void> {
  await mirrorCall(pool, 'disable', (n) => api().modeSet(n, MIRROR_MODE.value('disabled')));
}

export async function uuid(pool: Pool): Promise<string> {
  return mirrorCall(pool, 'uuid', (n) => api().uuidGet(n));
}

export async function siteName(pool: Pool): Promise<string> {
  return mirrorCall(pool, 'siteName', (n) => api().siteNameGet(n));
}

export async function setSiteName(pool: Pool, siteName: string): Promise<void> {
  if (typeof siteName !== 'string') throw new TypeError('siteName must be a string');
  if (siteName.includes('\0')) throw new RangeError('siteName must not contain NUL bytes');
  await mirrorCall(pool, 'setSiteName', (n) => api().siteNameSet(n, siteName));
}
