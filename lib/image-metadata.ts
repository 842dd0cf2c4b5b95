/** Image metadata (key/value pairs in the header): `rbd image-meta ...`. */
import type { Image } from './image';
import { nativeArea } from './native';

/** The native functions of this area (native/metadata.cc). */
interface NativeImageMetadata {}

// eslint-disable-next-line @typescript-eslint/no-unused-vars
const api = (): NativeImageMetadata => nativeArea<NativeImageMetadata>('metadata');

export class ImageMetadata {
  readonly #image: Image;

  /** @internal Made by the Image; reach it as `image.metadata`. */
  constructor(image: Image) {
    this.#image = image;
  }
}
