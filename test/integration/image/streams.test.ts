/** Streams over images (createReadStream / createWriteStream) and whole-image export / import, checked against the rbd CLI. */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Cluster, ImageExists, InvalidArgument, type Image, type Pool } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let tmp: string;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
  tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'xrbd-streams-'));
});
afterAll(async () => {
  await cluster.close();
  await fs.promises.rm(tmp, { recursive: true, force: true });
});

/** A fresh image, removed afterwards whatever happens. */
async function withImage<T>(size: number, fn: (image: Image, name: string) => Promise<T>): Promise<T> {
  const name = uniq('strm');
  await pool.createImage(name, size, { features: ['layering'] });
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

/** Remove an image that a test may or may not have created. */
async function removeIfThere(name: string): Promise<void> {
  if ((await pool.listImages()).includes(name)) await pool.removeImage(name);
}

/** Random bytes written through image.write, 4 MiB at a time. */
async function fillRandom(image: Image, size: number): Promise<Buffer> {
  const data = randomBytes(size);
  for (let off = 0; off < size; off += 4 * MiB) await image.write(data.subarray(off, Math.min(size, off + 4 * MiB)), off);
  return data;
}

/** The image's bytes as `rbd export` writes them. */
async function cliExport(name: string): Promise<Buffer> {
  const file = path.join(tmp, uniq('cli-export'));
  await lab.rbd('site-a', ['export', '--no-progress', `${lab.pool}/${name}`, file]);
  try {
    return await fs.promises.readFile(file);
  } finally {
    await fs.promises.rm(file, { force: true });
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('createReadStream', () => {
  test('streams a 24 MiB image of random data byte for byte', async () => {
    await withImage(24 * MiB, async (image) => {
      const data = await fillRandom(image, 24 * MiB);
      const got = await collect(image.createReadStream());
      expect(got.length).toBe(24 * MiB);
      expect(sha256(got)).toBe(sha256(data));
    });
  });

  test('a start/end range (end inclusive) crossing object boundaries gives exactly those bytes', async () => {
    await withImage(24 * MiB, async (image) => {
      const data = await fillRandom(image, 24 * MiB);
      const start = 3 * MiB + 123;
      const end = 13 * MiB + 4567; // crosses the 4, 8 and 12 MiB object boundaries
      const got = await collect(image.createReadStream({ start, end, highWaterMark: MiB + 7, queueDepth: 3 }));
      expect(got.length).toBe(end - start + 1);
      expect(sha256(got)).toBe(sha256(data.subarray(start, end + 1)));
    });
  });

  test('a range running past the end stops at the end of the image', async () => {
    await withImage(4 * MiB, async (image) => {
      const data = await fillRandom(image, 4 * MiB);
      const got = await collect(image.createReadStream({ start: 3 * MiB, end: 100 * MiB }));
      expect(got.equals(data.subarray(3 * MiB))).toBe(true);
    });
  });

  test('chunks are at most highWaterMark bytes and aligned to it after the first', async () => {
    await withImage(8 * MiB, async (image) => {
      await fillRandom(image, 8 * MiB);
      // 'data' events: one per chunk pushed (an async iterator may join buffered chunks).
      const lengths: number[] = [];
      const stream = image.createReadStream({ start: 1000, highWaterMark: MiB });
      stream.on('data', (c: Buffer) => lengths.push(c.length));
      await new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
      expect(lengths).toEqual([MiB - 1000, ...Array<number>(7).fill(MiB)]);
    });
  });

  test('a slow consumer (pause/resume) gets every byte in order, with at most queueDepth+1 chunks buffered', async () => {
    await withImage(16 * MiB, async (image) => {
      const data = await fillRandom(image, 16 * MiB);
      const hwm = 512 * 1024;
      const depth = 3;
      const stream = image.createReadStream({ highWaterMark: hwm, queueDepth: depth });
      const chunks: Buffer[] = [];
      let maxBuffered = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (c: Buffer) => {
          chunks.push(c);
          maxBuffered = Math.max(maxBuffered, stream.readableLength);
          stream.pause();
          setTimeout(() => stream.resume(), 3);
        });
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      const got = Buffer.concat(chunks);
      expect(got.length).toBe(16 * MiB);
      expect(got.equals(data)).toBe(true);
      expect(maxBuffered).toBeLessThanOrEqual((depth + 1) * hwm);
    });
  });

  test('without a consumer it reads ahead only about queueDepth chunks, not the whole image', async () => {
    await withImage(24 * MiB, async (image) => {
      await fillRandom(image, 24 * MiB);
      const stream = image.createReadStream({ highWaterMark: MiB, queueDepth: 2 });
      try {
        stream.read(0); // start reading, consume nothing
        await new Promise((r) => setTimeout(r, 500));
        expect(stream.readableLength).toBeGreaterThan(0);
        expect(stream.readableLength).toBeLessThanOrEqual(3 * MiB);
        expect(stream.bytesRead).toBe(stream.readableLength);
      } finally {
        stream.destroy();
      }
    });
  });

  test('destroy() while reads are in flight is clean: close, no error, and the image still closes', async () => {
    const name = uniq('strm');
    await pool.createImage(name, 24 * MiB, { features: ['layering'] });
    try {
      const image = await pool.openImage(name);
      await fillRandom(image, 24 * MiB);
      const stream = image.createReadStream({ highWaterMark: MiB, queueDepth: 8 });
      const errors: Error[] = [];
      stream.on('error', (e) => errors.push(e));
      const closed = new Promise<void>((r) => stream.once('close', () => r()));
      let seen = 0;
      stream.on('data', (c: Buffer) => {
        seen += c.length;
        if (seen >= 2 * MiB) stream.destroy();
      });
      await closed;
      expect(errors).toEqual([]);
      expect(seen).toBeLessThan(24 * MiB);
      await image.close();
      expect(image.state).toBe('closed');
    } finally {
      await pool.removeImage(name);
    }
  });

  test('a read stream on a closed image fails with HandleClosed', async () => {
    const name = uniq('strm');
    await pool.createImage(name, 4 * MiB, { features: ['layering'] });
    try {
      const image = await pool.openImage(name);
      await image.close();
      await expect(collect(image.createReadStream())).rejects.toMatchObject({ name: 'HandleClosed', code: 'EBADF' });
    } finally {
      await pool.removeImage(name);
    }
  });

  test('bad options throw TypeError / RangeError from the call itself', async () => {
    await withImage(4 * MiB, async (image) => {
      expect(() => image.createReadStream({ start: 10, end: 5 })).toThrow(RangeError);
      expect(() => image.createReadStream({ start: -1 })).toThrow(RangeError);
      expect(() => image.createReadStream({ queueDepth: 0 })).toThrow(RangeError);
      expect(() => image.createReadStream({ highWaterMark: 1.5 })).toThrow(RangeError);
      expect(() => image.createReadStream({ start: '0' as unknown as number })).toThrow(TypeError);
      expect(() => image.createReadStream({ fadvise: 'fast' as unknown as 'random' })).toThrow(TypeError);
    });
  });
});

describe('createWriteStream', () => {
  test('pipeline from a file writes it at offset 0; rbd export agrees byte for byte', async () => {
    await withImage(20 * MiB, async (image, name) => {
      const file = path.join(tmp, uniq('src'));
      const data = randomBytes(20 * MiB - 4096 + 17); // not a whole number of chunks
      await fs.promises.writeFile(file, data);
      const ws = image.createWriteStream();
      await pipeline(fs.createReadStream(file), ws);
      expect(ws.bytesWritten).toBe(data.length);
      const exported = await cliExport(name);
      expect(exported.length).toBe(20 * MiB);
      expect(sha256(exported.subarray(0, data.length))).toBe(sha256(data));
      expect(exported.subarray(data.length).every((b) => b === 0)).toBe(true);
    });
  });

  test('writes at start, in order, from many small and large chunks with several in flight', async () => {
    await withImage(8 * MiB, async (image) => {
      const start = 3 * MiB + 5;
      const data = randomBytes(4 * MiB + 999);
      const pieces: Buffer[] = [];
      for (let off = 0, i = 0; off < data.length; i++) {
        const n = Math.min(data.length - off, i % 5 === 0 ? 1536 * 1024 : 4096 + i);
        pieces.push(data.subarray(off, off + n));
        off += n;
      }
      await pipeline(Readable.from(pieces), image.createWriteStream({ start, queueDepth: 6 }));
      const got = await image.read(start, data.length);
      expect(got.equals(data)).toBe(true);
      expect((await image.read(start - 5, 5)).equals(Buffer.alloc(5))).toBe(true);
    });
  });

  test('writing past the end fails with InvalidArgument and says how far it got', async () => {
    await withImage(4 * MiB, async (image) => {
      const ws = image.createWriteStream({ queueDepth: 4 });
      const chunks = Array.from({ length: 6 }, () => randomBytes(MiB));
      const err = await pipeline(Readable.from(chunks), ws).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as InvalidArgument).code).toBe('EINVAL');
      expect(ws.bytesWritten).toBe(4 * MiB);
      expect((err as Error).message).toMatch(/wrote 4194304 bytes from offset 0/);
      expect((await image.read(0, 4 * MiB)).equals(Buffer.concat(chunks.slice(0, 4)))).toBe(true);
    });
  });

  test('a write that fails after its callback was called still errors the stream, with no further write or end()', async () => {
    await withImage(4 * MiB, async (image) => {
      const ws = image.createWriteStream({ start: 3 * MiB });
      const failed = new Promise<Error>((resolve) => ws.once('error', resolve));
      const accepted = await new Promise<Error | null | undefined>((resolve) => ws.write(randomBytes(2 * MiB), resolve));
      expect(accepted).toBeFalsy(); // issued: the callback does not wait for librbd
      const err = await failed;
      expect(err).toBeInstanceOf(InvalidArgument);
      expect(ws.bytesWritten).toBe(0);
      expect(ws.destroyed).toBe(true);
    });
  });

  test('end() flushes: the data is there for another client as soon as finish', async () => {
    await withImage(4 * MiB, async (image, name) => {
      const data = randomBytes(MiB);
      const ws = image.createWriteStream();
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.end(data, resolve);
      });
      expect((await cliExport(name)).subarray(0, MiB).equals(data)).toBe(true);
    });
  });

  test('bad options throw TypeError / RangeError from the call itself', async () => {
    await withImage(4 * MiB, async (image) => {
      expect(() => image.createWriteStream({ start: -5 })).toThrow(RangeError);
      expect(() => image.createWriteStream({ queueDepth: 2000 })).toThrow(RangeError);
      expect(() => image.createWriteStream(null as unknown as object)).toThrow(TypeError);
    });
  });
});

describe('exportTo', () => {
  test('a file equals what rbd export writes, with progress up to the size', async () => {
    await withImage(12 * MiB, async (image, name) => {
      await fillRandom(image, 6 * MiB); // the rest stays unwritten (zeros)
      const file = path.join(tmp, uniq('export'));
      const calls: Array<[number, number]> = [];
      const n = await image.exportTo(file, { onProgress: (d, t) => calls.push([d, t]) });
      expect(n).toBe(12 * MiB);
      const mine = await fs.promises.readFile(file);
      expect(sha256(mine)).toBe(sha256(await cliExport(name)));
      expect(calls.at(-1)).toEqual([12 * MiB, 12 * MiB]);
      for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
    });
  });

  test('to a Writable: every byte, in order, and the Writable is left open', async () => {
    await withImage(8 * MiB, async (image) => {
      const data = await fillRandom(image, 8 * MiB);
      const chunks: Buffer[] = [];
      const sink = new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _e, cb) {
          chunks.push(chunk);
          setTimeout(cb, 1); // slow: exportTo waits for 'drain'
        },
      });
      expect(await image.exportTo(sink, { queueDepth: 2 })).toBe(8 * MiB);
      expect(sink.writableEnded).toBe(false);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      sink.end();
    });
  });

  test('an existing file is an EEXIST error and is left as it was', async () => {
    await withImage(4 * MiB, async (image) => {
      const file = path.join(tmp, uniq('exists'));
      await fs.promises.writeFile(file, 'keep me');
      await expect(image.exportTo(file)).rejects.toMatchObject({ code: 'EEXIST' });
      expect(await fs.promises.readFile(file, 'utf8')).toBe('keep me');
    });
  });
});

describe('importFrom', () => {
  test('rbd bench-written image → rbd export → importFrom → rbd export: identical', async () => {
    const src = uniq('bench');
    const copy = uniq('imported');
    const file = path.join(tmp, uniq('bench-export'));
    await lab.rbd('site-a', ['create', '--size', '8M', `${lab.pool}/${src}`]);
    try {
      await lab.rbd('site-a', [
        'bench', '--io-type', 'write', '--io-pattern', 'rand', '--io-size', '4K', '--io-total', '2M', `${lab.pool}/${src}`,
      ]);
      await lab.rbd('site-a', ['export', '--no-progress', `${lab.pool}/${src}`, file]);
      const calls: Array<[number, number]> = [];
      const n = await pool.importFrom(file, copy, { onProgress: (d, t) => calls.push([d, t]) });
      expect(n).toBe(8 * MiB);
      expect(calls.at(-1)).toEqual([8 * MiB, 8 * MiB]);
      const original = await fs.promises.readFile(file);
      expect(original.some((b) => b !== 0)).toBe(true);
      expect(sha256(await cliExport(copy))).toBe(sha256(original));
    } finally {
      await removeIfThere(copy);
      await lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${src}`]);
      await fs.promises.rm(file, { force: true });
    }
  });

  test('from a Readable with a size: the image has that size, the data, and zeros after it', async () => {
    const name = uniq('imported');
    const data = randomBytes(3 * MiB + 11);
    try {
      await pool.importFrom(Readable.from([data.subarray(0, MiB), data.subarray(MiB)]), name, {
        size: 6 * MiB,
        createOptions: { objectSize: MiB, features: ['layering'] },
      });
      await using image = await pool.openImage(name);
      const st = await image.stat();
      expect(st.size).toBe(6 * MiB);
      expect(st.objectSize).toBe(MiB);
      const all = await image.read(0, 6 * MiB);
      expect(all.subarray(0, data.length).equals(data)).toBe(true);
      expect(all.subarray(data.length).every((b) => b === 0)).toBe(true);
    } finally {
      await removeIfThere(name);
    }
  });

  test('sparse, like rbd import: zero 4 KiB blocks are not written (rbd diff as after the CLI), the data reads back identical', async () => {
    const ours = uniq('imported');
    const cli = uniq('cli-imported');
    const file = path.join(tmp, uniq('sparse'));
    // 8 objects of 1 MiB: data in objects 0, 3 (all of it), 5 and 7; objects 1, 2, 4 and 6 all zero.
    const data = Buffer.alloc(8 * MiB);
    randomBytes(64 * 1024).copy(data, 0);
    randomBytes(MiB).copy(data, 3 * MiB);
    randomBytes(4096).copy(data, 5 * MiB + 8192);
    data[7 * MiB + 100] = 1;
    await fs.promises.writeFile(file, data);
    const diff = async (name: string) =>
      (JSON.parse(await lab.rbd('site-a', ['diff', '--format', 'json', `${lab.pool}/${name}`])) as Array<{ offset: number; length: number }>).map(
        (e) => [e.offset, e.length],
      );
    try {
      const n = await pool.importFrom(file, ours, { createOptions: { objectSize: MiB, features: ['layering'] } });
      expect(n).toBe(8 * MiB);
      await lab.rbd('site-a', ['import', '--no-progress', '--object-size', '1M', '--image-feature', 'layering', file, `${lab.pool}/${cli}`]);
      // rbd diff reports, per existing object, [object start, end of its last write).
      expect(await diff(ours)).toEqual([
        [0, 64 * 1024],
        [3 * MiB, MiB],
        [5 * MiB, 8192 + 4096],
        [7 * MiB, 4096],
      ]);
      expect(await diff(ours)).toEqual(await diff(cli));
      expect(sha256(await cliExport(ours))).toBe(sha256(data));
    } finally {
      await removeIfThere(ours);
      await removeIfThere(cli);
      await fs.promises.rm(file, { force: true });
    }
  });

  test('an all-zero source writes nothing and still yields an image of that size reading zeros', async () => {
    const name = uniq('imported');
    try {
      const calls: Array<[number, number]> = [];
      const n = await pool.importFrom(Readable.from([Buffer.alloc(3 * MiB), Buffer.alloc(MiB + 512)]), name, {
        size: 5 * MiB,
        onProgress: (d, t) => calls.push([d, t]),
      });
      expect(n).toBe(4 * MiB + 512);
      expect(calls.at(-1)).toEqual([5 * MiB, 5 * MiB]);
      expect(JSON.parse(await lab.rbd('site-a', ['diff', '--format', 'json', `${lab.pool}/${name}`]))).toEqual([]);
      await using image = await pool.openImage(name);
      expect((await image.stat()).size).toBe(5 * MiB);
      expect((await image.read(0, 5 * MiB)).equals(Buffer.alloc(5 * MiB))).toBe(true);
    } finally {
      await removeIfThere(name);
    }
  });

  test('a source longer than size fails with InvalidArgument even when the part past the end is zeros', async () => {
    const name = uniq('imported');
    try {
      const err = await pool.importFrom(Readable.from([Buffer.alloc(2 * MiB + 4096)]), name, { size: 2 * MiB }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidArgument);
      expect(await pool.listImages()).not.toContain(name);
    } finally {
      await removeIfThere(name);
    }
  });

  test('a source longer than size fails with InvalidArgument and removes the half-made image', async () => {
    const name = uniq('imported');
    try {
      const err = await pool.importFrom(Readable.from([randomBytes(3 * MiB)]), name, { size: 2 * MiB }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidArgument);
      expect(await pool.listImages()).not.toContain(name);
    } finally {
      await removeIfThere(name);
    }
  });

  test('an existing name is ImageExists and that image is left alone', async () => {
    await withImage(4 * MiB, async (image, name) => {
      const data = await fillRandom(image, MiB);
      await expect(pool.importFrom(Readable.from([Buffer.alloc(MiB)]), name, { size: MiB })).rejects.toBeInstanceOf(ImageExists);
      expect((await image.read(0, MiB)).equals(data)).toBe(true);
    });
  });

  test('bad arguments are TypeError / RangeError before anything is created', async () => {
    const name = uniq('imported');
    const file = path.join(tmp, uniq('small'));
    await fs.promises.writeFile(file, Buffer.alloc(8192));
    await expect(pool.importFrom(Readable.from([Buffer.alloc(1)]), name)).rejects.toThrow(TypeError);
    await expect(pool.importFrom(42 as unknown as string, name)).rejects.toThrow(TypeError);
    await expect(pool.importFrom(file, name, { size: 4096 })).rejects.toThrow(RangeError);
    await expect(pool.importFrom(file, name, { createOptions: { order: 40 } })).rejects.toThrow(RangeError);
    await expect(pool.importFrom(file, name, { onProgress: 'yes' as unknown as () => void })).rejects.toThrow(TypeError);
    expect(await pool.listImages()).not.toContain(name);
  });
});
