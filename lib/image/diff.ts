/**
 * Changed extents of an image: `rbd diff`, and the incremental export built on
 * it, `rbd export-diff` (the "rbd diff v1" stream that `rbd import-diff` applies).
 */
import { once } from 'node:events';
import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import { NotFound, rbdError, type ErrorContext } from '../core/errors';
import type { Image } from './image';
import { drained } from './streams';
import type { NativeImage } from '../core/native';
import { native, type NativeBinding } from '../core/native';
import { checkBoolean, checkName, checkOptions, checkU64 } from '../core/validate';


const api = (): NativeBinding['diff'] => native().diff;

/** Image bytes covered by one native call: bounded work per call, and `break` waits for at most one. */
const WINDOW = 1024 * 1024 * 1024;
/** At most this many extents come back from one native call, whatever the window holds. */
const MAX_EXTENTS = 4096;

/** Options of `image.diff()` (like `rbd diff`). */
export interface DiffOptions {
  /** Extents changed since this snapshot; default: since the image was created (`rbd diff --from-snap`). */
  fromSnapshot?: string;
  /** Report whole objects instead of the exact changed bytes (`rbd diff --whole-object`): faster with fast-diff. */
  wholeObject?: boolean;
  /** Start of the range to report on, in bytes. Default 0. */
  offset?: number;
  /** Length of the range to report on, in bytes. Default: to the end of the image (as the handle sees it). */
  length?: number;
  /**
   * For a clone: also report the extents it still reads from its parent (the
   * default, true, like `rbd diff`); false reports only what the clone itself
   * wrote (rbd_diff_iterate2's include_parent).
   */
  includeParent?: boolean;
}

/** A changed extent of the image, as `image.diff()` yields them. */
export interface DiffExtent {
  /** Start of the extent, in bytes. */
  offset: number;
  /** Length of the extent, in bytes. */
  length: number;
  /** false: the extent holds data; true: it was discarded / is zero. */
  zero: boolean;
}

interface CheckedDiffOptions {
  fromSnapshot: string | null;
  wholeObject: boolean;
  offset: number;
  length: number | undefined;
  includeParent: boolean;
}

function checkDiffOptions(options: unknown): CheckedDiffOptions {
  const o = checkOptions<DiffOptions>(options);
  const small = (v: unknown, what: string): number => {
    const n = checkU64(v, what);
    if (typeof n === 'bigint') throw new RangeError(`${what} must be a number (at most 2^53-1)`);
    return n;
  };
  return {
    fromSnapshot: o.fromSnapshot === undefined ? null : checkName(o.fromSnapshot, 'fromSnapshot'),
    wholeObject: o.wholeObject === undefined ? false : checkBoolean(o.wholeObject, 'wholeObject'),
    offset: o.offset === undefined ? 0 : small(o.offset, 'offset'),
    length: o.length === undefined ? undefined : small(o.length, 'length'),
    includeParent: o.includeParent === undefined ? true : checkBoolean(o.includeParent, 'includeParent'),
  };
}

/**
 * @internal The implementation behind image.diff(). Options are checked now
 * (a TypeError / RangeError throws from the call itself); the extents are
 * fetched lazily, one window at a time.
 */
export function diffExtents(image: Image, options?: DiffOptions): AsyncGenerator<DiffExtent> {
  return walk(image, checkDiffOptions(options));
}

async function* walk(image: Image, o: CheckedDiffOptions): AsyncGenerator<DiffExtent> {
  const extra: Partial<ErrorContext> = o.fromSnapshot === null ? {} : { snapshot: o.fromSnapshot, subject: 'snapshot' };
  const size = (await image.stat()).size;
  const end = o.length === undefined ? size : Math.min(size, o.offset + o.length);
  let pos = o.offset;
  while (pos < end) {
    // Windows aligned on WINDOW (a multiple of any object size), so extents split where `rbd diff`'s do.
    const stop = Math.min(end, (Math.floor(pos / WINDOW) + 1) * WINDOW);
    const r = await image._call(
      'diff',
      (n) => api().iterate(n, o.fromSnapshot, pos, stop - pos, o.wholeObject, MAX_EXTENTS, o.includeParent),
      extra,
    );
    const e = r.extents;
    for (let i = 0; i < e.length; i += 3) {
      yield { offset: e[i] as number, length: e[i + 1] as number, zero: !(e[i + 2] as boolean) };
    }
    pos = r.next > pos ? r.next : stop;
  }
}

/** Options of `exportDiff()` (like `rbd export-diff`). */
export interface ExportDiffOptions {
  /** The diff starts at this snapshot (`--from-snap`); default: the whole image since its creation. */
  fromSnapshot?: string;
  /**
   * The diff ends at this snapshot of the image (`rbd export-diff image@snap`),
   * which is then recorded in the stream so that `rbd import-diff` creates it.
   * Default: what the handle reads (the head, or the snapshot it was opened at,
   * with no end snapshot recorded).
   */
  toSnapshot?: string;
  /** Compare whole objects (`--whole-object`). */
  wholeObject?: boolean;
}

/** What `exportDiff()` wrote. */
export interface ExportDiffResult {
  /** The image size recorded in the stream (at the end snapshot). */
  size: number;
  /** Extents written as data records ('w'). */
  dataExtents: number;
  /** Bytes of image data in them. */
  dataBytes: number;
  /** Extents written as zero records ('z'): discarded, or read back as all zeros. */
  zeroExtents: number;
  /** Bytes of the whole stream. */
  bytesWritten: number;
}

/** Reads kept in flight ahead of the writer, like `rbd export-diff`'s concurrent reads. */
const READ_AHEAD = 8;
const BANNER = 'rbd diff v1\n';

/**
 * Write an incremental export of `image` in the format of `rbd export-diff`
 * ("rbd diff v1"), for `rbd import-diff` to apply to a copy that has the
 * from-snapshot:
 *
 * ```ts
 * await exportDiff(image, '/backup/disk-s1-s2.diff', { fromSnapshot: 's1', toSnapshot: 's2' });
 * // rbd import-diff /backup/disk-s1-s2.diff pool/copy
 * ```
 *
 * `target` is a file path (created; an existing file is an error, like the
 * CLI, and a failed export removes it) or a Writable (written with
 * backpressure and left open, so that several diffs can go to one stream).
 * The stream is the same, byte for byte, as `rbd export-diff` writes: data
 * extents that read back as all zeros become zero records.
 * Errors: a missing from- or to-snapshot rejects with SnapshotNotFound.
 */
export async function exportDiff(
  image: Image,
  target: Writable | string,
  options?: ExportDiffOptions,
): Promise<ExportDiffResult> {
  const o = checkOptions<ExportDiffOptions>(options);
  const from = o.fromSnapshot === undefined ? undefined : checkName(o.fromSnapshot, 'fromSnapshot');
  const to = o.toSnapshot === undefined ? undefined : checkName(o.toSnapshot, 'toSnapshot');
  const wholeObject = o.wholeObject === undefined ? false : checkBoolean(o.wholeObject, 'wholeObject');
  if (typeof target !== 'string' && !isWritable(target)) throw new TypeError('target must be a file path or a Writable');
  if (typeof target === 'string') checkName(target, 'target path');

  const source = to === undefined ? image : await openAt(image, to);
  try {
    if (typeof target !== 'string') return await writeDiff(source, target, from, to, wholeObject);
    const file = fs.createWriteStream(target, { flags: 'wx' });
    try {
      await once(file, 'open');
      const result = await writeDiff(source, file, from, to, wholeObject);
      file.end();
      await once(file, 'finish');
      return result;
    } catch (err) {
      if (!file.closed) {
        const closed = once(file, 'close').catch(() => undefined);
        file.destroy();
        await closed;
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await fs.promises.rm(target, { force: true });
      throw err;
    }
  } finally {
    if (source !== image) await source.close();
  }
}

function isWritable(v: unknown): v is Writable {
  return v !== null && typeof v === 'object' && typeof (v as Writable).write === 'function' && typeof (v as Writable).once === 'function';
}

/** A read-only handle on the same image at `snapshot`; a missing snapshot is SnapshotNotFound. */
async function openAt(image: Image, snapshot: string): Promise<Image> {
  const { id } = await image.stat();
  try {
    return await image.pool.openImageById(id, { snapshot });
  } catch (err) {
    if (err instanceof NotFound) {
      const ctx: ErrorContext = {
        op: 'exportDiff',
        cluster: image.pool.cluster.name,
        pool: image.pool.name,
        namespace: image.pool.namespace,
        image: image.name,
        snapshot,
        subject: 'snapshot',
      };
      throw rbdError(err.errno, ctx, `no snapshot '${snapshot}'`, err.nativeOp);
    }
    throw err;
  }
}

async function writeDiff(
  source: Image,
  out: Writable,
  from: string | undefined,
  to: string | undefined,
  wholeObject: boolean,
): Promise<ExportDiffResult> {
  let failure: Error | undefined;
  const onError = (err: Error): void => {
    failure ??= err;
  };
  out.on('error', onError);
  const result: ExportDiffResult = { size: 0, dataExtents: 0, dataBytes: 0, zeroExtents: 0, bytesWritten: 0 };
  const write = async (chunk: Buffer): Promise<void> => {
    if (failure) throw failure;
    result.bytesWritten += chunk.length;
    if (!out.write(chunk)) {
      // drained() removes its listeners whichever event comes first (events.once
      // in a race would leave the loser's 'error'/'close' listeners behind).
      await drained(out);
      if (failure) throw failure;
    }
  };

  // Extents are read ahead, a few at a time, and written in order.
  const pending: Array<{ extent: DiffExtent; data: Promise<Buffer | null> }> = [];
  const flushOne = async (): Promise<void> => {
    const { extent, data } = pending.shift()!;
    const buf = await data;
    if (buf !== null && buf.length !== extent.length) {
      throw new Error(`exportDiff: short read at ${extent.offset}: ${buf.length} of ${extent.length} bytes`);
    }
    if (buf !== null && !isZero(buf)) {
      await write(Buffer.concat([Buffer.from('w'), u64(extent.offset), u64(extent.length)]));
      await write(buf);
      result.dataExtents++;
      result.dataBytes += buf.length;
    } else {
      await write(Buffer.concat([Buffer.from('z'), u64(extent.offset), u64(extent.length)]));
      result.zeroExtents++;
    }
  };

  try {
    result.size = (await source.stat()).size;
    const head: Buffer[] = [Buffer.from(BANNER, 'latin1')];
    if (from !== undefined) head.push(Buffer.from('f'), str(from));
    if (to !== undefined) head.push(Buffer.from('t'), str(to));
    head.push(Buffer.from('s'), u64(result.size));
    await write(Buffer.concat(head));

    for await (const extent of diffExtents(source, { ...(from === undefined ? {} : { fromSnapshot: from }), wholeObject })) {
      // Not cached on the way through, like `rbd export-diff`'s reads.
      const data = extent.zero ? Promise.resolve(null) : source.read(extent.offset, extent.length, { fadvise: 'nocache' });
      data.catch(() => undefined); // awaited in order below; an early failure must not go unhandled meanwhile
      pending.push({ extent, data });
      if (pending.length >= READ_AHEAD) await flushOne();
    }
    while (pending.length > 0) await flushOne();
    await write(Buffer.from('e'));
    return result;
  } finally {
    // Let reads still in flight settle before the source handle may close.
    await Promise.allSettled(pending.map((p) => p.data));
    out.off('error', onError);
  }
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

function str(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const b = Buffer.alloc(4 + bytes.length);
  b.writeUInt32LE(bytes.length);
  bytes.copy(b, 4);
  return b;
}

const ZEROS = Buffer.alloc(64 * 1024);

function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i += ZEROS.length) {
    const n = Math.min(ZEROS.length, buf.length - i);
    if (!buf.subarray(i, i + n).equals(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n))) return false;
  }
  return true;
}
