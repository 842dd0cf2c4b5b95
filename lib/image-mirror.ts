/** Image-level RBD mirroring: `rbd mirror image ...`. */
import type { Image } from './image';
import { nativeArea } from './native';

/** The native functions of this area. */
interface NativeImageMirror {}

// eslint-disable-next-line @typescript-eslint/no-unused-vars
const api = (): NativeImageMirror => nativeArea<NativeImageMirror>('mirrorImage');

export class ImageMirror {
  readonly #image: Image;

  /** @internal Made by the Image; reach it as `image.mirror`. */
  constructor(image: Image) {
    this.#image = image;
  }
}
