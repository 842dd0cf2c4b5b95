/** Pool-level RBD mirroring: `rbd mirror pool ...`. */
import type { Pool } from './pool';
import { nativeArea } from './native';

/** The native functions of this area. */
interface NativePoolMirror {}

// eslint-disable-next-line @typescript-eslint/no-unused-vars
const api = (): NativePoolMirror => nativeArea<NativePoolMirror>('mirrorPool');

export class PoolMirror {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.mirror`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }
}
