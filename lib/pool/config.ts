/**
 * A pool's librbd config overrides (`rbd config pool get|set|remove|list`) and
 * its metadata (`rbd pool ...` metadata: rbd_pool_metadata_*). An override is
 * pool metadata under the key `conf_<option>`: every image of the pool opened
 * afterwards uses it, unless the image overrides it again (image.config).
 */
import { CONFIG_SOURCE } from '../core/constants';
import type { Pool } from './pool';
import { native, type NativeBinding, type NativeConfigOption } from '../core/native';
import { checkName, checkString } from '../core/validate';

const api = (): NativeBinding['poolConfig'] => native().poolConfig;

/** Where an option's effective value comes from (librbd's rbd_config_source_t). */
export type ConfigSource = 'config' | 'pool' | 'image' | `unknown(${number})`;

/** One librbd option and its effective value (a row of `rbd config pool|image list`). */
export interface ConfigOption {
  /** The option's name, e.g. 'rbd_cache'. */
  name: string;
  /** Its value as text. */
  value: string;
  /** Where the value comes from: the client's config, the pool's override or the image's. */
  source: ConfigSource;
}

/** @internal librbd's option list, named. */
export function configOptions(raw: NativeConfigOption[]): ConfigOption[] {
  return raw
    .map((o) => ({
      name: o.name,
      value: o.value,
      source: CONFIG_SOURCE.name(o.source),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** @internal A librbd option name as `rbd config` takes it ('rbd_...'), and its metadata key. */
export function configKey(option: unknown): string {
  const name = checkName(option, 'option');
  if (!name.startsWith('rbd_')) throw new RangeError(`option must be a librbd option ('rbd_...'), got '${name}'`);
  return `conf_${name}`;
}

/** @internal An option value as text: a string, a number or a boolean. */
export function configValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('value must be a finite number');
    return String(value);
  }
  return checkString(value, 'value');
}

const isNotFound = (err: unknown): boolean => (err as { code?: string }).code === 'ENOENT';

/** The pool's librbd config overrides (`pool.config`), like `rbd config pool ...`. */
export class PoolConfig {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.config`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** The pool's override of `option` (like `rbd config pool get`); undefined when it has none. */
  async get(option: string): Promise<string | undefined> {
    const key = configKey(option);
    try {
      return await this.#pool._call('config.get', (n) => api().metadataGet(n, key));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Override `option` for the pool's images (like `rbd config pool set`).
   * librbd checks the option's name: an unknown one rejects with InvalidArgument.
   */
  async set(option: string, value: string | number | boolean): Promise<void> {
    const key = configKey(option);
    const v = configValue(value);
    await this.#pool._call('config.set', (n) => api().metadataSet(n, key, v));
  }

  /** Remove the pool's override of `option` (like `rbd config pool remove`); NotFound (ENOENT) when there is none. */
  async remove(option: string): Promise<void> {
    const key = configKey(option);
    await this.#pool._call('config.remove', (n) => api().metadataRemove(n, key));
  }

  /** Every librbd option with its value for the pool's images and where it comes from (like `rbd config pool list`), by name. */
  async list(): Promise<ConfigOption[]> {
    return configOptions(await this.#pool._call('config.list', (n) => api().list(n)));
  }
}

/** The pool's key/value metadata (`pool.metadata`): rbd_pool_metadata_*. Keys `conf_*` are the config overrides. */
export class PoolMetadata {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.metadata`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** The value of `key`; undefined when it is not set. */
  async get(key: string): Promise<string | undefined> {
    checkName(key, 'key');
    try {
      return await this.#pool._call('metadata.get', (n) => api().metadataGet(n, key));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Set `key` to `value`. A `conf_` key must name a librbd option (InvalidArgument otherwise). */
  async set(key: string, value: string): Promise<void> {
    checkName(key, 'key');
    checkString(value, 'value');
    await this.#pool._call('metadata.set', (n) => api().metadataSet(n, key, value));
  }

  /** Remove `key`; NotFound (ENOENT) when it is not set. */
  async remove(key: string): Promise<void> {
    checkName(key, 'key');
    await this.#pool._call('metadata.remove', (n) => api().metadataRemove(n, key));
  }

  /** Every key and value, sorted by key. */
  async list(): Promise<Record<string, string>> {
    return Object.fromEntries(await this.#pool._call('metadata.list', (n) => api().metadataList(n)));
  }
}
