/**
 * The first vertical slice on the live two-site lab: connect → openPool →
 * create / list / open / stat / remove images → close, its error paths and
 * lifecycle rules. The rbd CLI is the oracle for what the SDK reports.
 */
import * as net from 'node:net';
import {
  Cluster,
  HandleClosed,
  ImageExists,
  ImageNotFound,
  PermissionDenied,
  PoolNotFound,
  RbdError,
  Timeout,
} from '../../../lib';
import type { Lab, LabSiteInfo } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

let lab: Lab;
let siteA: LabSiteInfo;
let siteB: LabSiteInfo;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;

beforeAll(async () => {
  lab = await getLab();
  siteA = lab.site('site-a');
  siteB = lab.site('site-b');
});

async function rbdJson<T>(site: string, args: string[]): Promise<T> {
  return JSON.parse(await lab.rbd(site, [...args, '--format', 'json'])) as T;
}

describe('Cluster.connect', () => {
  test('connects with a conf file and reports the fsid the ceph CLI reports', async () => {
    await using cluster = await Cluster.connect({ confPath: siteA.confPath });
    const cliFsid = (await lab.ceph('site-a', ['fsid'])).trim();
    expect(cluster.fsid()).toBe(cliFsid);
    expect(cluster.fsid()).toBe(siteA.fsid);
    expect(cluster.user).toBe('client.admin');
  });

  test('connects with monHost and key alone, and to both sites at once', async () => {
    await using a = await Cluster.connect({ confPath: siteA.confPath });
    await using b = await Cluster.connect({ monHost: siteB.monHost, key: siteB.key, clientId: siteB.clientId });
    expect(b.fsid()).toBe(siteB.fsid);
    expect(a.fsid()).not.toBe(b.fsid());
  });

  test('connects with monHost and a keyring file', async () => {
    await using c = await Cluster.connect({ monHost: siteA.monHost, keyring: siteA.keyringPath });
    expect(c.fsid()).toBe(siteA.fsid);
  });

  test('a wrong key is rejected with PermissionDenied', async () => {
    // A well-formed secret that is not the admin's.
    const wrong = Buffer.alloc(Buffer.from(siteA.key, 'base64').length, 7);
    const bad = Buffer.from(siteA.key, 'base64');
    bad.set(wrong.subarray(12), 12);
    const err = await Cluster.connect({ monHost: siteA.monHost, key: bad.toString('base64'), timeoutMs: 10_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PermissionDenied);
    expect((err as RbdError).op).toBe('connect');
    expect(['EACCES', 'EPERM']).toContain((err as RbdError).code);
    expect((err as RbdError).message).not.toContain(bad.toString('base64'));
  });

  test('an unreachable monitor fails with Timeout within the configured timeout', async () => {
    // A port nothing listens on: bind one, note it, close it.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const started = Date.now();
    const err = await Cluster.connect({ monHost: `v2:127.0.0.1:${port}`, key: siteA.key, timeoutMs: 2000 }).catch(
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(Timeout);
    expect((err as RbdError).code).toBe('ETIMEDOUT');
    expect((err as RbdError).errno).toBe(110);
    // Bounded: the 2 s timeout plus slack, nowhere near librados' default of 300 s.
    expect(elapsed).toBeLessThan(20_000);
  });

  test('bad options are TypeError / RangeError before any connection attempt', async () => {
    await expect(Cluster.connect({ confPath: 42 as unknown as string })).rejects.toThrow(TypeError);
    await expect(Cluster.connect({ clientId: '' })).rejects.toThrow(RangeError);
    await expect(Cluster.connect({ timeoutMs: -5 })).rejects.toThrow(RangeError);
    await expect(Cluster.connect({ config: { x: {} as unknown as string } })).rejects.toThrow(TypeError);
    await expect(Cluster.connect('conf' as unknown as object)).rejects.toThrow(TypeError);
  });

  test('a missing conf file is an RbdError naming connect', async () => {
    const err = await Cluster.connect({ confPath: '/nonexistent/ceph.conf' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RbdError);
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).nativeOp).toBe('rados_conf_read_file');
  });

  test('versions reports librados and librbd', () => {
    const v = Cluster.versions();
    expect(v.rbd).toMatch(/^1\.\d+\.\d+$/);
    expect(v.rados).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('Pool and Image', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.connect({ confPath: siteA.confPath });
  });
  afterAll(async () => {
    await cluster.close();
  });

  test('openPool on a missing pool rejects with PoolNotFound naming the pool', async () => {
    const err = await cluster.openPool('no-such-pool').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolNotFound);
    expect((err as RbdError).pool).toBe('no-such-pool');
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).message).toContain("pool 'no-such-pool'");
  });

  test('create, list, open, stat and remove an image; rbd info agrees', async () => {
    const name = uniq('img');
    await using pool = await cluster.openPool(lab.pool);
    await pool.createImage(name, 64 * 1024 * 1024, { order: 20, features: ['layering', 'exclusive-lock'] });
    expect(await pool.listImages()).toContain(name);

    const st = await (async () => {
      await using image = await pool.openImage(name);
      return image.stat();
    })();
    expect(st.name).toBe(name);
    expect(st.size).toBe(64 * 1024 * 1024);
    expect(st.order).toBe(20);
    expect(st.objectSize).toBe(1 << 20);
    expect(st.numObjects).toBe(64);
    expect(st.features).toEqual(['layering', 'exclusive-lock']);
    expect(st.dataPoolId).toBeNull();
    expect(Math.abs(st.createdAt.getTime() - Date.now())).toBeLessThan(10 * 60_000);

    const info = await rbdJson<{
      name: string;
      id: string;
      size: number;
      order: number;
      objects: number;
      block_name_prefix: string;
      features: string[];
    }>('site-a', ['info', `${lab.pool}/${name}`]);
    expect(info.name).toBe(st.name);
    expect(info.id).toBe(st.id);
    expect(info.size).toBe(st.size);
    expect(info.order).toBe(st.order);
    expect(info.objects).toBe(st.numObjects);
    expect(info.block_name_prefix).toBe(st.blockNamePrefix);
    expect(info.features).toEqual(st.features);

    const specs = await pool.listImageSpecs();
    expect(specs.find((s) => s.name === name)?.id).toBe(st.id);

    await pool.removeImage(name);
    expect(await pool.listImages()).not.toContain(name);
    const ls = await rbdJson<string[]>('site-a', ['ls', lab.pool]);
    expect(ls).not.toContain(name);
  });

  test('an image the rbd CLI creates reads back the same through the SDK', async () => {
    const name = uniq('cli');
    await lab.rbd('site-a', ['create', '--size', '32M', '--image-feature', 'layering,exclusive-lock,journaling', `${lab.pool}/${name}`]);
    await using pool = await cluster.openPool(lab.pool);
    const info = await rbdJson<{ id: string; size: number; features: string[] }>('site-a', ['info', `${lab.pool}/${name}`]);
    {
      await using image = await pool.openImage(name);
      const st = await image.stat();
      expect(st.size).toBe(32 * 1024 * 1024);
      expect(st.id).toBe(info.id);
      expect(st.features).toEqual(info.features);
      expect(st.features).toContain('journaling');
    }
    {
      await using byId = await pool.openImageById(info.id, { readOnly: true });
      expect((await byId.stat()).name).toBe(name);
    }
    await pool.removeImage(name);
  });

  test('missing image: open and remove reject with ImageNotFound naming pool and image', async () => {
    await using pool = await cluster.openPool(lab.pool);
    for (const attempt of [() => pool.openImage('no-such-image'), () => pool.removeImage('no-such-image')]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageNotFound);
      expect((err as RbdError).image).toBe('no-such-image');
      expect((err as RbdError).pool).toBe(lab.pool);
    }
  });

  test('creating an existing image rejects with ImageExists', async () => {
    const name = uniq('dup');
    await using pool = await cluster.openPool(lab.pool);
    await pool.createImage(name, 1 << 20);
    await expect(pool.createImage(name, 1 << 20)).rejects.toBeInstanceOf(ImageExists);
    await pool.removeImage(name);
  });

  test('bad arguments throw TypeError / RangeError and reach no native call', async () => {
    await using pool = await cluster.openPool(lab.pool);
    await expect(pool.createImage('', 1)).rejects.toThrow(RangeError);
    await expect(pool.createImage('a\0b', 1)).rejects.toThrow(RangeError);
    await expect(pool.createImage('x', -1)).rejects.toThrow(RangeError);
    await expect(pool.createImage('x', 1n << 64n)).rejects.toThrow(RangeError);
    await expect(pool.createImage('x', '1' as unknown as number)).rejects.toThrow(TypeError);
    await expect(pool.createImage('x', 1, { features: ['journalling'] })).rejects.toThrow(TypeError);
    await expect(pool.createImage('x', 1, { order: 40 })).rejects.toThrow(RangeError);
    await expect(pool.createImage('x', 1, { objectSize: 5000 })).rejects.toThrow(RangeError);
    await expect(pool.openImage(7 as unknown as string)).rejects.toThrow(TypeError);
    await expect(cluster.openPool(undefined as unknown as string)).rejects.toThrow(TypeError);
    expect(await pool.listImages()).not.toContain('x');
  });
});

describe('lifecycle', () => {
  test('close is idempotent and later calls reject with HandleClosed (EBADF)', async () => {
    const cluster = await Cluster.connect({ confPath: siteA.confPath });
    const pool = await cluster.openPool(lab.pool);
    const p1 = pool.close();
    const p2 = pool.close();
    expect(p1).toBe(p2);
    await p1;
    await pool.close();
    expect(pool.state).toBe('closed');
    const err = await pool.listImages().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandleClosed);
    expect((err as RbdError).code).toBe('EBADF');
    await cluster.close();
    await cluster.close();
    expect(() => cluster.fsid()).toThrow(HandleClosed);
    await expect(cluster.openPool(lab.pool)).rejects.toMatchObject({ code: 'EBADF' });
  });

  test('closing a cluster closes its pools and images first', async () => {
    const name = uniq('life');
    const cluster = await Cluster.connect({ confPath: siteA.confPath });
    const pool = await cluster.openPool(lab.pool);
    await pool.createImage(name, 1 << 20);
    const image = await pool.openImage(name);
    await cluster.close();
    expect(image.state).toBe('closed');
    expect(pool.state).toBe('closed');
    await expect(image.stat()).rejects.toMatchObject({ code: 'EBADF', image: name });
    // The image was really closed: another client may remove it.
    await lab.rbd('site-a', ['rm', `${lab.pool}/${name}`]);
  });

  test('close waits for in-flight calls, which complete normally', async () => {
    const name = uniq('inflight');
    const cluster = await Cluster.connect({ confPath: siteA.confPath });
    const pool = await cluster.openPool(lab.pool);
    await pool.createImage(name, 1 << 20);
    const image = await pool.openImage(name);
    const stats = Array.from({ length: 20 }, () => image.stat());
    const listing = pool.listImages();
    const closing = cluster.close();
    const results = await Promise.all(stats);
    expect(results.every((s) => s.name === name)).toBe(true);
    expect(await listing).toContain(name);
    await closing;
    expect(image.state).toBe('closed');
    await expect(image.stat()).rejects.toBeInstanceOf(HandleClosed);
    await lab.rbd('site-a', ['rm', `${lab.pool}/${name}`]);
  });

  test('an open image holds the exclusive lock until closed', async () => {
    const name = uniq('lock');
    await using cluster = await Cluster.connect({ confPath: siteA.confPath });
    await using pool = await cluster.openPool(lab.pool);
    await pool.createImage(name, 1 << 20, { features: ['layering', 'exclusive-lock'] });
    const image = await pool.openImage(name);
    // Removing an image that is open elsewhere fails: it has a watcher.
    await expect(lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${name}`])).rejects.toThrow();
    await image.close();
    await pool.removeImage(name);
  });

  test('await using closes handles at the end of the scope', async () => {
    let pool;
    {
      await using cluster = await Cluster.connect({ confPath: siteA.confPath });
      pool = await cluster.openPool(lab.pool);
      expect(pool.state).toBe('open');
    }
    expect(pool.state).toBe('closed');
  });
});
