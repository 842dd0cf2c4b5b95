/**
 * An image's librbd config overrides (`rbd config image get|set|remove|list`):
 * image metadata under the key `conf_<option>`, used by every client that
 * opens the image afterwards (a handle open now keeps its values).
 */
import type { Image } from './image';
import { native, type NativeBinding } from '../core/native';
import { configKey, configOptions, configValue, type ConfigOption } from '../pool/config';

const meta = (): NativeBinding['metadata'] => native().metadata;

/** The image's librbd config overrides (`image.config`), like `rbd config image ...`. */
export class ImageConfig {
  readonly #image: Image;

  /** @internal Made by the Image; reach it as `image.config`. */
  constructor(image: Image) {
    this.#image = image;
  }

  /** The image's override of `option` (like `rbd config image get`); undefined when it has none. */
  async get(option: string): Promise<string | undefined> {
    const key = configKey(option);
    try {
      return await this.#image._call('config.get', (n) => meta().get(n, key));
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Override `option` for this image (like `rbd config image set`); an unknown option rejects with InvalidArgument. */
  async set(option: string, value: string | number | boolean): Promise<void> {
    const key = configKey(option);
    const v = configValue(value);
    await this.#image._call('config.set', (n) => meta().set(n, key, v));
  }

  /** Remove the image's override of `option` (like `rbd config image remove`); NotFound (ENOENT) when there is none. */
  async remove(option: string): Promise<void> {
    const key = configKey(option);
    await this.#image._call('config.remove', (n) => meta().remove(n, key));
  }

  /**
   * Every librbd option with its effective value for this image and where it
   * comes from (like `rbd config image list`), by name. librbd reads the values
   * when the image is opened: a change made since shows on a handle opened after it.
   */
  async list(): Promise<ConfigOption[]> {
    return configOptions(await this.#image._call('config.list', (n) => native().imageConfig.list(n)));
  }
}
