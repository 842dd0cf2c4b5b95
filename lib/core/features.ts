/** Image features by name, as `rbd feature enable` and `rbd info` spell them. */

export const FEATURES = {
  /** Clones: child images backed by a parent snapshot. */
  layering: 1 << 0,
  /** Striping v2: data striped over objects with a stripe unit and count (STRIPINGV2). */
  striping: 1 << 1,
  /** One writer at a time holds the image's lock; needed by object-map, journaling and mirroring. */
  'exclusive-lock': 1 << 2,
  /** Tracks which objects exist, for faster diff, clone reads, resize and remove. */
  'object-map': 1 << 3,
  /** Object-map entries also record whether an object changed since a snapshot: fast `diff()` / `du`. */
  'fast-diff': 1 << 4,
  /** Flatten also copies up snapshots' data, so a clone can be detached from its parent completely. */
  'deep-flatten': 1 << 5,
  /** Every write is journaled first: needed by journal-based mirroring. */
  journaling: 1 << 6,
  /** The data objects live in a separate pool (set by `dataPool`, e.g. an erasure-coded one). */
  'data-pool': 1 << 7,
  /** Set by librbd when the image has operations that older clients must not perform (e.g. clone v2). */
  operations: 1 << 8,
  /** Set by librbd while the image is being migrated (`rbd migration`). */
  migrating: 1 << 9,
  /** Set by librbd on a non-primary copy of a snapshot-mirrored image. */
  'non-primary': 1 << 10,
  /** Set by librbd while a persistent write-back cache holds data not yet written to the cluster. */
  'dirty-cache': 1 << 11,
} as const;

/** A feature's name: a key of {@link FEATURES}, as `rbd info` prints it. */
export type FeatureName = keyof typeof FEATURES;
/** A feature bit this version does not know, as `unknown(<bit value>)`. */
export type UnknownFeature = `unknown(${number})`;

export function isFeatureName(s: string): s is FeatureName {
  return Object.prototype.hasOwnProperty.call(FEATURES, s);
}

/** Names for a feature bitmask, in bit order; unknown bits become 'unknown(n)'. */
export function featureNames(bits: number): Array<FeatureName | UnknownFeature> {
  // A negative bigint never reaches 0 below: refuse anything but a 64-bit mask.
  if (typeof bits !== 'number' && typeof bits !== 'bigint') throw new TypeError(`bits must be a number, got ${typeof bits}`);
  if (typeof bits === 'number' && !Number.isSafeInteger(bits)) throw new RangeError(`bits must be a safe integer, got ${bits}`);
  if (bits < 0 || BigInt(bits) >= 1n << 64n) throw new RangeError(`bits must be between 0 and 2^64-1, got ${bits}`);
  const out: Array<FeatureName | UnknownFeature> = [];
  let rest = BigInt(bits);
  for (let bit = 0n; rest !== 0n; bit++) {
    const v = 1n << bit;
    if ((rest & v) === 0n) continue;
    rest &= ~v;
    const name = (Object.keys(FEATURES) as FeatureName[]).find((k) => BigInt(FEATURES[k]) === v);
    out.push(name ?? (`unknown(${v})` as UnknownFeature));
  }
  return out;
}

/** The bitmask for a list of names; throws TypeError naming an unknown feature. */
export function featureBits(names: readonly string[], what = 'features'): number {
  let bits = 0;
  for (const n of names) {
    if (typeof n !== 'string' || !isFeatureName(n)) {
      throw new TypeError(
        `${what}: unknown image feature ${JSON.stringify(n)} (known: ${Object.keys(FEATURES).join(', ')})`,
      );
    }
    bits |= FEATURES[n];
  }
  return bits;
}
