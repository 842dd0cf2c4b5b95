/**
 * What the parts of `pool.mirror` share: the native calls on the pool
 * (errors in the pool's context, op 'mirror.<op>'), and the mapping of
 * librbd's enum values to names and back.
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

/** librbd's value `n` → its name, 'unknown(n)' for one this version does not know. */
export function enumName<T extends string>(names: readonly T[], n: number): T | `unknown(${number})` {
  return names[n] ?? `unknown(${n})`;
}

/** A name → librbd's value, TypeError unless it is one of `allowed`. */
export function enumCode<T extends string>(names: readonly T[], value: unknown, what: string, allowed: readonly T[] = names): number {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, one of ${allowed.join(', ')}`);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new TypeError(`${what} must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return names.indexOf(value as T);
}
