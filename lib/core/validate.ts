/** Argument checks made before any native call: TypeError for the wrong kind, RangeError for a bad value. */

const U64_MAX = (1n << 64n) - 1n;

/** A non-empty string without NUL bytes (pool, image, snapshot, user names...). */
export function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new RangeError(`${what} must not be empty`);
  if (value.includes('\0')) throw new RangeError(`${what} must not contain NUL bytes`);
  return value;
}

/** A string that may be empty (a namespace) but has no NUL bytes. */
export function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${describe(value)}`);
  if (value.includes('\0')) throw new RangeError(`${what} must not contain NUL bytes`);
  return value;
}

/**
 * An unsigned 64-bit quantity (a size, an offset): a non-negative safe integer
 * Number, or a BigInt up to 2^64-1.
 */
export function checkU64(value: unknown, what: string): number | bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw new RangeError(`${what} must be between 0 and 2^64-1, got ${value}`);
    return value;
  }
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number or bigint, got ${describe(value)}`);
  if (!Number.isInteger(value)) throw new RangeError(`${what} must be an integer, got ${value}`);
  if (value < 0) throw new RangeError(`${what} must not be negative, got ${value}`);
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} is beyond 2^53-1: pass a bigint`);
  return value;
}

/** An integer within [min, max]. */
export function checkInt(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** An optional callback (onProgress...): undefined or a function. */
export function checkCallback(value: unknown, what: string): void {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${what} must be a function, got ${describe(value)}`);
}

export function checkBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${what} must be a boolean, got ${describe(value)}`);
  return value;
}

/** An options object (or undefined → {}). */
export function checkOptions<T extends object>(value: unknown, what = 'options'): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object, got ${describe(value)}`);
  }
  return value as Partial<T>;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
