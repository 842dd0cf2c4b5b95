/** `rbd pool stats`: the pool's (namespace's) images, provisioned bytes and snapshots, in use and in the trash. */
import type { Pool } from './pool';
import { native } from '../core/native';

/** What `pool.imageStats()` reports, like `rbd pool stats`. */
export interface PoolImageStats {
  /** Images in the pool (namespace), trash excluded. */
  images: number;
  /** Their provisioned bytes (the sum of their sizes, snapshots excluded). */
  provisionedBytes: number;
  /** Each image at its largest size, head or snapshot, added up (what a full rollback could need). */
  maxProvisionedBytes: number;
  /** Their snapshots. */
  snapshots: number;
  /** The same four figures for the images in the trash. */
  trash: PoolTrashStats;
}

/** The trash's part of `pool.imageStats()`. */
export interface PoolTrashStats {
  /** Images in the trash. */
  images: number;
  /** Their provisioned bytes. */
  provisionedBytes: number;
  /** Each at its largest size, head or snapshot, added up. */
  maxProvisionedBytes: number;
  /** Their snapshots. */
  snapshots: number;
}

/** @internal The implementation behind pool.imageStats(). */
export async function poolImageStats(pool: Pool): Promise<PoolImageStats> {
  const s = await pool._call('imageStats', (n) => native().poolStats.get(n));
  return {
    images: s.images,
    provisionedBytes: s.provisionedBytes,
    maxProvisionedBytes: s.maxProvisionedBytes,
    snapshots: s.snapshots,
    trash: { images: s.trashImages, provisionedBytes: s.trashProvisionedBytes, maxProvisionedBytes: s.trashMaxProvisionedBytes, snapshots: s.trashSnapshots },
  };
}
