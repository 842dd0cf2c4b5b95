/**
 * Issue #15 row 4: capacity and maintenance — pool.imageStats() (`rbd pool stats`), image.du() (`rbd du`),
 * sparsify, deep copy, copy with a sparse size, object-map rebuild, cache invalidation, and the new stat() fields
 * (op features, access / modify timestamps). Oracles: the rbd CLI (`--format json`) and python3-rbd.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { Cluster, InvalidArgument, type DiskUsage, type Image, type Pool } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

const run = promisify(execFile);
let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;
const OBJ = 4 * MiB;
const FAST = ['layering', 'exclusive-lock', 'object-map', 'fast-diff'];

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
});
afterAll(async () => {
  await cluster.close();
});

async function withImage<T>(features: string[], size: number, fn: (image: Image, name: string) => Promise<T>): Promise<T> {
  const name = uniq('mnt');
  await pool.createImage(name, size, { features });
  try {
    const image = await pool.openImage(name);
    try {
      return await fn(image, name);
    } finally {
      await image.close();
    }
  } finally {
    await removeWithSnaps(pool, name);
  }
}

async function removeWithSnaps(p: Pool, name: string): Promise<void> {
  {
    await using img = await p.openImage(name);
    for (const s of await img.snapshots.list()) {
      if (s.protected) await img.snapshots.unprotect(s.name);
      await img.snapshots.remove(s.name);
    }
  }
  await p.removeImage(name);
}

const rbdJson = async <T>(args: string[]): Promise<T> => JSON.parse(await lab.rbd('site-a', [...args, '--format', 'json'])) as T;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface CliDu {
  images: Array<{ name: string; id: string; snapshot?: string; snapshot_id?: number; provisioned_size: number; used_size: number }>;
}
/** USED of `rbd du <image>`, snapshots included (the JSON of one image has no totals: the rows added up). */
async function cliUsed(name: string): Promise<number> {
  return (await rbdJson<CliDu>(['du', `${lab.pool}/${name}`])).images.reduce((n, i) => n + i.used_size, 0);
}
/** The SDK's du() as rbd du's JSON rows. */
function asCli(name: string, id: string, du: DiskUsage) {
  return du.entries.map((e) => ({
    name,
    id,
    ...(e.snapshot === null ? {} : { snapshot: e.snapshot, snapshot_id: e.snapshotId }),
    provisioned_size: e.provisioned,
    used_size: e.used,
  }));
}

describe('pool.imageStats() (rbd pool stats)', () => {
  test('images, provisioned bytes, snapshots and the trash agree with rbd pool stats, in a namespace of their own', async () => {
    const ns = uniq('ns');
    await pool.namespaces.create(ns);
    const p = await cluster.openPool(lab.pool, { namespace: ns });
    try {
      expect(await p.imageStats()).toEqual({
        images: 0,
        provisionedBytes: 0,
        maxProvisionedBytes: 0,
        snapshots: 0,
        trash: { images: 0, provisionedBytes: 0, maxProvisionedBytes: 0, snapshots: 0 },
      });
      await p.createImage('a', 4 * MiB);
      await p.createImage('b', 8 * MiB);
      await p.createImage('t', 2 * MiB);
      try {
        {
          await using a = await p.openImage('a');
          await a.snapshots.create('s1');
          await a.resize(2 * MiB, { allowShrink: true });
        }
        await p.trash.move('t');
        const s = await p.imageStats();
        expect(s).toEqual({
          images: 2,
          provisionedBytes: 10 * MiB, // a at 2 MiB + b
          maxProvisionedBytes: 12 * MiB, // each image at its largest, head or snapshot: a's snapshot at 4 MiB + b
          snapshots: 1,
          trash: { images: 1, provisionedBytes: 2 * MiB, maxProvisionedBytes: 2 * MiB, snapshots: 0 },
        });
        // python-rbd's pool_stats_get names all eight figures; the CLI's JSON 'provisioned_bytes' is the max one.
        const { stdout } = await run('/usr/bin/python3', [
          '-c',
          `import json, rados, rbd, sys
with rados.Rados(conffile=sys.argv[1]) as c:
    with c.open_ioctx(sys.argv[2]) as io:
        io.set_namespace(sys.argv[3])
        print(json.dumps(rbd.RBD().pool_stats_get(io)))`,
          lab.site('site-a').confPath,
          lab.pool,
          ns,
        ]);
        expect(JSON.parse(stdout)).toEqual({
          image_count: s.images,
          image_provisioned_bytes: s.provisionedBytes,
          image_max_provisioned_bytes: s.maxProvisionedBytes,
          image_snap_count: s.snapshots,
          trash_count: s.trash.images,
          trash_provisioned_bytes: s.trash.provisionedBytes,
          trash_max_provisioned_bytes: s.trash.maxProvisionedBytes,
          trash_snap_count: s.trash.snapshots,
        });
        const cli = await rbdJson<{ images: Record<string, number>; trash: Record<string, number> }>(['pool', 'stats', `${lab.pool}/${ns}`]);
        expect(cli).toEqual({
          images: { count: s.images, provisioned_bytes: s.maxProvisionedBytes, snap_count: s.snapshots },
          trash: { count: s.trash.images, provisioned_bytes: s.trash.maxProvisionedBytes, snap_count: s.trash.snapshots },
        });
      } finally {
        for (const e of await p.trash.list()) await p.trash.remove(e.id, { force: true });
        await removeWithSnaps(p, 'a').catch(() => undefined);
        await p.removeImage('b').catch(() => undefined);
        await p.removeImage('t').catch(() => undefined);
      }
      expect(await p.imageStats()).toMatchObject({ images: 0, trash: { images: 0 } });
    } finally {
      await p.close();
      await pool.namespaces.remove(ns);
    }
  }, 120_000);
});

describe('image.du() (rbd du)', () => {
  test.each([
    ['with fast-diff', FAST, true],
    ['without an object map', ['layering'], false],
  ])('%s: per snapshot and head, provisioned and used as rbd du reports them', async (_label, features, fast) => {
    await withImage(features, 16 * MiB, async (image, name) => {
      await image.write(Buffer.alloc(4096, 1), 0); // object 0
      await image.snapshots.create('s1');
      await image.write(Buffer.alloc(4096, 2), OBJ + 10); // object 1
      await image.write(Buffer.alloc(4096, 3), 2 * OBJ); // object 2
      await image.snapshots.create('s2');
      await image.resize(20 * MiB);
      await image.write(Buffer.alloc(4096, 4), 0); // object 0 again, after s2
      await image.flush();
      const du = await image.du();
      expect(du.fastDiff).toBe(fast);
      expect(du.entries.map((e) => [e.snapshot, e.provisioned, e.used])).toEqual([
        ['s1', 16 * MiB, OBJ],
        ['s2', 16 * MiB, 2 * OBJ],
        [null, 20 * MiB, OBJ],
      ]);
      expect(du.used).toBe(4 * OBJ);
      expect(du.provisioned).toBe(20 * MiB);
      const cli = await rbdJson<CliDu>(['du', `${lab.pool}/${name}`]);
      expect(asCli(name, (await image.stat()).id, du)).toEqual(cli.images);
      expect(du.used).toBe(await cliUsed(name));
    });
  }, 60_000);
});

describe('sparsify, copy with a sparse size, deep copy', () => {
  test('sparsify deallocates an object written with zeros (rbd du used drops), reporting progress', async () => {
    await withImage(FAST, 3 * OBJ, async (image, name) => {
      await image.write(Buffer.alloc(OBJ), 0); // a whole object of explicit zeros
      await image.write(Buffer.alloc(4096, 7), OBJ); // real data in object 1
      await image.flush();
      expect(await cliUsed(name)).toBe(2 * OBJ);
      expect((await image.du()).used).toBe(2 * OBJ);
      const calls: Array<[number, number]> = [];
      await image.sparsify({ sparseSize: 4096, onProgress: (d, t) => calls.push([d, t]) });
      expect(await cliUsed(name)).toBe(OBJ);
      expect((await image.du()).used).toBe(OBJ);
      expect(calls.length).toBeGreaterThan(0);
      for (const [d, t] of calls) expect(d).toBeLessThanOrEqual(t);
      expect((await image.read(OBJ, 4096)).equals(Buffer.alloc(4096, 7))).toBe(true);
      await expect(image.sparsify({ sparseSize: 5000 })).rejects.toBeInstanceOf(RangeError);
      await expect(image.sparsify({ sparseSize: 1024 })).rejects.toBeInstanceOf(RangeError);
    });
  });

  test('copy with sparseSize leaves zeroed runs unwritten in the copy; the bytes are the same', async () => {
    await withImage(['layering'], 3 * OBJ, async (image) => {
      await image.write(Buffer.alloc(OBJ), 0);
      await image.write(Buffer.alloc(8192, 5), OBJ + 4096);
      const dest = uniq('sparsecopy');
      const calls: number[] = [];
      await image.copy(pool, dest, { sparseSize: 4096, onProgress: (d) => calls.push(d) });
      try {
        expect(await cliUsed(dest)).toBe(OBJ); // only object 1: the zero object was not written
        await using c = await pool.openImage(dest);
        expect((await c.du()).used).toBe(OBJ);
        expect(sha(await c.read(0, 3 * OBJ))).toBe(sha(await image.read(0, 3 * OBJ)));
        expect(calls.length).toBeGreaterThan(0);
      } finally {
        await pool.removeImage(dest);
      }
    });
  });

  test('deepCopy keeps the snapshots (rbd snap ls agrees) with their data, reporting progress', async () => {
    await withImage(['layering', 'exclusive-lock'], 2 * OBJ, async (image) => {
      await image.write(Buffer.alloc(4096, 1), 0);
      await image.snapshots.create('one');
      await image.write(Buffer.alloc(4096, 2), 0);
      await image.snapshots.create('two');
      await image.write(Buffer.alloc(4096, 3), 0);
      const dest = uniq('deep');
      const calls: Array<[number, number]> = [];
      await image.deepCopy(pool, dest, { features: ['layering'], onProgress: (d, t) => calls.push([d, t]) });
      try {
        const snaps = await rbdJson<Array<{ name: string; size: number }>>(['snap', 'ls', `${lab.pool}/${dest}`]);
        expect(snaps.map((s) => s.name)).toEqual(['one', 'two']);
        for (const [snap, byte] of [['one', 1], ['two', 2]] as const) {
          await using at = await pool.openImage(dest, { snapshot: snap });
          expect((await at.read(0, 4096)).equals(Buffer.alloc(4096, byte))).toBe(true);
        }
        await using head = await pool.openImage(dest);
        expect((await head.read(0, 4096)).equals(Buffer.alloc(4096, 3))).toBe(true);
        expect((await head.stat()).features).toEqual(['layering']);
        expect(calls.length).toBeGreaterThan(0);
        for (const [d, t] of calls) expect(d).toBeLessThanOrEqual(t);
      } finally {
        await removeWithSnaps(pool, dest);
      }
    });
  });
});

describe('object map, cache, stat()', () => {
  test('rebuildObjectMap reports progress and leaves a valid map (rbd object-map check passes); InvalidArgument without one', async () => {
    await withImage(FAST, 3 * OBJ, async (image, name) => {
      await image.write(Buffer.alloc(4096, 1), OBJ);
      const calls: number[] = [];
      await image.rebuildObjectMap({ onProgress: (d) => calls.push(d) });
      expect(calls.length).toBeGreaterThan(0);
      expect((await image.stat()).flags).toBe(0);
      await lab.rbd('site-a', ['object-map', 'check', `${lab.pool}/${name}`]);
      expect((await rbdJson<{ flags: string[] }>(['info', `${lab.pool}/${name}`])).flags).toEqual([]);
    });
    await withImage(['layering'], OBJ, async (image) => {
      await expect(image.rebuildObjectMap()).rejects.toBeInstanceOf(InvalidArgument);
    });
  });

  test('invalidateCache: after it, this handle reads what python-rbd wrote meanwhile', async () => {
    await withImage(['layering'], OBJ, async (image, name) => {
      await image.write(Buffer.alloc(4096, 1), 0);
      expect((await image.read(0, 4096))[0]).toBe(1);
      await run('/usr/bin/python3', [
        '-c',
        `import rados, rbd, sys
with rados.Rados(conffile=sys.argv[1]) as c:
    with c.open_ioctx(sys.argv[2]) as io:
        with rbd.Image(io, sys.argv[3]) as img:
            img.write(b'\\x09' * 4096, 0)`,
        lab.site('site-a').confPath,
        lab.pool,
        name,
      ]);
      await image.invalidateCache();
      expect((await image.read(0, 4096)).equals(Buffer.alloc(4096, 9))).toBe(true);
    });
  });

  test('stat() has op features (clone-parent / clone-child) and access / modify timestamps, as rbd info shows them', async () => {
    await withImage(['layering'], OBJ, async (parent, parentName) => {
      await parent.write(Buffer.alloc(4096, 1), 0);
      await parent.snapshots.create('s');
      const child = uniq('opf');
      await parent.snapshots.clone('s', pool, child, { cloneFormat: 2 });
      try {
        const info = (n: string) => rbdJson<{ op_features: string[]; access_timestamp: string; modify_timestamp: string }>(['info', `${lab.pool}/${n}`]);
        const p = await parent.stat();
        expect(p.opFeatures).toEqual((await info(parentName)).op_features);
        expect(p.opFeatures).toContain('clone-parent');
        await using c = await pool.openImage(child);
        const cs = await c.stat();
        const ci = await info(child);
        expect(cs.opFeatures).toEqual(ci.op_features);
        expect(cs.opFeatures).toContain('clone-child');
        expect(cs.group).toBeNull();
        // rbd info prints the timestamps to the second, in local time.
        expect(Math.floor(cs.accessedAt.getTime() / 1000)).toBe(Date.parse(ci.access_timestamp) / 1000);
        expect(Math.floor(cs.modifiedAt.getTime() / 1000)).toBe(Date.parse(ci.modify_timestamp) / 1000);
        expect(cs.opFeatureBits).toBeGreaterThan(0);
      } finally {
        await pool.removeImage(child);
      }
    });
  });
});
