/**
 * Node streams over an image, and the whole-image export / import built on
 * them (`rbd export` / `rbd import`). Reads and writes go through image.read /
 * image.write (rbd_aio_*), several in flight at once; the streams keep them in
 * order and honour back-pressure.
 */
import * as fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { RbdError } from '../core/errors';
import type { Image } from './image';
import { opFlags, type Fadvise, type IoOptions } from './io';
import type { CreateImageOptions } from './options';
import { withProgress, type ProgressCallback } from '../core/progress';
import { checkInt, checkName, checkOptions, checkU64 } from '../core/validate';

const MiB = 1024 * 1024;
/** Default bytes per read / coalesced write: the default object size. */
const DEFAULT_CHUNK = 4 * MiB;
/** Default number of reads or writes kept in flight. */
const DEFAULT_QUEUE_DEPTH = 4;
const MAX_QUEUE_DEPTH = 1024;
const MAX_CHUNK = 1024 * MiB;

/** Options of `image.createReadStream()`. */
export interface ReadStreamOptions {
  /** First byte to read. Default 0. */
  start?: number;
  /**
   * Last byte to read, inclusive (like fs.createReadStream). Default: the last
   * byte of the image. A range past the end of the image stops at the end.
   */
  end?: number;
  /**
   * Bytes per read, and so per chunk pushed; also the Readable's
   * highWaterMark. Reads are aligned to multiples of it (the first one may be
   * shorter), so with the default they match 4 MiB objects. Default 4 MiB.
   */
  highWaterMark?: number;
  /** Reads kept in flight at most. Default 4. Memory held: up to (queueDepth + 1) × highWaterMark. */
  queueDepth?: number;
  /** A caching hint for every read. */
  fadvise?: Fadvise;
}

/** Options of `image.createWriteStream()`. */
export interface WriteStreamOptions {
  /** Offset of the first byte written. Default 0. */
  start?: number;
  /** Writes in flight at most. Default 4. */
  queueDepth?: number;
  /**
   * The Writable's highWaterMark (bytes buffered before write() returns
   * false), and the size up to which small buffered chunks are joined into
   * one write. Chunks of a quarter of it or more are written as they are,
   * without a copy. Default 4 MiB.
   */
  highWaterMark?: number;
  /** A caching hint for every write. */
  fadvise?: Fadvise;
}

/** Options of `image.exportTo()` (like `rbd export`). */
export interface ExportOptions {
  /** Called with the bytes exported so far and the image size. */
  onProgress?: ProgressCallback;
  /** Reads kept in flight. Default 4. */
  queueDepth?: number;
}

/** Options of `pool.importFrom()` (like `rbd import`). */
export interface ImportOptions {
  /**
   * Size of the new image in bytes. Required when importing from a stream;
   * for a file it defaults to the file's size (and may not be smaller).
   * A source longer than `size` fails with InvalidArgument; a shorter one
   * leaves the rest of the image zero.
   */
  size?: number;
  /** How to create the image (features, object size, striping, data pool). */
  createOptions?: CreateImageOptions;
  /** Called with the bytes written so far and the image size. */
  onProgress?: ProgressCallback;
  /** Writes kept in flight. Default 4. */
  queueDepth?: number;
}

/** An offset that fits a Number (streams count bytes in Numbers). */
function checkOffset(value: unknown, what: string): number {
  const n = checkU64(value, what);
  if (typeof n === 'bigint') throw new RangeError(`${what} must be a number (at most 2^53-1)`);
  return n;
}

function checkDepth(value: unknown): number {
  return value === undefined ? DEFAULT_QUEUE_DEPTH : checkInt(value, 'queueDepth', 1, MAX_QUEUE_DEPTH);
}

function checkChunk(value: unknown): number {
  return value === undefined ? DEFAULT_CHUNK : checkInt(value, 'highWaterMark', 1, MAX_CHUNK);
}

/** The IoOptions for a fadvise option, checked now (TypeError for an unknown name). */
function ioOptions(fadvise: unknown): IoOptions {
  if (fadvise === undefined) return {};
  const o = { fadvise: fadvise as Fadvise };
  opFlags(o);
  return o;
}

// ---- read stream ----

/** One read, issued in order; pushed once it and every read before it are done. */
interface ReadSlot {
  buf: Buffer;
  n: number;
  err: unknown;
  done: boolean;
}

/**
 * A Readable over a byte range of an image (image.createReadStream). Up to
 * `queueDepth` reads are in flight; chunks are pushed in order. When push()
 * says the consumer is full, no new read is issued until it asks for more.
 * destroy() while reads are in flight waits for them (their data is dropped)
 * before 'close'. A failed read destroys the stream with the RbdError.
 */
export class ImageReadStream extends Readable {
  readonly #image: Image;
  readonly #io: IoOptions;
  readonly #chunk: number;
  readonly #depth: number;
  /** The requested end, exclusive (before the image size is known). */
  readonly #until: number;
  /** The first byte of the range. */
  readonly start: number;
  #pos: number;
  #end = 0;
  #slots: ReadSlot[] = [];
  readonly #inflight = new Set<Promise<void>>();
  #wanted = false;
  #ended = false;
  #bytesRead = 0;

  /** @internal Use image.createReadStream(). `until` is exclusive. */
  constructor(image: Image, o: { start: number; until: number; chunk: number; depth: number; io: IoOptions }) {
    super({ highWaterMark: o.chunk });
    this.#image = image;
    this.#io = o.io;
    this.#chunk = o.chunk;
    this.#depth = o.depth;
    this.#until = o.until;
    this.start = o.start;
    this.#pos = o.start;
  }

  /** Bytes pushed so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** @internal Node's stream implementation hook. */
  override _construct(callback: (error?: Error | null) => void): void {
    this.#image.stat().then(
      (s) => {
        this.#end = Math.max(this.start, Math.min(this.#until, s.size));
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  /** @internal Node's stream implementation hook. */
  override _read(): void {
    this.#wanted = true;
    this.#pump();
  }

  /** @internal Node's stream implementation hook. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#slots = [];
    // The buffers belong to librbd until each read completes: close only after.
    void Promise.allSettled([...this.#inflight]).then(() => callback(error));
  }

  /** Push the reads that are done, in order; then issue more if the consumer wants them. */
  #pump(): void {
    while (!this.destroyed && !this.#ended) {
      const head = this.#slots[0];
      if (head === undefined || !head.done) break;
      this.#slots.shift();
      if (head.err !== undefined) {
        this.destroy(head.err as Error);
        return;
      }
      const short = head.n < head.buf.length;
      if (head.n > 0) {
        this.#bytesRead += head.n;
        if (!this.push(short ? head.buf.subarray(0, head.n) : head.buf)) this.#wanted = false;
      }
      // A short read: the image shrank under us; it ends here.
      if (short) this.#finish();
    }
    if (this.destroyed || this.#ended) return;
    while (this.#wanted && this.#slots.length < this.#depth && this.#pos < this.#end) this.#issue();
    if (this.#slots.length === 0 && this.#pos >= this.#end) this.#finish();
  }

  #issue(): void {
    const offset = this.#pos;
    const boundary = (Math.floor(offset / this.#chunk) + 1) * this.#chunk;
    const slot: ReadSlot = { buf: Buffer.allocUnsafe(Math.min(boundary, this.#end) - offset), n: 0, err: undefined, done: false };
    this.#pos += slot.buf.length;
    this.#slots.push(slot);
    const p: Promise<void> = this.#image.read(slot.buf, offset, this.#io).then(
      (n) => {
        slot.n = n;
      },
      (err: unknown) => {
        slot.err = err ?? new Error('read failed');
      },
    );
    this.#inflight.add(p);
    void p.then(() => {
      this.#inflight.delete(p);
      slot.done = true;
      this.#pump();
    });
  }

  #finish(): void {
    this.#ended = true;
    this.push(null);
  }
}

/** @internal The implementation behind image.createReadStream(): options checked now, before any I/O. */
export function createImageReadStream(image: Image, options?: ReadStreamOptions): ImageReadStream {
  const o = checkOptions<ReadStreamOptions>(options);
  const start = o.start === undefined ? 0 : checkOffset(o.start, 'start');
  const end = o.end === undefined ? undefined : checkOffset(o.end, 'end');
  if (end !== undefined && end < start) throw new RangeError(`end (${end}) must not be before start (${start})`);
  return new ImageReadStream(image, {
    start,
    until: end === undefined ? Number.MAX_SAFE_INTEGER : end + 1,
    chunk: checkChunk(o.highWaterMark),
    depth: checkDepth(o.queueDepth),
    io: ioOptions(o.fadvise),
  });
}

// ---- write stream ----

/**
 * A Writable that writes to an image at consecutive offsets
 * (image.createWriteStream). Up to `queueDepth` writes are in flight: a
 * chunk's callback is called as soon as its write is issued, unless that
 * many are already outstanding, so the pipeline stays full. Buffers are
 * written in place (do not reuse a Buffer handed to write(), as Node's stream
 * contract says); small buffered chunks are joined into one write. The image
 * is flushed in _final, before 'finish'.
 *
 * A failed write (past the end of the image: InvalidArgument) fails the stream
 * with that RbdError once the writes in flight have settled; its message ends
 * with how far the stream got, and `bytesWritten` says the same.
 */
export class ImageWriteStream extends Writable {
  readonly #image: Image;
  readonly #io: IoOptions;
  readonly #depth: number;
  readonly #join: number;
  /** Offset of the first byte written. */
  readonly start: number;
  #pos: number;
  /** Writes in issue order, for the contiguous count of bytes written. */
  #order: Array<{ end: number; done: boolean }> = [];
  #acked: number;
  readonly #inflight = new Set<Promise<void>>();
  #failure: { err: unknown; reported?: Error } | undefined;
  /** A _write/_writev waiting for a write to settle. */
  #waiter: (() => void) | undefined;
  /** A _write/_writev/_final is running: it reports a failure itself. */
  #busy = false;
  /** A failure is being reported by #failIdle. */
  #watching = false;

  /** @internal Use image.createWriteStream(). */
  constructor(image: Image, o: { start: number; chunk: number; depth: number; io: IoOptions }) {
    super({ highWaterMark: o.chunk });
    this.#image = image;
    this.#io = o.io;
    this.#depth = o.depth;
    this.#join = o.chunk;
    this.start = o.start;
    this.#pos = o.start;
    this.#acked = o.start;
  }

  /**
   * Bytes written and acknowledged by librbd, counted without gaps from
   * `start`: every byte in [start, start + bytesWritten) is written.
   */
  get bytesWritten(): number {
    return this.#acked - this.start;
  }

  /** @internal Node's stream implementation hook. */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#busyWith(() => this.#submit([chunk]), callback);
  }

  /** @internal Node's stream implementation hook. */
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    this.#busyWith(() => this.#submit(joinSmall(chunks.map((c) => c.chunk), this.#join)), callback);
  }

  /** @internal Node's stream implementation hook. */
  override _final(callback: (error?: Error | null) => void): void {
    this.#busyWith(async () => {
      await this.#settle();
      if (this.#failure) throw this.#report();
      await this.#image.flush();
    }, callback);
  }

  #busyWith(fn: () => Promise<void>, callback: (error?: Error | null) => void): void {
    this.#busy = true;
    fn().then(
      () => {
        this.#busy = false;
        callback();
      },
      (err: Error) => {
        this.#busy = false;
        callback(err);
      },
    );
  }

  /** @internal Node's stream implementation hook. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // The buffers belong to librbd until each write completes: close only after.
    void Promise.allSettled([...this.#inflight]).then(() => callback(error));
  }

  async #submit(bufs: Buffer[]): Promise<void> {
    for (const buf of bufs) {
      while (this.#inflight.size >= this.#depth && this.#failure === undefined) await this.#oneSettled();
      if (this.#failure) {
        await this.#settle();
        throw this.#report();
      }
      this.#issue(buf);
    }
  }

  #issue(buf: Buffer): void {
    const offset = this.#pos;
    this.#pos += buf.length;
    const entry = { end: this.#pos, done: false };
    this.#order.push(entry);
    const p: Promise<void> = this.#image.write(buf, offset, this.#io).then(
      () => {
        entry.done = true;
        while (this.#order.length > 0 && this.#order[0].done) this.#acked = this.#order.shift()!.end;
      },
      (err: unknown) => {
        this.#failure ??= { err };
      },
    );
    this.#inflight.add(p);
    void p.then(() => {
      this.#inflight.delete(p);
      const w = this.#waiter;
      this.#waiter = undefined;
      if (w) w();
      else if (this.#failure && !this.#busy && !this.#watching && !this.destroyed) void this.#failIdle();
    });
  }

  /** A write failed while nobody was waiting on the stream: fail it once the rest have settled. */
  async #failIdle(): Promise<void> {
    this.#watching = true;
    await this.#settle();
    this.#watching = false;
    if (!this.destroyed && !this.#busy) this.destroy(this.#report());
  }

  #oneSettled(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiter = resolve;
    });
  }

  async #settle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** The failure, once: an RbdError keeps its class and says how far the stream got. */
  #report(): Error {
    const f = this.#failure!;
    if (f.reported === undefined) {
      const err = f.err instanceof Error ? f.err : new Error(String(f.err));
      if (err instanceof RbdError) {
        err.message += `; the write stream wrote ${this.bytesWritten} bytes from offset ${this.start} (up to offset ${this.#acked})`;
      }
      f.reported = err;
    }
    return f.reported;
  }
}

/** Join runs of small chunks (under a quarter of `target`) into writes of up to `target` bytes; larger chunks pass as they are. */
function joinSmall(chunks: Buffer[], target: number): Buffer[] {
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runLength = 0;
  const flush = (): void => {
    if (run.length === 1) out.push(run[0]);
    else if (run.length > 1) out.push(Buffer.concat(run, runLength));
    run = [];
    runLength = 0;
  };
  for (const c of chunks) {
    if (c.length * 4 >= target) {
      flush();
      out.push(c);
      continue;
    }
    if (runLength + c.length > target) flush();
    run.push(c);
    runLength += c.length;
  }
  flush();
  return out;
}

/** @internal The implementation behind image.createWriteStream(): options checked now, before any I/O. */
export function createImageWriteStream(image: Image, options?: WriteStreamOptions): ImageWriteStream {
  const o = checkOptions<WriteStreamOptions>(options);
  return new ImageWriteStream(image, {
    start: o.start === undefined ? 0 : checkOffset(o.start, 'start'),
    chunk: checkChunk(o.highWaterMark),
    depth: checkDepth(o.queueDepth),
    io: ioOptions(o.fadvise),
  });
}

// ---- export / import ----

function isWritable(v: unknown): v is Writable {
  return v !== null && typeof v === 'object' && typeof (v as Writable).write === 'function' && typeof (v as Writable).once === 'function';
}

/**
 * @internal The implementation behind image.exportTo(): every byte of the
 * image, in order, like `rbd export`. A path is created (an existing file is
 * an error, like the CLI; a failed export removes the file); a Writable is
 * written with back-pressure and left open. Resolves with the bytes written.
 */
export async function exportImage(image: Image, dest: string | Writable, options?: ExportOptions): Promise<number> {
  const o = checkOptions<ExportOptions>(options);
  const depth = checkDepth(o.queueDepth);
  if (typeof dest === 'string') checkName(dest, 'dest path');
  else if (!isWritable(dest)) throw new TypeError('dest must be a file path or a Writable');

  return withProgress(o.onProgress, async (progress) => {
    const total = (await image.stat()).size;
    if (typeof dest !== 'string') return copyOut(image, dest, total, depth, progress);
    const file = fs.createWriteStream(dest, { flags: 'wx' });
    try {
      await new Promise<void>((resolve, reject) => {
        file.once('open', () => resolve());
        file.once('error', reject);
      });
      const n = await copyOut(image, file, total, depth, progress);
      await new Promise<void>((resolve, reject) => {
        file.once('error', reject);
        file.end(resolve);
      });
      return n;
    } catch (err) {
      file.destroy();
      await new Promise<void>((resolve) => (file.closed ? resolve() : file.once('close', () => resolve())));
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await fs.promises.rm(dest, { force: true });
      throw err;
    }
  });
}

async function copyOut(image: Image, out: Writable, total: number, depth: number, progress: ProgressCallback | undefined): Promise<number> {
  const rs = new ImageReadStream(image, { start: 0, until: total, chunk: DEFAULT_CHUNK, depth, io: {} });
  let failure: Error | undefined;
  const onError = (err: Error): void => {
    failure ??= err;
  };
  out.on('error', onError);
  let done = 0;
  try {
    progress?.(0, total);
    for await (const chunk of rs as AsyncIterable<Buffer>) {
      if (failure) throw failure;
      if (!out.write(chunk)) await drained(out);
      if (failure) throw failure;
      done += chunk.length;
      progress?.(done, total);
    }
    return done;
  } finally {
    rs.destroy();
    // No read is left in flight once the export settles.
    await new Promise<void>((resolve) => (rs.closed ? resolve() : rs.once('close', () => resolve())));
    out.off('error', onError);
  }
}

/** @internal Wait for 'drain'; an 'error' or 'close' first rejects. Leaves no listener behind. */
export function drained(out: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: Error): void => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onError = (err: Error): void => settle(err);
    const onClose = (): void => settle(new Error('the destination closed before the export finished'));
    out.on('drain', onDrain);
    out.on('error', onError);
    out.on('close', onClose);
  });
}
