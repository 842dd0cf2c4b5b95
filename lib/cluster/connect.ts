/**
 * Connecting a librados client: the options of `Cluster.connect()` checked
 * and turned into librados configuration, the connect itself, and what a
 * failure means. Apart from Cluster so that an area that only needs to reach
 * a cluster for a moment (the bootstrap import's peer check) can do so
 * without importing Cluster, which imports every area (no import cycles).
 */
import { constants } from 'node:os';
import { findForeignKey, foreignKeyDetail } from './cephx';
import { fromNative, rbdError, RbdError } from '../core/errors';
import { native, type NativeCluster } from '../core/native';
import { checkInt, checkName, checkOptions, checkString } from '../core/validate';

/** How `Cluster.connect()` connects: conf file, monitors, user and key, options, timeouts. */
export interface ConnectOptions {
  /**
   * ceph.conf to read. Default: the standard search path (CEPH_CONF,
   * /etc/ceph/$cluster.conf, ~/.ceph/$cluster.conf, ./$cluster.conf) unless
   * `monHost` is given, in which case no file is read.
   */
  confPath?: string;
  /** Cluster name (`$cluster` in conf paths). Default 'ceph'. */
  clusterName?: string;
  /** The cephx user without the `client.` prefix. Default 'admin'. */
  clientId?: string;
  /** Path of a keyring file. */
  keyring?: string;
  /** The cephx secret itself (base64), instead of a keyring. */
  key?: string;
  /** Monitor addresses, e.g. 'v2:127.0.0.1:3300' or '10.0.0.1,10.0.0.2'. */
  monHost?: string;
  /** Any other configuration options, applied last. */
  config?: Readonly<Record<string, string | number | boolean>>;
  /**
   * How long connecting may take before it fails with Timeout (ETIMEDOUT), in
   * milliseconds (librados' client_mount_timeout, whole seconds). Default 30000.
   */
  timeoutMs?: number;
  /**
   * Timeout for each monitor and OSD operation afterwards, in milliseconds
   * (rados_mon_op_timeout / rados_osd_op_timeout). Default: none (librados waits).
   */
  operationTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const { EINVAL, EIO } = constants.errno;

/**
 * A connect that failed on a key librados could not parse says so: librados
 * only logs "Malformed input" and returns EINVAL (a `key` option) or EIO (a
 * keyring file). The native error carries the keyring paths librados used.
 */
async function explainConnect(e: Error, raw: unknown, config: Array<[string, string]>, cluster: string): Promise<Error> {
  if (!(e instanceof RbdError) || (e.errno !== EINVAL && e.errno !== EIO)) return e;
  const keyring = (raw as { keyring?: unknown } | null)?.keyring;
  const keys = config.filter(([k]) => k === 'key').map(([, v]): [string, string] => ['given as the `key` option', v]);
  const foreign = await findForeignKey(keys, typeof keyring === 'string' ? keyring : '');
  if (foreign === undefined) return e;
  return rbdError(e.errno, { op: 'connect', cluster }, foreignKeyDetail(foreign, native().versions().rbd), e.nativeOp);
}

/** @internal Check `options`, create a librados client and connect it (Cluster.connect wraps the result). */
export async function connectNative(options?: ConnectOptions): Promise<{ handle: NativeCluster; clusterName: string; user: string }> {
  const o = checkOptions<ConnectOptions>(options, 'connect options');
  const clusterName = o.clusterName === undefined ? 'ceph' : checkName(o.clusterName, 'clusterName');
  const clientId = o.clientId === undefined ? 'admin' : checkName(o.clientId, 'clientId');
  const timeoutMs = o.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : checkInt(o.timeoutMs, 'timeoutMs', 1, 2 ** 31);
  const config: Array<[string, string]> = [];
  if (o.monHost !== undefined) config.push(['mon_host', checkName(o.monHost, 'monHost')]);
  if (o.keyring !== undefined) config.push(['keyring', checkName(o.keyring, 'keyring')]);
  if (o.key !== undefined) config.push(['key', checkName(o.key, 'key')]);
  if (o.config !== undefined) {
    const extra = checkOptions<Record<string, unknown>>(o.config, 'config');
    for (const [k, v] of Object.entries(extra)) {
      checkName(k, 'config key');
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw new TypeError(`config.${k} must be a string, number or boolean`);
      }
      config.push([k, checkString(String(v), `config.${k}`)]);
    }
  }
  config.push(['client_mount_timeout', String(Math.max(1, Math.ceil(timeoutMs / 1000)))]);
  if (o.operationTimeoutMs !== undefined) {
    const s = String(Math.max(1, Math.ceil(checkInt(o.operationTimeoutMs, 'operationTimeoutMs', 1, 2 ** 31) / 1000)));
    config.push(['rados_mon_op_timeout', s], ['rados_osd_op_timeout', s]);
  }
  let confPath: string | null | undefined;
  if (o.confPath !== undefined) confPath = checkName(o.confPath, 'confPath');
  else if (o.monHost === undefined) confPath = null;

  const user = `client.${clientId}`;
  const n = new (native().Cluster)();
  try {
    await n.connect({ clusterName, name: user, confPath, config });
  } catch (err) {
    throw await explainConnect(fromNative(err, { op: 'connect', cluster: clusterName }), err, config, clusterName);
  }
  return { handle: n, clusterName, user };
}
