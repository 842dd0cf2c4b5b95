/**
 * What the parts of `pool.mirror` share: the native calls on the pool
 * (errors in the pool's context, op 'mirror.<op>'). librbd's enum values
 * are named in lib/core/constants.ts.
 */
import type { ErrorContext } from '../core/errors';
import { native, type NativeBinding, type NativePool } from '../core/native';
import type { Pool } from '../pool/pool';

/** The addon's pool-mirroring calls. */
export const api = (): NativeBinding['mirrorPool'] => native().mirrorPool;

/** Images asked for per page of librbd's mirror lists. */
export const PAGE = 1024;

/** librbd's "no such entry". */
export const ENOENT = 2;

/** Whether `err` carries ENOENT. */
export function isEnoent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { errno?: unknown }).errno === ENOENT;
}

/** Run a native call on the pool's handle as `mirror.<op>`. */
export function mirrorCall<T>(pool: Pool, op: string, fn: (n: NativePool) => Promise<T>, extra?: Partial<ErrorContext>): Promise<T> {
  return pool._call(`mirror.${op}`, fn, extra);
}

/** The error context of `mirror.<op>` on the pool. */
export function mirrorContext(pool: Pool, op: string): ErrorContext {
  return { op: `mirror.${op}`, cluster: pool.cluster.name, pool: pool.name, namespace: pool.namespace };
}
