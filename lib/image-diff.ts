/** Changed extents of an image: `rbd diff`, and incremental export built on it. */
import type { Image } from './image';
import { nativeArea } from './native';

/** The native functions of this area (native/diff.cc). */
interface NativeDiff {}

// eslint-disable-next-line @typescript-eslint/no-unused-vars
const api = (): NativeDiff => nativeArea<NativeDiff>('diff');

export interface DiffOptions {
  /** Extents changed since this snapshot; default: since the image was created. */
  fromSnapshot?: string;
}

export interface DiffExtent {
  offset: number;
  length: number;
  /** false: the extent holds data; true: it was discarded / is zero. */
  zero: boolean;
}

/** @internal The implementation behind image.diff(). */
// eslint-disable-next-line require-yield
export async function* diffExtents(image: Image, options?: DiffOptions): AsyncGenerator<DiffExtent> {
  void image;
  void options;
  throw new Error('image.diff() is not implemented yet');
}
