/**
 * Data-path helpers for Image: the native `io` area's surface, fadvise names
 * and argument checks. The methods themselves are on Image (image.read, ...).
 */
import { constants as bufferConstants } from 'node:buffer';
import type { NativeImage } from '../core/native';
import { FADVISE } from '../core/constants';
import { native, type NativeBinding } from '../core/native';

/** librados fadvise hints for one I/O (rbd_aio_read2 / write2 op flags). */
export type Fadvise = 'random' | 'sequential' | 'willneed' | 'dontneed' | 'nocache';

/** Per-I/O options of read, write and the other data calls. */
export interface IoOptions {
  /** A caching hint for this I/O. */
  fadvise?: Fadvise;
}

let cached: NativeBinding['io'] | undefined;
/** The io area, looked up once (the data path calls it per I/O). */
export const io = (): NativeBinding['io'] => (cached ??= native().io);

/** read(buffer, offset)'s result: the bytes read, as they are. */
export const bytesRead = (n: number): number => n;

/** The op flags for IoOptions (0 when none). */
export function opFlags(options: IoOptions | undefined): number {
  if (options === undefined) return 0;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options must be an object');
  const f = options.fadvise;
  if (f === undefined) return 0;
  if (typeof f !== 'string' || !(FADVISE.names as string[]).includes(f)) {
    throw new TypeError(`fadvise must be one of ${FADVISE.names.join(', ')}, got ${JSON.stringify(f)}`);
  }
  return FADVISE.value(f);
}

/** A Uint8Array (Buffer included), recognised across realms. */
export function checkBytes(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value; // the common case, this realm
  if (!ArrayBuffer.isView(value) || Object.prototype.toString.call(value) !== '[object Uint8Array]') {
    throw new TypeError(`${what} must be a Buffer or Uint8Array`);
  }
  return value as Uint8Array;
}

/** A length for one buffer: 0 .. buffer.constants.MAX_LENGTH. */
export function checkLength(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 0 || value > bufferConstants.MAX_LENGTH) {
    throw new RangeError(`${what} must be an integer from 0 to ${bufferConstants.MAX_LENGTH}, got ${value}`);
  }
  return value;
}

/** Options of `image.writeZeroes()`. */
export interface WriteZeroesOptions extends IoOptions {
  /**
   * Allocate the range on the OSDs as written zeros (RBD_WRITE_ZEROES_FLAG_THICK_PROVISION,
   * what `rbd create --thick-provision` does) instead of deallocating it: later writes there need no new space.
   */
  thickProvision?: boolean;
}

/** The most Buffers one readv / writev takes (IOV_MAX on Linux). */
export const MAX_IOVECS = 1024;

/** The Buffers of a readv / writev, and their total length. */
export function checkBufferList(value: unknown, what: string): { buffers: Uint8Array[]; total: number } {
  if (!Array.isArray(value)) throw new TypeError(`${what} must be an array of Buffers or Uint8Arrays`);
  if (value.length === 0 || value.length > MAX_IOVECS) throw new RangeError(`${what} must hold 1 to ${MAX_IOVECS} Buffers, got ${value.length}`);
  const buffers = value.map((b, i) => checkBytes(b, `${what}[${i}]`));
  return { buffers, total: buffers.reduce((n, b) => n + b.length, 0) };
}
