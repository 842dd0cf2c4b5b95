/**
 * Issue #15 row 6: vectored I/O (readv / writev), writeZeroes' thick-provision flag, diff's includeParent, clone
 * into a data pool, group snapshot quiesce flags. Oracles: python3-rbd (/usr/bin/python3) and the rbd CLI.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { Cluster, InvalidArgument, type DiffExtent, type Image, type Pool } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

const run = promisify(execFile);
let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
});
afterAll(async () => {
  await cluster.close();
});

/** Run a python3-rbd snippet with `ioctx` open on the lab pool and `args` (JSON); it prints JSON. */
async function py<T>(body: string, args: unknown): Promise<T> {
  const script = `
import json, sys, rados, rbd
args = json.loads(sys.argv[2])
with rados.Rados(conffile=sys.argv[1]) as cluster:
    with cluster.open_ioctx(args['pool']) as ioctx:
${body
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
`;
  const { stdout } = await run('/usr/bin/python3', ['-c', script, lab.site('site-a').confPath, JSON.stringify({ pool: lab.pool, ...(args as object) })], {
    timeout: 60_000,
  });
  return JSON.parse(stdout) as T;
}

async function withImage<T>(features: string[], size: number, fn: (image: Image, name: string) => Promise<T>): Promise<T> {
  const name = uniq('iox');
  await pool.createImage(name, size, { features });
  try {
    const image = await pool.openImage(name);
    try {
      return await fn(image, name);
    } finally {
      await image.close();
    }
  } finally {
    await pool.removeImage(name);
  }
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('readv / writev', () => {
  test('writev writes the Buffers back to back as one I/O; python-rbd reads the same bytes; readv scatters them back', async () => {
    await withImage(['layering'], 4 * MiB, async (image, name) => {
      const parts = [Buffer.alloc(4096, 0xa1), Buffer.alloc(512, 0xb2), Buffer.from('hello vectored world'), Buffer.alloc(8192, 0xc3)];
      const all = Buffer.concat(parts);
      expect(await image.writev(parts, MiB + 100)).toBe(all.length);
      await image.flush();
      const hex = await py<string>(
        `with rbd.Image(ioctx, args['image']) as img:\n    print(json.dumps(img.read(args['off'], args['len']).hex()))`,
        { image: name, off: MiB + 100, len: all.length },
      );
      expect(hex).toBe(all.toString('hex'));

      // readv: scatter into Buffers of other sizes (a Uint8Array among them); one short read at the end of the image.
      const into = [Buffer.alloc(1000), new Uint8Array(3000), Buffer.alloc(all.length - 4000)];
      expect(await image.readv(into, MiB + 100)).toBe(all.length);
      expect(sha(Buffer.concat(into))).toBe(sha(all));
      const tail = [Buffer.alloc(100), Buffer.alloc(100)];
      expect(await image.readv(tail, 4 * MiB - 150)).toBe(150);
    });
  });

  test('a writev past the end is refused (nothing written); bad buffer lists are a TypeError / RangeError', async () => {
    await withImage(['layering'], MiB, async (image) => {
      await expect(image.writev([Buffer.alloc(4096, 1), Buffer.alloc(4096, 2)], MiB - 4096)).rejects.toBeInstanceOf(InvalidArgument);
      expect((await image.read(MiB - 4096, 4096)).equals(Buffer.alloc(4096))).toBe(true);
      await expect(image.writev([], 0)).rejects.toBeInstanceOf(RangeError);
      // No bytes at all: 0, without calling librbd (16.2 aborts the process on an empty vectored read).
      expect(await image.readv([Buffer.alloc(0)], 0)).toBe(0);
      expect(await image.writev([Buffer.alloc(0), new Uint8Array(0)], 0)).toBe(0);
      await expect(image.writev([Buffer.alloc(1), 'x' as unknown as Buffer], 0)).rejects.toBeInstanceOf(TypeError);
      await expect(image.readv(Array.from({ length: 1025 }, () => Buffer.alloc(1)), 0)).rejects.toBeInstanceOf(RangeError);
    });
  });

  test('the Buffers stay pinned: dropping the array while the I/O is in flight changes nothing', async () => {
    await withImage(['layering'], 4 * MiB, async (image) => {
      const writes: Array<Promise<number>> = [];
      for (let i = 0; i < 16; i++) {
        let parts: Buffer[] | undefined = [Buffer.alloc(64 * 1024, i), Buffer.alloc(64 * 1024, i + 100)];
        writes.push(image.writev(parts, i * 128 * 1024));
        parts = undefined; // the op holds its own references
      }
      (globalThis as { gc?: () => void }).gc?.();
      await Promise.all(writes);
      for (let i = 0; i < 16; i++) {
        const b = await image.read(i * 128 * 1024, 128 * 1024);
        expect(b.subarray(0, 64 * 1024).equals(Buffer.alloc(64 * 1024, i))).toBe(true);
        expect(b.subarray(64 * 1024).equals(Buffer.alloc(64 * 1024, i + 100))).toBe(true);
      }
    });
  });
});

interface DuImage {
  name: string;
  provisioned_size: number;
  used_size: number;
}
async function rbdDuUsed(name: string): Promise<number> {
  const out = JSON.parse(await lab.rbd('site-a', ['du', '--format', 'json', `${lab.pool}/${name}`])) as { images: DuImage[] };
  return out.images.find((i) => i.name === name)!.used_size;
}

describe('writeZeroes thickProvision', () => {
  test('thick-provisioned zeros are allocated (rbd du counts them); plain writeZeroes over nothing allocates nothing', async () => {
    await withImage(['layering', 'exclusive-lock', 'object-map', 'fast-diff'], 16 * MiB, async (image, name) => {
      await image.writeZeroes(0, 8 * MiB);
      await image.flush();
      expect(await rbdDuUsed(name)).toBe(0);
      await image.writeZeroes(8 * MiB, 8 * MiB, { thickProvision: true });
      await image.flush();
      expect(await rbdDuUsed(name)).toBe(8 * MiB);
      expect((await image.read(8 * MiB, 4096)).equals(Buffer.alloc(4096))).toBe(true);
      await expect(image.writeZeroes(0, 4096, { thickProvision: 'yes' as unknown as boolean })).rejects.toBeInstanceOf(TypeError);
    });
  });
});

describe('diff includeParent and clone dataPool', () => {
  test('a clone diff with includeParent false lists only what the clone wrote, like python-rbd diff_iterate(include_parent=False)', async () => {
    await withImage(['layering'], 8 * MiB, async (parent, parentName) => {
      await parent.write(Buffer.alloc(MiB, 1), 0);
      await parent.snapshots.create('base');
      await parent.snapshots.protect('base');
      const child = uniq('child');
      await parent.snapshots.clone('base', pool, child, { cloneFormat: 2 });
      try {
        await using c = await pool.openImage(child);
        await c.write(Buffer.alloc(4096, 2), 4 * MiB);
        await c.flush();
        const collect = async (includeParent: boolean) => {
          const out: DiffExtent[] = [];
          for await (const e of c.diff({ includeParent })) out.push(e);
          return out.filter((e) => !e.zero).map((e) => [e.offset, e.length]);
        };
        const own = await collect(false);
        const all = await collect(true);
        expect(own).toEqual([[4 * MiB, 4096]]);
        expect(all).toEqual([[0, MiB], [4 * MiB, 4096]]);
        const body = `out = {}\nwith rbd.Image(ioctx, args['image']) as img:\n    for p in (False, True):\n        ext = []\n        img.diff_iterate(0, img.size(), None, lambda o, l, e: ext.append([o, l]) if e else None, include_parent=p)\n        out[str(p)] = ext\nprint(json.dumps(out))`;
        const oracle = await py<Record<string, Array<[number, number]>>>(body, { image: child });
        expect(own).toEqual(oracle.False);
        expect(all).toEqual(oracle.True);
      } finally {
        await pool.removeImage(child);
        await parent.snapshots.unprotect('base');
        await parent.snapshots.remove('base');
      }
      void parentName;
    });
  });

  test('clone with dataPool puts the data objects there: rbd info shows data_pool, the bytes read back', async () => {
    const dataPool = uniq('xdata');
    await cluster.createPool(dataPool);
    try {
      await lab.rbd('site-a', ['pool', 'init', dataPool]);
      await withImage(['layering'], 4 * MiB, async (parent) => {
        await parent.write(Buffer.alloc(4096, 9), 0);
        await parent.snapshots.create('s');
        const child = uniq('dpclone');
        await parent.snapshots.clone('s', pool, child, { cloneFormat: 2, dataPool });
        try {
          const info = JSON.parse(await lab.rbd('site-a', ['info', '--format', 'json', `${lab.pool}/${child}`])) as { data_pool?: string; features: string[] };
          expect(info.data_pool).toBe(dataPool);
          expect(info.features).toContain('data-pool');
          await using c = await pool.openImage(child);
          await c.write(Buffer.alloc(4096, 7), MiB);
          expect((await c.stat()).dataPoolId).toBe(await cluster.poolId(dataPool));
          expect((await c.read(0, 4096)).equals(Buffer.alloc(4096, 9))).toBe(true);
          expect((await c.read(MiB, 4096)).equals(Buffer.alloc(4096, 7))).toBe(true);
        } finally {
          await pool.removeImage(child);
          await parent.snapshots.remove('s');
        }
      });
    } finally {
      await cluster.deletePool(dataPool);
    }
  }, 120_000);
});

describe('group snapshot quiesce flags', () => {
  test('createSnapshot with skipQuiesce / ignoreQuiesceError snapshots every image (rbd group snap ls agrees)', async () => {
    await withImage(['layering'], MiB, async (image, name) => {
      const group = uniq('grp');
      await pool.groups.create(group);
      try {
        await pool.groups.addImage(group, pool, name);
        await pool.groups.createSnapshot(group, 'g1', { skipQuiesce: true });
        await pool.groups.createSnapshot(group, 'g2', { ignoreQuiesceError: true });
        await pool.groups.createSnapshot(group, 'g3');
        const ls = JSON.parse(await lab.rbd('site-a', ['group', 'snap', 'ls', '--format', 'json', `${lab.pool}/${group}`])) as Array<{ snapshot: string; state: string }>;
        // The CLI prints a complete group snapshot as 'ok' (16.2) or 'complete' (18.2, 20.2).
        const cliState = (st: string) => (st === 'ok' ? 'complete' : st);
        expect(ls.map((s) => [s.snapshot, cliState(s.state)]).sort()).toEqual([
          ['g1', 'complete'],
          ['g2', 'complete'],
          ['g3', 'complete'],
        ]);
        expect((await pool.groups.listSnapshots(group)).map((s) => [s.name, s.state]).sort()).toEqual([
          ['g1', 'complete'],
          ['g2', 'complete'],
          ['g3', 'complete'],
        ]);
        // stat() names the group the image is in (rbd_get_group), and op_features has 'group' like rbd info.
        const st = await image.stat();
        expect(st.group).toEqual({ poolId: await cluster.poolId(lab.pool), name: group });
        const info = JSON.parse(await lab.rbd('site-a', ['info', '--format', 'json', `${lab.pool}/${name}`])) as { op_features: string[] };
        expect(st.opFeatures).toEqual(info.op_features);
        expect(st.opFeatures).toContain('group');
        await expect(pool.groups.createSnapshot(group, 'g4', { skipQuiesce: 1 as unknown as boolean })).rejects.toBeInstanceOf(TypeError);
        for (const s of ['g1', 'g2', 'g3']) await pool.groups.removeSnapshot(group, s);
        await pool.groups.removeImage(group, pool, name);
      } finally {
        await pool.groups.remove(group);
      }
    });
  });
});
