/**
 * image.diff() and exportDiff() on the live lab. The rbd CLI is the oracle:
 * `rbd diff --format json` for the extents, `rbd export-diff` for the stream,
 * `rbd import-diff` + `rbd export` checksums for the round trip.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { Cluster, exportDiff, SnapshotNotFound, type DiffExtent, type Image, type Pool } from '../../../lib';
import { getLab } from '../../setup/lab-env';

type Lab = Awaited<ReturnType<typeof getLab>>;

let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let tmp: string;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Images this file made, removed in afterAll. */
const made: string[] = [];

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xrbd-diff-'));
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  for (const name of made.reverse()) {
    await lab.rbd('site-a', ['snap', 'purge', '--no-progress', spec(name)]).catch(() => undefined);
    await lab.rbd('site-a', ['rm', '--no-progress', spec(name)]).catch(() => undefined);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}, 300_000);

const spec = (image: string, snap?: string) => `${lab.pool}/${image}${snap === undefined ? '' : '@' + snap}`;

async function rbd(args: string[]): Promise<string> {
  return lab.rbd('site-a', args, { timeoutMs: 120_000 });
}

/** A new image of `size` bytes (CLI-made), remembered for cleanup. */
async function makeImage(size: number, extra: string[] = []): Promise<string> {
  const name = uniq('diff');
  await rbd(['create', '--size', `${size / MiB}M`, ...extra, spec(name)]);
  made.push(name);
  return name;
}

/** Random 4K writes through `rbd bench`, `total` bytes in all. */
async function bench(name: string, total: string): Promise<void> {
  await rbd(['bench', '--io-type', 'write', '--io-pattern', 'rand', '--io-size', '4K', '--io-total', total, spec(name)]);
}

async function cliDiff(name: string, args: string[] = []): Promise<DiffExtent[]> {
  const out = JSON.parse(await rbd(['diff', '--format', 'json', ...args, spec(name)])) as Array<{
    offset: number;
    length: number;
    exists: string;
  }>;
  return out.map((e) => ({ offset: e.offset, length: e.length, zero: e.exists !== 'true' }));
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

async function collect(it: AsyncIterable<DiffExtent>): Promise<DiffExtent[]> {
  const out: DiffExtent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function open(name: string): Promise<Image> {
  return pool.openImage(name);
}

/** `rbd export` of an image (or snapshot) to a file, and its sha256. */
async function checksum(imageSpec: string): Promise<string> {
  const file = path.join(tmp, uniq('export'));
  await rbd(['export', '--no-progress', imageSpec, file]);
  const sum = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  fs.rmSync(file);
  return sum;
}

describe('image.diff()', () => {
  test('lists the same extents as `rbd diff` for an image written at random', async () => {
    const name = await makeImage(64 * MiB);
    await bench(name, '256K');
    await using image = await open(name);
    const extents = await collect(image.diff());
    expect(extents.length).toBeGreaterThan(0);
    expect(extents).toEqual(await cliDiff(name));
  });

  test('fromSnapshot lists the same extents as `rbd diff --from-snap`', async () => {
    const name = await makeImage(64 * MiB);
    await bench(name, '128K');
    await rbd(['snap', 'create', '--no-progress', spec(name, 's1')]);
    await bench(name, '128K');
    await using image = await open(name);
    const extents = await collect(image.diff({ fromSnapshot: 's1' }));
    expect(extents.length).toBeGreaterThan(0);
    expect(extents).toEqual(await cliDiff(name, ['--from-snap', 's1']));
  });

  test('reports a region cut off by a shrink after the snapshot as zero, like `rbd diff` (exists false)', async () => {
    const name = await makeImage(64 * MiB);
    await bench(name, '256K');
    await rbd(['snap', 'create', '--no-progress', spec(name, 's1')]);
    await rbd(['resize', '--no-progress', '--allow-shrink', '--size', '32M', spec(name)]);
    await rbd(['resize', '--no-progress', '--size', '64M', spec(name)]);
    await using image = await open(name);
    const extents = await collect(image.diff({ fromSnapshot: 's1' }));
    expect(extents.length).toBeGreaterThan(0);
    expect(extents.every((e) => e.zero && e.offset >= 32 * MiB)).toBe(true);
    expect(extents).toEqual(await cliDiff(name, ['--from-snap', 's1']));
  });

  test('wholeObject lists the same extents as `rbd diff --whole-object`', async () => {
    const name = await makeImage(64 * MiB);
    await bench(name, '256K');
    await using image = await open(name);
    const extents = await collect(image.diff({ wholeObject: true }));
    expect(extents.every((e) => e.offset % (4 * MiB) === 0)).toBe(true);
    expect(extents).toEqual(await cliDiff(name, ['--whole-object']));
  });

  test('offset and length limit the extents to that range, clipped at its ends', async () => {
    const name = await makeImage(64 * MiB);
    await bench(name, '256K');
    await using image = await open(name);
    const from = 6 * MiB + 12345;
    const to = 40 * MiB + 999;
    const expected = (await cliDiff(name))
      .filter((e) => e.offset + e.length > from && e.offset < to)
      .map((e) => {
        const start = Math.max(e.offset, from);
        const end = Math.min(e.offset + e.length, to);
        return { offset: start, length: end - start, zero: e.zero };
      });
    expect(expected.length).toBeGreaterThan(0);
    expect(await collect(image.diff({ offset: from, length: to - from }))).toEqual(expected);
  });

  /** Write 4K blocks of 0xab at each offset with `rbd import-diff` of a hand-made stream: quick, and little data. */
  async function writeBlocks(name: string, size: number, offsets: number[]): Promise<void> {
    const block = Buffer.alloc(4096, 0xab);
    const parts: Buffer[] = [Buffer.from('rbd diff v1\n'), Buffer.from('s'), u64(size)];
    for (const o of offsets) parts.push(Buffer.from('w'), u64(o), u64(block.length), block);
    parts.push(Buffer.from('e'));
    const stream = path.join(tmp, uniq('blocks'));
    fs.writeFileSync(stream, Buffer.concat(parts));
    await rbd(['import-diff', '--no-progress', stream, spec(name)]);
    fs.rmSync(stream);
  }

  test('more extents than one native call returns (4,096) are all listed, as `rbd diff` lists them', async () => {
    // 8K objects with one 4K block in 4,200 of them: 4,200 separate extents.
    const size = 40 * MiB;
    const name = await makeImage(size, ['--image-feature', 'layering', '--object-size', '8K']);
    await writeBlocks(name, size, Array.from({ length: 4200 }, (_, i) => i * 8192));
    await using image = await open(name);
    const extents = await collect(image.diff());
    expect(extents).toHaveLength(4200);
    expect(extents[4199]).toEqual({ offset: 4199 * 8192, length: 4096, zero: false });
    expect(extents).toEqual(await cliDiff(name));
  }, 120_000);

  test('extents on both sides of the 1 GiB window boundary are listed as `rbd diff` lists them', async () => {
    const size = GiB + 64 * MiB;
    const name = await makeImage(size, ['--image-feature', 'layering']);
    await writeBlocks(name, size, Array.from({ length: 8 }, (_, i) => GiB - 16 * MiB + i * 4 * MiB + 8192));
    await using image = await open(name);
    const extents = await collect(image.diff());
    expect(extents.filter((e) => e.offset < GiB)).toHaveLength(4);
    expect(extents.filter((e) => e.offset >= GiB)).toHaveLength(4);
    expect(extents).toEqual(await cliDiff(name));
  });

  test('breaking out of the loop ends the iterator, and the image closes at once', async () => {
    const name = await makeImage(64 * MiB);
    await bench(name, '256K');
    const image = await open(name);
    const it = image.diff();
    let seen = 0;
    for await (const e of it) {
      expect(e.length).toBeGreaterThan(0);
      if (++seen === 2) break;
    }
    expect(seen).toBe(2);
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await image.close();
    expect(image.state).toBe('closed');
  });

  test('a missing fromSnapshot rejects with SnapshotNotFound', async () => {
    const name = await makeImage(16 * MiB);
    await using image = await open(name);
    const err = await collect(image.diff({ fromSnapshot: 'nope' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotNotFound);
    expect((err as SnapshotNotFound).snapshot).toBe('nope');
  });

  test('bad options throw TypeError / RangeError from the call itself', async () => {
    const name = await makeImage(16 * MiB);
    await using image = await open(name);
    expect(() => image.diff({ fromSnapshot: 7 as unknown as string })).toThrow(TypeError);
    expect(() => image.diff({ wholeObject: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => image.diff({ offset: -1 })).toThrow(RangeError);
    expect(() => image.diff({ length: 1.5 })).toThrow(RangeError);
  });
});

describe('exportDiff()', () => {
  /** An image with data at s1, more data and a shrink+grow before s2, and more writes at the head. */
  async function imageWithHistory(): Promise<string> {
    const name = await makeImage(64 * MiB);
    await bench(name, '256K');
    await rbd(['snap', 'create', '--no-progress', spec(name, 's1')]);
    await bench(name, '256K');
    await rbd(['resize', '--no-progress', '--allow-shrink', '--size', '48M', spec(name)]);
    await rbd(['resize', '--no-progress', '--size', '64M', spec(name)]);
    await rbd(['snap', 'create', '--no-progress', spec(name, 's2')]);
    await bench(name, '128K');
    return name;
  }

  async function cliExportDiff(imageSpec: string, args: string[] = []): Promise<Buffer> {
    const file = path.join(tmp, uniq('cli'));
    await rbd(['export-diff', '--no-progress', ...args, imageSpec, file]);
    const bytes = fs.readFileSync(file);
    fs.rmSync(file);
    return bytes;
  }

  test('from one snapshot to another, the stream equals `rbd export-diff` byte for byte', async () => {
    const name = await imageWithHistory();
    await using image = await open(name);
    const file = path.join(tmp, uniq('sdk'));
    const result = await exportDiff(image, file, { fromSnapshot: 's1', toSnapshot: 's2' });
    const ours = fs.readFileSync(file);
    expect(ours.subarray(0, 12).toString('latin1')).toBe('rbd diff v1\n');
    expect(result.bytesWritten).toBe(ours.length);
    expect(result.size).toBe(64 * MiB);
    expect(result.dataExtents).toBeGreaterThan(0);
    expect(result.zeroExtents).toBeGreaterThan(0);
    expect(ours.equals(await cliExportDiff(spec(name, 's2'), ['--from-snap', 's1']))).toBe(true);
  });

  test('of the whole image at its head, the stream equals `rbd export-diff` byte for byte', async () => {
    const name = await imageWithHistory();
    await using image = await open(name);
    const file = path.join(tmp, uniq('sdk'));
    await exportDiff(image, file);
    expect(fs.readFileSync(file).equals(await cliExportDiff(spec(name)))).toBe(true);
  });

  test('`rbd import-diff` of the SDK streams rebuilds the image: same checksum at s1, s2', async () => {
    const name = await imageWithHistory();
    await using image = await open(name);
    const full = path.join(tmp, uniq('full'));
    const incr = path.join(tmp, uniq('incr'));
    await exportDiff(image, full, { toSnapshot: 's1' });
    await exportDiff(image, incr, { fromSnapshot: 's1', toSnapshot: 's2' });

    const copy = await makeImage(64 * MiB);
    await rbd(['import-diff', '--no-progress', full, spec(copy)]);
    await rbd(['import-diff', '--no-progress', incr, spec(copy)]);
    expect(await checksum(spec(copy, 's1'))).toBe(await checksum(spec(name, 's1')));
    expect(await checksum(spec(copy, 's2'))).toBe(await checksum(spec(name, 's2')));
  }, 120_000);

  test('to a Writable, the stream is the same as to a file, and the Writable is left open', async () => {
    const name = await imageWithHistory();
    await using image = await open(name);
    const file = path.join(tmp, uniq('sdk'));
    await exportDiff(image, file, { fromSnapshot: 's1' });
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const result = await exportDiff(image, sink, { fromSnapshot: 's1' });
    expect(sink.writableEnded).toBe(false);
    const bytes = Buffer.concat(chunks);
    expect(bytes.length).toBe(result.bytesWritten);
    expect(bytes.equals(fs.readFileSync(file))).toBe(true);
  });

  test('an existing target file is not overwritten: EEXIST, file unchanged', async () => {
    const name = await makeImage(16 * MiB);
    await using image = await open(name);
    const file = path.join(tmp, uniq('exists'));
    fs.writeFileSync(file, 'keep');
    await expect(exportDiff(image, file)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(file, 'utf8')).toBe('keep');
  });

  test('a missing toSnapshot rejects with SnapshotNotFound and leaves no file', async () => {
    const name = await makeImage(16 * MiB);
    await using image = await open(name);
    const file = path.join(tmp, uniq('nosnap'));
    const err = await exportDiff(image, file, { toSnapshot: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotNotFound);
    expect((err as SnapshotNotFound).snapshot).toBe('nope');
    expect(fs.existsSync(file)).toBe(false);
  });

  test('a missing fromSnapshot rejects with SnapshotNotFound and removes the partial file', async () => {
    const name = await makeImage(16 * MiB);
    await using image = await open(name);
    const file = path.join(tmp, uniq('nofrom'));
    const err = await exportDiff(image, file, { fromSnapshot: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotNotFound);
    expect(fs.existsSync(file)).toBe(false);
  });

  test('a target that is neither a path nor a Writable is a TypeError', async () => {
    const name = await makeImage(16 * MiB);
    await using image = await open(name);
    await expect(exportDiff(image, 42 as unknown as string)).rejects.toThrow(TypeError);
  });
});
