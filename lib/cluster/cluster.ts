/**
 * Cluster: a connection to one Ceph cluster through librados. Several may be
 * open in one process at once (mirroring needs two).
 */
import { native, type NativeBinding, type NativeCluster } from '../core/native';
import { constants } from 'node:os';
import { connectNative, type ConnectOptions } from './connect';
import { fromNative, MgrModuleUnavailable, rbdError, RbdError, type ErrorContext } from '../core/errors';
import { Pool } from '../pool/pool';
import { Resource } from '../core/resource';
import { checkInt, checkName, checkOptions, checkString } from '../core/validate';

export type { ConnectOptions } from './connect';

const { EINVAL } = constants.errno;

/** Options of `cluster.openPool()`. */
export interface OpenPoolOptions {
  /** RADOS namespace within the pool. Default: the default namespace. */
  namespace?: string;
}

/** The librados and librbd versions in use (`Cluster.versions()`). */
export interface LibraryVersions {
  /** librados version loaded at run time, e.g. '3.0.0'. */
  rados: string;
  /** librbd version loaded at run time, e.g. '1.16.0'. */
  rbd: string;
  /** librbd version the addon was compiled against. */
  rbdHeader: string;
}

/** Cluster-wide usage, as `ceph df` totals it. */
export interface ClusterStats {
  /** Raw capacity in KiB. */
  kb: number;
  /** Raw KiB used. */
  kbUsed: number;
  /** Raw KiB available. */
  kbAvail: number;
  /** Objects stored, in all pools. */
  numObjects: number;
}

/** What a monitor or manager command answered. */
export interface CommandResult {
  /** The command's output (often JSON when `format: 'json'` was asked for). */
  output: string;
  /** The status line the CLI prints on stderr. */
  status: string;
}

const admin = (): NativeBinding['admin'] => native().admin;

/**
 * A connection to a Ceph cluster (a librados client): `Cluster.connect()`,
 * then pools, cluster-wide usage, configuration and monitor/manager commands.
 * Close it (or `await using` it) when done; closing it closes its pools.
 */
export class Cluster extends Resource {
  protected readonly kind = 'cluster';
  readonly #native: NativeCluster;
  /** The cluster name given at connect time ('ceph' by default). */
  readonly name: string;
  /** The entity this connection authenticated as, e.g. 'client.admin'. */
  readonly user: string;

  private constructor(n: NativeCluster, name: string, user: string) {
    super();
    this.#native = n;
    this.name = name;
    this.user = user;
  }

  /** Versions of librados and librbd. */
  static versions(): LibraryVersions {
    return native().versions();
  }

  /** Connect to a cluster. Rejects with an RbdError (Timeout, PermissionDenied, ...) on failure. */
  static async connect(options?: ConnectOptions): Promise<Cluster> {
    const { handle, clusterName, user } = await connectNative(options);
    return new Cluster(handle, clusterName, user);
  }

  protected context(op: string): ErrorContext {
    return { op, cluster: this.name };
  }

  protected closeNative(): Promise<void> {
    return this.#native.close();
  }

  /** The cluster's fsid. */
  fsid(): string {
    return this.runSync('fsid', () => this.#native.fsid());
  }

  /** This client's global instance id (the `client.<id>` the cluster sees). */
  instanceId(): number {
    return this.runSync('instanceId', () => this.#native.instanceId());
  }

  /** A configuration option of this client, as librados has it now (`ceph config get`-style value string). */
  getConfig(option: string): string {
    checkName(option, 'option');
    return this.runSync('getConfig', () => this.#native.confGet(option));
  }

  /** Change a configuration option of this client (not of the cluster). */
  setConfig(option: string, value: string | number | boolean): void {
    checkName(option, 'option');
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new TypeError('value must be a string, number or boolean');
    }
    const v = checkString(String(value), 'value');
    this.runSync('setConfig', () => this.#native.confSet(option, v));
  }

  /** Names of the pools in the cluster (like `ceph osd pool ls`). */
  async listPools(): Promise<string[]> {
    return this.run('listPools', () => admin().listPools(this.#native));
  }

  /** Create a replicated pool with the cluster's default settings. Rejects with an EEXIST RbdError if it exists. */
  async createPool(name: string): Promise<void> {
    checkName(name, 'pool name');
    await this.run('createPool', () => admin().createPool(this.#native, name), { pool: name });
  }

  /**
   * Delete a pool and everything in it. The monitors refuse (PermissionDenied,
   * EPERM) unless `mon_allow_pool_delete` is true.
   */
  async deletePool(name: string): Promise<void> {
    checkName(name, 'pool name');
    await this.run('deletePool', () => admin().deletePool(this.#native, name), { pool: name, subject: 'pool' });
  }

  /** The id of a pool; rejects with PoolNotFound. */
  async poolId(name: string): Promise<number> {
    checkName(name, 'pool name');
    return this.run('poolId', () => admin().lookupPool(this.#native, name), { pool: name, subject: 'pool' });
  }

  /** Whether a pool exists. */
  async poolExists(name: string): Promise<boolean> {
    try {
      await this.poolId(name);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Cluster-wide usage totals. */
  async stats(): Promise<ClusterStats> {
    return this.run('stats', () => admin().clusterStat(this.#native));
  }

  /**
   * Send a command to the monitors, in the JSON form the ceph CLI sends
   * (e.g. `{ prefix: 'osd pool ls', format: 'json' }`). Rejects with an
   * RbdError carrying the monitor's status text when the command fails.
   */
  async monCommand(command: Readonly<Record<string, unknown>>, input?: string): Promise<CommandResult> {
    return this.#command('monCommand', command, input, (c, i) => admin().monCommand(this.#native, c, i));
  }

  /** Send a command to the active manager (e.g. the rbd_support module's commands). */
  async mgrCommand(command: Readonly<Record<string, unknown>>, input?: string): Promise<CommandResult> {
    return this.#command('mgrCommand', command, input, (c, i) => admin().mgrCommand(this.#native, c, i));
  }

  async #command(
    op: string,
    command: Readonly<Record<string, unknown>>,
    input: string | undefined,
    send: (cmd: string, input?: string) => Promise<{ rc: number; output: string; status: string }>,
  ): Promise<CommandResult> {
    checkOptions<Record<string, unknown>>(command, 'command');
    if (typeof command.prefix !== 'string' || command.prefix === '') {
      throw new TypeError('command.prefix must be a non-empty string');
    }
    const cmd = JSON.stringify(command);
    if (input !== undefined) checkString(input, 'input');
    const r = await this.run(op, () => send(cmd, input));
    if (r.rc < 0) {
      const ctx = { op: `${op}(${command.prefix})` };
      // The manager answers a command of a module it has not loaded with EINVAL
      // "No handler found for '<prefix>'": the same errno as a bad argument, so
      // the class says which it is.
      if (op === 'mgrCommand' && -r.rc === EINVAL && /^No handler found for /.test(r.status)) {
        const e = new MgrModuleUnavailable(
          EINVAL,
          ctx,
          `${r.status}: the manager module that serves it is not loaded on this cluster (see \`ceph mgr module ls\` ` +
            'and health MGR_MODULE_DEPENDENCY; mirror-snapshot schedules need rbd_support, which Debian 13\'s ' +
            'ceph-mgr 18.2.7 cannot load)',
        );
        e.command = command.prefix;
        throw e;
      }
      throw rbdError(-r.rc, ctx, r.status || undefined);
    }
    return { output: r.output, status: r.status };
  }

  /** Open an I/O context on a pool. Rejects with PoolNotFound if there is no such pool. */
  async openPool(name: string, options?: OpenPoolOptions): Promise<Pool> {
    checkName(name, 'pool name');
    const o = checkOptions<OpenPoolOptions>(options);
    const ns = o.namespace === undefined ? '' : checkString(o.namespace, 'namespace');
    // The child is made inside the in-flight call, so a concurrent close() sees it.
    return this.run('openPool', async () => Pool._create(this, await this.#native.openPool(name, ns), name, ns), {
      pool: name,
      namespace: ns,
      subject: 'pool',
    });
  }
}
