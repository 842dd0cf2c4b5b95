/** What `image.stat()` reports, and its conversion from the native answer. */
import { FEATURES, featureNames, type FeatureName, type UnknownFeature } from '../core/features';
import { OPERATION_FEATURE, type Named } from '../core/constants';
import type { NativeImageStat } from '../core/native';

/** An operation feature by the name `rbd info` prints in `op_features:`. */
export type OperationFeature = 'clone-parent' | 'clone-child' | 'group' | 'snap-trash';

const OP_FEATURES: readonly OperationFeature[] = ['clone-parent', 'clone-child', 'group', 'snap-trash'];

/** The group an image belongs to. */
export interface ImageGroupRef {
  /** The id of the pool the group lives in. */
  poolId: number;
  /** The group's name. */
  name: string;
}

/** What `image.stat()` reports, like `rbd info`. */
export interface ImageStat {
  /** The image name ('' when it was opened by id and has none). */
  name: string;
  /** The image id (the `id:` of `rbd info`). */
  id: string;
  /** Size in bytes. */
  size: number;
  /** Object size in bytes (2^order). */
  objectSize: number;
  /** Object size as a power of two (22: 4 MiB objects). */
  order: number;
  /** Number of objects the image spans (size / object size, rounded up). */
  numObjects: number;
  /** e.g. 'rbd_data.10a46b8b4567'. */
  blockNamePrefix: string;
  /** Enabled features by name, as `rbd info` lists them. */
  features: Array<FeatureName | UnknownFeature>;
  /** The same as a bitmask. */
  featureBits: number;
  /** Image flags bitmask (object map invalid, ...). */
  flags: number;
  /** Stripe unit in bytes (the object size when the image is not striped). */
  stripeUnit: number;
  /** Objects a stripe spans (1 when the image is not striped). */
  stripeCount: number;
  /** When the image was created. */
  createdAt: Date;
  /** Id of the separate data pool, or null when the data lives in the image's pool. */
  dataPoolId: number | null;
  /** Operation features (the `op_features:` line of `rbd info`): what older clients must not touch. */
  opFeatures: Array<OperationFeature | `unknown(${number})`>;
  /** The same as a bitmask (RBD_OPERATION_FEATURE_*). */
  opFeatureBits: number;
  /** When the image was last read (`access_timestamp:`; updated at most every rbd_atime_update_interval). */
  accessedAt: Date;
  /** When the image was last written (`modify_timestamp:`; at most every rbd_mtime_update_interval). */
  modifiedAt: Date;
  /** The group the image belongs to (`rbd group image add`), or null. */
  group: ImageGroupRef | null;
}

/** The names of op-feature bits, `unknown(<bit>)` for a bit these headers do not name. */
function opFeatureNames(bits: number): Array<Named<OperationFeature>> {
  const out: Array<Named<OperationFeature>> = [];
  let known = 0;
  for (const n of OP_FEATURES) {
    const v = OPERATION_FEATURE.value(n);
    known |= v;
    if ((bits & v) !== 0) out.push(n);
  }
  for (let bit = 1, rest = bits & ~known; rest !== 0 && bit <= 2 ** 30; bit *= 2) {
    if ((rest & bit) !== 0) out.push(`unknown(${bit})`);
    rest &= ~bit;
  }
  return out;
}

/** @internal The native stat answer as an ImageStat. */
export function imageStat(s: NativeImageStat): ImageStat {
  return {
    name: s.name,
    id: s.id,
    size: s.size,
    objectSize: s.objectSize,
    order: s.order,
    numObjects: s.numObjects,
    blockNamePrefix: s.blockNamePrefix,
    features: featureNames(s.features),
    featureBits: s.features,
    flags: s.flags,
    stripeUnit: s.stripeUnit,
    stripeCount: s.stripeCount,
    createdAt: new Date(s.createdMs),
    // librbd reports the image's own pool when there is no separate data pool.
    dataPoolId: (s.features & FEATURES['data-pool']) !== 0 ? s.dataPoolId : null,
    opFeatures: opFeatureNames(s.opFeatures),
    opFeatureBits: s.opFeatures,
    accessedAt: new Date(s.accessedMs),
    modifiedAt: new Date(s.modifiedMs),
    group: s.groupPoolId < 0 ? null : { poolId: s.groupPoolId, name: s.groupName },
  };
}
