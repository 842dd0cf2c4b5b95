/** Cluster-wide calls: configuration, pools, usage, monitor commands — checked against the ceph CLI. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Cluster, PermissionDenied, PoolNotFound, RbdError, type Pool } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

let lab: Lab;
let cluster: Cluster;

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
});
afterAll(async () => {
  await cluster.close();
});

describe('configuration', () => {
  test('getConfig reads what the conf file and connect options set', async () => {
    expect(cluster.getConfig('mon_host')).toContain(lab.site('site-a').monHost.replace(/^v2:/, ''));
    await using c = await Cluster.connect({ confPath: lab.site('site-a').confPath, config: { rbd_cache: false } });
    expect(c.getConfig('rbd_cache')).toBe('false');
  });

  test('setConfig changes this client only', async () => {
    await using c = await Cluster.connect({ confPath: lab.site('site-a').confPath });
    c.setConfig('rbd_default_order', 20);
    expect(c.getConfig('rbd_default_order')).toBe('20');
    expect(cluster.getConfig('rbd_default_order')).toBe('22');
  });

  test('an unknown option is an RbdError ENOENT, a bad value EINVAL', () => {
    expect(() => cluster.getConfig('no_such_option')).toThrow(RbdError);
    expect(() => cluster.getConfig('no_such_option')).toThrow(/ENOENT/);
    expect(() => cluster.setConfig('rbd_default_order', 'not-a-number')).toThrow(/EINVAL/);
    expect(() => cluster.setConfig('', 'x')).toThrow(RangeError);
  });
});

describe('pools', () => {
  test('listPools matches `ceph osd pool ls`', async () => {
    // Other suites create and delete pools meanwhile, through other connections (so
    // this one's osdmap is behind: listPools fetches the latest first): compare a
    // listing of ours taken between two of the CLI's that agree (bounded retries).
    const cliPools = async () => (JSON.parse(await lab.ceph('site-a', ['osd', 'pool', 'ls', '--format', 'json'])) as string[]).sort();
    let mine: string[] = [];
    let theirs: string[] = [];
    for (let i = 0; i < 10; i++) {
      const before = await cliPools();
      mine = (await cluster.listPools()).sort();
      theirs = await cliPools();
      if (JSON.stringify(before) === JSON.stringify(theirs)) break;
    }
    expect(mine).toEqual(theirs);
    expect(mine).toContain(lab.pool);
  });

  test('create, look up, init, use and delete a pool', async () => {
    const name = `pool-${process.pid}`;
    expect(await cluster.poolExists(name)).toBe(false);
    await cluster.createPool(name);
    try {
      expect(await cluster.poolExists(name)).toBe(true);
      const id = await cluster.poolId(name);
      const cli = JSON.parse(await lab.ceph('site-a', ['osd', 'pool', 'ls', 'detail', '--format', 'json'])) as Array<{
        pool_name: string;
        pool_id: number;
        application_metadata: Record<string, unknown>;
      }>;
      const entry = cli.find((p) => p.pool_name === name);
      expect(entry?.pool_id).toBe(id);
      await using pool: Pool = await cluster.openPool(name);
      expect(pool.id()).toBe(id);
      await pool.init();
      const after = JSON.parse(await lab.ceph('site-a', ['osd', 'pool', 'ls', 'detail', '--format', 'json'])) as typeof cli;
      expect(Object.keys(after.find((p) => p.pool_name === name)?.application_metadata ?? {})).toContain('rbd');
      await pool.createImage('x', 1 << 20);
      expect(await pool.listImages()).toEqual(['x']);
      // Pool usage comes from the OSD's periodic stats reports: poll, bounded.
      let stats = await pool.stats();
      for (let i = 0; i < 40 && stats.numObjects === 0; i++) {
        await new Promise((r) => setTimeout(r, 250));
        stats = await pool.stats();
      }
      expect(stats.numObjects).toBeGreaterThan(0);
      expect(stats.numObjectsUnfound).toBe(0);
    } finally {
      await cluster.deletePool(name);
    }
    expect(await cluster.poolExists(name)).toBe(false);
  });

  test('creating an existing pool is EEXIST; a missing one is PoolNotFound', async () => {
    await expect(cluster.createPool(lab.pool)).rejects.toMatchObject({ code: 'EEXIST', pool: lab.pool });
    await expect(cluster.poolId('no-such-pool')).rejects.toBeInstanceOf(PoolNotFound);
    await expect(cluster.deletePool('no-such-pool')).rejects.toBeInstanceOf(PoolNotFound);
  });

  test('cluster stats report the OSD capacity', async () => {
    const s = await cluster.stats();
    expect(s.kb).toBeGreaterThan(0);
    expect(s.kbAvail).toBeLessThanOrEqual(s.kb);
  });
});

describe('monitor and manager commands', () => {
  test('monCommand returns what the ceph CLI returns', async () => {
    const r = await cluster.monCommand({ prefix: 'fsid', format: 'json' });
    expect(JSON.parse(r.output)).toEqual({ fsid: lab.site('site-a').fsid });
  });

  test('a failing command rejects with an RbdError carrying the status text', async () => {
    const err = await cluster.monCommand({ prefix: 'osd pool get', pool: 'no-such-pool', var: 'size' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RbdError);
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).message).toMatch(/no-such-pool/);
  });

  test('mgrCommand reaches the manager', async () => {
    // 'pg stat' is served by the manager, not the monitors.
    const r = await cluster.mgrCommand({ prefix: 'pg stat', format: 'json' });
    expect(JSON.parse(r.output).pg_summary.num_pgs).toBeGreaterThan(0);
  });

  test('a command without a prefix is a TypeError', async () => {
    await expect(cluster.monCommand({} as { prefix: string })).rejects.toThrow(TypeError);
  });
});

// An aes256k key (`ceph-authtool --gen-print-key` of Ceph 20.2.4, the default type there) for
// client.admin: not the lab's key, so it can never authenticate; what matters is how connect fails.
// librados before 19.2.6 / 20.2.4 cannot parse it and only logs "Malformed input": the SDK's error
// must name the key type and the fix. A librados that reads it fails on authentication instead.
describe('a cephx key of a type this librados may not read', () => {
  const AES256K = 'AgB4Xg9rH0wMEiAAQiMPGv+6W2kOXBTPUShhgj7HtqVfKw/cvF/6bUuEq0w=';
  const readsAes256k = Number(Cluster.versions().rbd.split('.')[1]) >= 20; // 20.2.4 in this project's matrix
  let monHost: string;
  let tmp: string;

  beforeAll(async () => {
    const conf = await readFile(lab.site('site-a').confPath, 'utf8');
    monHost = /^mon host = (.+)$/m.exec(conf)?.[1] ?? '';
    expect(monHost).not.toBe('');
    tmp = await mkdtemp(path.join(tmpdir(), 'xrbd-keytype-'));
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function failure(options: Parameters<typeof Cluster.connect>[0]): Promise<RbdError> {
    const c = await Cluster.connect({ ...options, monHost, timeoutMs: 10_000 }).catch((e: unknown) => e);
    if (c instanceof Cluster) {
      await c.close();
      throw new Error('connected with a key that is not the lab key');
    }
    expect(c).toBeInstanceOf(RbdError);
    return c as RbdError;
  }

  test('given as `key`: the error names the key type and the fix (or, where librados reads it, is an auth failure)', async () => {
    const err = await failure({ key: AES256K });
    if (readsAes256k) {
      expect(err).toBeInstanceOf(PermissionDenied);
      expect(err.message).not.toMatch(/aes256k/);
    } else {
      expect(err).toMatchObject({ code: 'EINVAL', op: 'connect', nativeOp: 'rados_connect' });
      expect(err.message).toMatch(/the cephx key given as the `key` option is of type aes256k \(type 2\)/);
      expect(err.message).toMatch(/ceph-authtool --gen-key --key-type aes/);
    }
  });

  test('in a keyring file: the error names the file, the key type and the fix', async () => {
    const keyring = path.join(tmp, 'aes256k.keyring');
    await writeFile(keyring, `[client.admin]\n\tkey = ${AES256K}\n`);
    const err = await failure({ keyring });
    if (readsAes256k) {
      expect(err).toBeInstanceOf(PermissionDenied);
      expect(err.message).not.toMatch(/aes256k/);
    } else {
      expect(err).toMatchObject({ code: 'EIO', op: 'connect', nativeOp: 'rados_connect' });
      expect(err.message).toContain(`the cephx key in keyring ${keyring} is of type aes256k (type 2)`);
      expect(err.message).toMatch(/--key-type aes/);
    }
  });

  test("an aes key that is simply wrong keeps librados' own error, with no word about key types", async () => {
    const err = await failure({ key: 'AQB4Xg9rAF7EGRAA2psYwce78JfTzq8cBnF2nA==' });
    expect(err).toBeInstanceOf(PermissionDenied);
    expect(err.message).not.toMatch(/key type|aes256k/);
  });
});
