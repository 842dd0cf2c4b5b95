/** The pool's trash: `rbd trash ...`. */
import type { Pool } from './pool';
import { nativeArea } from './native';

/** The native functions of this area (native/trash.cc). */
interface NativePoolTrash {}

// eslint-disable-next-line @typescript-eslint/no-unused-vars
const api = (): NativePoolTrash => nativeArea<NativePoolTrash>('trash');

export class PoolTrash {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.trash`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }
}
