/** Groups of images and their snapshots: `rbd group ...`. */
import type { Pool } from './pool';
import { nativeArea } from './native';

/** The native functions of this area (native/groups.cc). */
interface NativePoolGroups {}

// eslint-disable-next-line @typescript-eslint/no-unused-vars
const api = (): NativePoolGroups => nativeArea<NativePoolGroups>('groups');

export class PoolGroups {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.groups`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }
}
