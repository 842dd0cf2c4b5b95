/** RADOS namespaces for RBD in a pool: `rbd namespace ...`. */
import type { NativePool } from '../core/native';
import type { Pool } from './pool';
import { native, type NativeBinding } from '../core/native';
import { checkName } from '../core/validate';


const api = (): NativeBinding['namespaces'] => native().namespaces;

/**
 * The RBD namespaces of a pool. Images, groups and the trash of a namespace
 * are reached by opening the pool in it: `cluster.openPool(pool, { namespace })`.
 * These calls act on the pool whichever namespace it was opened in.
 */
export class PoolNamespaces {
  readonly #pool: Pool;

  /** @internal Made by the Pool; reach it as `pool.namespaces`. */
  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Create a namespace (like `rbd namespace create`). Rejects with an EEXIST error if it exists. */
  async create(name: string): Promise<void> {
    checkName(name, 'namespace');
    await this.#pool._call('namespaces.create', (n) => api().create(n, name), { namespace: name });
  }

  /**
   * Remove a namespace (like `rbd namespace remove`). Rejects with
   * NamespaceNotFound if there is none, and fails while it still holds images.
   */
  async remove(name: string): Promise<void> {
    checkName(name, 'namespace');
    await this.#pool._call('namespaces.remove', (n) => api().remove(n, name), {
      namespace: name,
      subject: 'namespace',
    });
  }

  /** The pool's namespaces, sorted, without the default ('') one (like `rbd namespace ls`). */
  async list(): Promise<string[]> {
    const names = await this.#pool._call('namespaces.list', (n) => api().list(n));
    return names.sort();
  }

  /** Whether the pool has this namespace. */
  async exists(name: string): Promise<boolean> {
    checkName(name, 'namespace');
    return this.#pool._call('namespaces.exists', (n) => api().exists(n, name), { namespace: name });
  }
}
