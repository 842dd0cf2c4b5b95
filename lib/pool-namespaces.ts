/** RADOS namespaces for RBD in a pool: `rbd namespace ...`. */
import type { Pool } from './pool';
import { nativeArea } from './native';

/** The native functions of this area (native/namespaces.cc). */
interface NativePoolNamespaces {}

// eslint-disable-next-line @typescript-eslint/no-unused-vars
const api = (): NativePoolNamespaces => nativeArea<NativePoolNamespaces>('namespaces');

export class PoolNamespaces {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.namespaces`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }
}
