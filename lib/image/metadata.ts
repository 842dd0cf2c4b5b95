/** Image metadata (key/value pairs in the header): `rbd image-meta ...`. */
import type { Image } from './image';
import type { NativeImage } from '../core/native';
import { native, type NativeBinding } from '../core/native';
import { checkName, checkString } from '../core/validate';


const api = (): NativeBinding['metadata'] => native().metadata;

/** An image's key/value metadata (`image.metadata`), like `rbd image-meta get/set/remove/list`. */
export class ImageMetadata {
  readonly #image: Image;

  /** @internal Made by the Image; reach it as `image.metadata`. */
  constructor(image: Image) {
    this.#image = image;
  }

  /** The value of `key` (like `rbd image-meta get`); undefined when the key is not set. */
  async get(key: string): Promise<string | undefined> {
    checkName(key, 'key');
    try {
      return await this.#image._call('getMetadata', (n) => api().get(n, key));
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Set `key` to `value` (like `rbd image-meta set`). Keys prefixed `conf_` override librbd options for this image. */
  async set(key: string, value: string): Promise<void> {
    checkName(key, 'key');
    checkString(value, 'value');
    await this.#image._call('setMetadata', (n) => api().set(n, key, value));
  }

  /** Remove `key` (like `rbd image-meta remove`). Rejects with NotFound (ENOENT) when it is not set. */
  async remove(key: string): Promise<void> {
    checkName(key, 'key');
    await this.#image._call('removeMetadata', (n) => api().remove(n, key));
  }

  /** Every key and value, sorted by key (like `rbd image-meta list`). */
  async list(): Promise<Record<string, string>> {
    const pairs = await this.#image._call('listMetadata', (n) => api().list(n));
    return Object.fromEntries(pairs);
  }
}
