/** Snapshots of an image: `rbd snap ...`. */
import type { Image } from './image';
import { nativeArea } from './native';

/** The native functions of this area (native/snapshots.cc). */
interface NativeImageSnapshots {}

// eslint-disable-next-line @typescript-eslint/no-unused-vars
const api = (): NativeImageSnapshots => nativeArea<NativeImageSnapshots>('snapshots');

export class ImageSnapshots {
  readonly #image: Image;

  /** @internal Made by the Image; reach it as `image.snapshots`. */
  constructor(image: Image) {
    this.#image = image;
  }
}
