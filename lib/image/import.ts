/**
 * The sparse import engine behind `pool.importFrom()` (like `rbd import`):
 * the source read in aligned blocks, runs of zeros left unwritten.
 */
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { withProgress, type ProgressCallback } from '../core/progress';
import { checkInt, checkName, checkOptions, checkU64 } from '../core/validate';
import type { Pool } from '../pool/pool';
import type { Image } from './image';
import { imageOptions } from './options';
import type { ImportOptions } from './streams';

const MiB = 1024 * 1024;
/** The import reads and writes in blocks of this size, aligned to it in the image. */
const IMPORT_BLOCK = 4 * MiB;
/** Zero detection granularity: rbd import's default --sparse-size. */
const SPARSE_SIZE = 4096;
const ZEROS = Buffer.alloc(SPARSE_SIZE);

function isReadable(v: unknown): v is Readable {
  return v !== null && typeof v === 'object' && typeof (v as Readable).pipe === 'function' && typeof (v as Readable).on === 'function';
}

/** [start, end) runs of `block` that hold a non-zero byte, at SPARSE_SIZE granularity. */
function dataRuns(block: Buffer): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i < block.length; i += SPARSE_SIZE) {
    const end = Math.min(i + SPARSE_SIZE, block.length);
    const zero = block.compare(ZEROS, 0, end - i, i, end) === 0;
    if (!zero && start < 0) start = i;
    if (zero && start >= 0) {
      runs.push([start, i]);
      start = -1;
    }
  }
  if (start >= 0) runs.push([start, block.length]);
  return runs;
}

/** @internal The implementation behind pool.importFrom(). */
export async function importSparse(pool: Pool, src: string | Readable, name: string, options?: ImportOptions): Promise<number> {
  checkName(name, 'image name');
  const o = checkOptions<ImportOptions>(options);
  const depth = o.queueDepth === undefined ? 4 : checkInt(o.queueDepth, 'queueDepth', 1, 1024);
  const u = o.size === undefined ? undefined : checkU64(o.size, 'size');
  if (typeof u === 'bigint') throw new RangeError('size must be a number (at most 2^53-1)');
  const given = u;
  imageOptions(o.createOptions); // checked now; createImage uses them below
  if (typeof src === 'string') checkName(src, 'source path');
  else if (!isReadable(src)) throw new TypeError('src must be a file path or a Readable');
  else if (given === undefined) throw new TypeError('size is required when importing from a stream');

  return withProgress(o.onProgress, async (progress) => {
    let size: number;
    if (typeof src === 'string') {
      const st = await fs.promises.stat(src);
      if (!st.isFile()) throw new TypeError(`${src} is not a regular file: pass a stream and its size`);
      if (given !== undefined && given < st.size) {
        throw new RangeError(`size (${given}) is smaller than the file ${src} (${st.size} bytes)`);
      }
      size = given ?? st.size;
    } else {
      size = given!;
    }
    await pool.createImage(name, size, o.createOptions);
    let image: Image | undefined;
    let input: Readable | undefined;
    try {
      image = await pool.openImage(name);
      input = typeof src === 'string' ? fs.createReadStream(src, { highWaterMark: IMPORT_BLOCK }) : src;
      progress?.(0, size);
      const n = await copySparse(image, input, size, depth, progress);
      await image.close();
      return n;
    } catch (err) {
      if (typeof src === 'string') input?.destroy();
      await image?.close().catch(() => undefined);
      await pool.removeImage(name).catch((e: unknown) => {
        process.emitWarning(`@x/rbd: importFrom could not remove the half-made image '${name}': ${e instanceof Error ? e.message : String(e)}`);
      });
      throw err;
    }
  });
}

/**
 * Read `input` into aligned IMPORT_BLOCK blocks and write each block's data
 * runs, `depth` writes in flight. Anything past `size` is written, not
 * skipped, so that the image's bounds check refuses it (InvalidArgument).
 * Progress counts the bytes of the blocks done, in order.
 */
async function copySparse(image: Image, input: Readable, size: number, depth: number, progress: ProgressCallback | undefined): Promise<number> {
  const inflight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  const blocks: Array<{ end: number; pending: number }> = [];
  let acked = 0;
  const advance = (): void => {
    while (blocks.length > 0 && blocks[0].pending === 0) acked = blocks.shift()!.end;
    progress?.(acked, size);
  };
  const submit = async (block: Buffer, offset: number): Promise<void> => {
    const runs = offset + block.length > size ? [[0, block.length] as [number, number]] : dataRuns(block);
    const entry = { end: offset + block.length, pending: runs.length };
    blocks.push(entry);
    if (runs.length === 0) advance();
    for (const [s, e] of runs) {
      while (inflight.size >= depth) await Promise.race(inflight);
      if (failure) throw failure.err;
      const p: Promise<void> = image.write(block.subarray(s, e), offset + s).then(
        () => {
          inflight.delete(p);
          entry.pending--;
          if (entry.pending === 0) advance();
        },
        (err: unknown) => {
          inflight.delete(p);
          failure ??= { err };
        },
      );
      inflight.add(p);
    }
  };

  let offset = 0;
  let parts: Buffer[] = [];
  let partLen = 0;
  for await (const c of input as AsyncIterable<unknown>) {
    let chunk = typeof c === 'string' ? Buffer.from(c) : Buffer.isBuffer(c) ? c : c instanceof Uint8Array ? Buffer.from(c.buffer, c.byteOffset, c.byteLength) : undefined;
    if (chunk === undefined) throw new TypeError('the import source must yield Buffers, Uint8Arrays or strings');
    while (chunk.length > 0) {
      const take = Math.min(IMPORT_BLOCK - partLen, chunk.length);
      parts.push(chunk.subarray(0, take));
      partLen += take;
      chunk = chunk.subarray(take);
      if (partLen === IMPORT_BLOCK) {
        await submit(parts.length === 1 ? parts[0] : Buffer.concat(parts, partLen), offset);
        offset += partLen;
        parts = [];
        partLen = 0;
      }
    }
    if (failure) throw failure.err;
  }
  if (partLen > 0) {
    await submit(parts.length === 1 ? parts[0] : Buffer.concat(parts, partLen), offset);
    offset += partLen;
  }
  await Promise.all(inflight);
  if (failure) throw failure.err;
  await image.flush();
  return offset;
}
