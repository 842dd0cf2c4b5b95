/**
 * Bootstrap tokens (`rbd mirror pool peer bootstrap create|import`): the
 * import first reaches the token's site within the caller's bound, as
 * librbd's own connection would wait 300 s on an unreachable one.
 */
import { MIRROR_PEER_DIRECTION } from '../core/constants';
import { connectNative } from '../cluster/connect';
import type { RbdError } from '../core/errors';
import { closedError, rbdError } from '../core/errors';
import { checkInt, checkOptions } from '../core/validate';
import type { Pool } from '../pool/pool';
import { peerDirectionCode } from './peers';
import { api, mirrorCall, mirrorContext } from './pool-call';

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

export async function createBootstrapToken(pool: Pool): Promise<string> {
  return mirrorCall(pool, 'createBootstrapToken', (n) => api().bootstrapCreate(n));
}

export async function importBootstrapToken(pool: Pool, token: string, options?: ImportBootstrapTokenOptions): Promise<void> {
  if (typeof token !== 'string' || token.length === 0) throw new TypeError('token must be a non-empty string');
  if (token.includes('\0')) throw new RangeError('token must not contain NUL bytes');
  const o = checkOptions<ImportBootstrapTokenOptions>(options);
  const d = o.direction === undefined ? MIRROR_PEER_DIRECTION.value('rx-tx') : peerDirectionCode(o.direction, ['rx-only', 'rx-tx']);
  const timeoutMs = o.timeoutMs === undefined ? 30_000 : checkInt(o.timeoutMs, 'timeoutMs', 1, 2 ** 31 - 1);
  if (pool.closed) throw closedError(mirrorContext(pool, 'importBootstrapToken'), 'pool');
  const peer = decodeToken(token.trim());
  if (peer) await reachPeer(pool, peer, timeoutMs);
  await mirrorCall(pool, 'importBootstrapToken', (n) => api().bootstrapImport(n, d, token.trim()));
}

// Connect to the token's site and leave again, within the caller's bound. The
// error names the monitors (not secret), never the key.
async function reachPeer(pool: Pool, peer: { monHost: string; clientId: string; key: string }, timeoutMs: number): Promise<void> {
  let handle: Awaited<ReturnType<typeof connectNative>>['handle'];
  try {
    ({ handle } = await connectNative({ monHost: peer.monHost, clientId: peer.clientId, key: peer.key, timeoutMs }));
  } catch (err) {
    if (!(err instanceof Error) || typeof (err as RbdError).errno !== 'number') throw err;
    const e = err as RbdError;
    throw rbdError(e.errno, mirrorContext(pool, 'importBootstrapToken'), `cannot connect to the peer site of the token (mon_host ${peer.monHost}): ${e.code}`, e.nativeOp);
  }
  await handle.close();
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
