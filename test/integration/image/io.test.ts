/**
 * The data path on the lab: rbd_aio_* reads and writes, checked by checksum,
 * at object boundaries, at the end of the image, and against the rbd CLI.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cluster, CompareMismatch, InvalidArgument, ReadOnlyImage, type Image, type Pool } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let tmp: string;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const KiB = 1024;
const MiB = 1024 * KiB;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'xrbd-io-'));
});
afterAll(async () => {
  await cluster.close();
  await fsp.rm(tmp, { recursive: true, force: true });
});

/** A fresh image with 64 KiB objects (order 16), so small I/O crosses object boundaries. */
async function withImage<T>(size: number, fn: (image: Image, name: string) => Promise<T>, order = 16): Promise<T> {
  const name = uniq('io');
  await pool.createImage(name, size, { order, features: ['layering', 'exclusive-lock'] });
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

async function rbdExport(name: string): Promise<Buffer> {
  const file = path.join(tmp, `${name}.raw`);
  await lab.rbd('site-a', ['export', '--no-progress', `${lab.pool}/${name}`, file]);
  const data = await fsp.readFile(file);
  await fsp.rm(file);
  return data;
}

describe('read and write', () => {
  test('random writes across object boundaries read back identical, and rbd export agrees', async () => {
    await withImage(4 * MiB, async (image, name) => {
      const model = Buffer.alloc(4 * MiB);
      // 200 writes of 1..96 KiB at random offsets: most cross a 64 KiB object boundary.
      const writes: Array<Promise<number>> = [];
      let rnd = 12345;
      const next = (n: number) => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) % n;
      for (let i = 0; i < 200; i++) {
        const len = 1 + next(96 * KiB);
        const off = next(4 * MiB - len);
        const data = randomBytes(len);
        data.copy(model, off);
        // Sequential awaits keep the model's last-writer-wins order exact.
        writes.push(image.write(data, off));
        await writes[writes.length - 1];
      }
      expect(await Promise.all(writes)).toHaveLength(200);
      const back = await image.read(0, 4 * MiB);
      expect(sha(back)).toBe(sha(model));
      await image.flush();
      expect(sha(await rbdExport(name))).toBe(sha(model));
    });
  });

  test('32 concurrent writes to distinct blocks then 32 concurrent reads return each block', async () => {
    await withImage(2 * MiB, async (image) => {
      const blocks = Array.from({ length: 32 }, () => randomBytes(48 * KiB));
      const offset = (i: number) => i * 60 * KiB + 7; // unaligned, straddling objects
      await Promise.all(blocks.map((b, i) => image.write(b, offset(i))));
      const back = await Promise.all(blocks.map((b, i) => image.read(offset(i), b.length)));
      back.forEach((r, i) => expect(sha(r)).toBe(sha(blocks[i])));
    });
  });

  test('read(buffer, offset) fills the caller\'s buffer in place; Uint8Array works too', async () => {
    await withImage(MiB, async (image) => {
      const data = randomBytes(8 * KiB);
      await image.write(new Uint8Array(data.buffer, data.byteOffset, data.length), 100);
      const target = Buffer.alloc(8 * KiB);
      const n = await image.read(target, 100);
      expect(n).toBe(8 * KiB);
      expect(target.equals(data)).toBe(true);
    });
  });

  test('data the rbd CLI writes reads back identical through the SDK', async () => {
    await withImage(2 * MiB, async (image, name) => {
      const file = path.join(tmp, 'cli-src.raw');
      await fsp.writeFile(file, randomBytes(2 * MiB));
      await image.close();
      await lab.rbd('site-a', ['import', '--no-progress', file, `${lab.pool}/${name}-cli`]);
      try {
        await using cli = await pool.openImage(`${name}-cli`);
        expect(sha(await cli.read(0, 2 * MiB))).toBe(sha(await fsp.readFile(file)));
      } finally {
        await pool.removeImage(`${name}-cli`);
      }
    });
  });

  test('fadvise hints are accepted; a bad one is a TypeError before any I/O', async () => {
    await withImage(MiB, async (image) => {
      await image.write(Buffer.alloc(4096, 1), 0, { fadvise: 'dontneed' });
      expect((await image.read(0, 4096, { fadvise: 'sequential' })).every((b) => b === 1)).toBe(true);
      await expect(image.read(0, 10, { fadvise: 'fast' as 'random' })).rejects.toThrow(TypeError);
    });
  });
});

describe('the end of the image', () => {
  test('a read crossing the end returns the bytes up to the end', async () => {
    await withImage(MiB, async (image) => {
      const tail = randomBytes(100);
      await image.write(tail, MiB - 100);
      const r = await image.read(MiB - 100, 4096);
      expect(r.length).toBe(100);
      expect(r.equals(tail)).toBe(true);
    });
  });

  test('a read starting past the end is an InvalidArgument', async () => {
    await withImage(MiB, async (image) => {
      await expect(image.read(MiB + 1, 10)).rejects.toBeInstanceOf(InvalidArgument);
    });
  });

  test('a write running past the end is refused whole, not clipped', async () => {
    await withImage(MiB, async (image) => {
      const err = await image.write(Buffer.alloc(8192, 9), MiB - 100).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as Error).message).toMatch(/past the end of the image \(size 1048576\)/);
      expect((await image.read(MiB - 100, 100)).every((b) => b === 0)).toBe(true);
    });
  });

  test('after another client grows the image, writes into the new space are allowed', async () => {
    await withImage(MiB, async (image, name) => {
      await lab.rbd('site-a', ['resize', '--no-progress', '--size', '2M', `${lab.pool}/${name}`]);
      const data = randomBytes(4096);
      await image.write(data, MiB + 4096);
      expect((await image.read(MiB + 4096, 4096)).equals(data)).toBe(true);
    });
  });

  test('after another client grows the image and writes there, reads see the new space at once', async () => {
    // librbd clips a read against the size the handle last refreshed, and a read
    // that fails the clip does not refresh it (python-rbd's first and second read
    // both fail with EINVAL here); the SDK refreshes and reads the rest.
    await withImage(MiB, async (image, name) => {
      const other = await Cluster.connect({ confPath: lab.site('site-a').confPath });
      try {
        const img2 = await (await other.openPool(lab.pool)).openImage(name);
        try {
          const tail = randomBytes(8192);
          await img2.resize(2 * MiB);
          await img2.write(tail, MiB);
          await img2.flush();
          // Entirely in the new space: the first I/O this handle makes after the grow.
          expect((await image.read(MiB, 8192)).equals(tail)).toBe(true);
          const tail2 = randomBytes(8192);
          await img2.resize(3 * MiB);
          await img2.write(tail2, 2 * MiB);
          await img2.flush();
          // Crossing the old end: the whole length, not the bytes up to the old end.
          const r = await image.read(2 * MiB - 4096, 12288);
          expect(r.length).toBe(12288);
          expect(r.equals(Buffer.concat([Buffer.alloc(4096), tail2]))).toBe(true);
        } finally {
          await img2.close();
        }
        // Into a buffer, starting in the space the CLI added.
        await lab.rbd('site-a', ['resize', '--no-progress', '--size', '4M', `${lab.pool}/${name}`]);
        const buf = Buffer.alloc(4096, 1);
        expect(await image.read(buf, 3 * MiB + 4096)).toBe(4096);
        expect(buf.every((b) => b === 0)).toBe(true);
        // Past the new end it is still an InvalidArgument.
        await expect(image.read(4 * MiB + 1, 10)).rejects.toBeInstanceOf(InvalidArgument);
      } finally {
        await other.close();
      }
    });
  });

  test('after resize through the SDK, the new end applies', async () => {
    await withImage(MiB, async (image) => {
      await image.resize(512 * KiB, { allowShrink: true });
      await expect(image.write(Buffer.alloc(4096), 600 * KiB)).rejects.toBeInstanceOf(InvalidArgument);
    });
  });
});

describe('other operations', () => {
  test('writeSame repeats a pattern; writeZeroes zeroes; whole-object discard reads back zeros', async () => {
    await withImage(MiB, async (image) => {
      await image.writeSame(0, 256 * KiB, Buffer.from('xrbd'));
      const r = await image.read(0, 256 * KiB);
      expect(r.toString('latin1', 0, 8)).toBe('xrbdxrbd');
      expect(r.toString('latin1').split('xrbd').join('')).toBe('');
      await image.writeZeroes(1000, 5000);
      expect((await image.read(1000, 5000)).every((b) => b === 0)).toBe(true);
      expect((await image.read(996, 4)).toString('latin1')).toBe('xrbd');
      await image.discard(64 * KiB, 64 * KiB); // exactly one object
      expect((await image.read(64 * KiB, 64 * KiB)).every((b) => b === 0)).toBe(true);
      await expect(image.writeSame(0, 10, Buffer.from('abc'))).rejects.toThrow(RangeError);
    });
  });

  test('compareAndWrite writes when the data matches, and reports the first difference otherwise', async () => {
    await withImage(MiB, async (image) => {
      const a = Buffer.alloc(512, 0xaa);
      const b = Buffer.alloc(512, 0xbb);
      await image.write(a, 4096);
      await image.compareAndWrite(4096, a, b);
      expect((await image.read(4096, 512)).equals(b)).toBe(true);
      const stale = Buffer.from(b);
      stale[37] = 0;
      const err = await image.compareAndWrite(4096, stale, a).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CompareMismatch);
      expect((err as CompareMismatch).code).toBe('EILSEQ');
      expect((err as CompareMismatch).mismatchOffset).toBe(37);
      expect((await image.read(4096, 512)).equals(b)).toBe(true);
    });
  });

  test('a write to an image opened read-only is ReadOnlyImage', async () => {
    await withImage(MiB, async (_image, name) => {
      await using ro = await pool.openImage(name, { readOnly: true });
      await expect(ro.write(Buffer.alloc(512), 0)).rejects.toBeInstanceOf(ReadOnlyImage);
      await expect(ro.read(0, 512)).resolves.toHaveLength(512);
    });
  });

  test('bad arguments are TypeError / RangeError', async () => {
    await withImage(MiB, async (image) => {
      await expect(image.write('abc' as unknown as Buffer, 0)).rejects.toThrow(TypeError);
      await expect(image.write(Buffer.alloc(1), -1)).rejects.toThrow(RangeError);
      await expect(image.read(0, -1)).rejects.toThrow(RangeError);
      await expect(image.read(0, 1.5)).rejects.toThrow(RangeError);
      await expect(image.read([] as unknown as Buffer, 0)).rejects.toThrow(TypeError);
      await expect(image.compareAndWrite(0, Buffer.alloc(2), Buffer.alloc(3))).rejects.toThrow(RangeError);
    });
  });
});

describe('lifecycle with I/O in flight', () => {
  test('close waits for in-flight writes; every acknowledged write is there after reopening', async () => {
    const name = uniq('inflight');
    await pool.createImage(name, 4 * MiB, { order: 16 });
    try {
      const image = await pool.openImage(name);
      const blocks = Array.from({ length: 64 }, () => randomBytes(16 * KiB));
      const writes = blocks.map((b, i) => image.write(b, i * 64 * KiB));
      const closing = image.close();
      const results = await Promise.all(writes);
      await closing;
      expect(results.every((n) => n === 16 * KiB)).toBe(true);
      await expect(image.read(0, 1)).rejects.toMatchObject({ code: 'EBADF' });
      await using again = await pool.openImage(name);
      for (let i = 0; i < blocks.length; i++) expect(sha(await again.read(i * 64 * KiB, 16 * KiB))).toBe(sha(blocks[i]));
    } finally {
      await pool.removeImage(name);
    }
  });
});
