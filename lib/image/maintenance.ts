/**
 * Capacity and maintenance of an image: disk usage (`rbd du`), sparsify,
 * deep copy, object-map rebuild, cache invalidation. The methods are on Image;
 * these are their implementations.
 */
import type { Image } from './image';
import type { Pool } from '../pool/pool';
import { native } from '../core/native';
import { IMAGE_FLAG } from '../core/constants';
import { isHandle } from '../core/resource';
import { imageOptions, type CreateImageOptions } from './options';
import { withProgress, type ProgressCallback } from '../core/progress';
import { checkCallback, checkInt, checkName, checkOptions } from '../core/validate';

/** Options of `image.sparsify()`. */
export interface SparsifyOptions {
  /** Deallocate zeroed runs of at least this many bytes: a power of two from 4096 (the default, like `rbd sparsify`). */
  sparseSize?: number;
  /** Called with progress as the objects are scanned. */
  onProgress?: ProgressCallback;
}

/** Options of `image.deepCopy()`: how to create the copy, and progress. */
export interface DeepCopyOptions extends CreateImageOptions {
  /** Called with progress as the data is copied. */
  onProgress?: ProgressCallback;
}

/** The usage of one snapshot, or of the image's head (`image.du()`), like a line of `rbd du`. */
export interface DiskUsageEntry {
  /** The snapshot's name (null for the head: the image as it is now). */
  snapshot: string | null;
  /** The snapshot's id (null for the head). */
  snapshotId: number | null;
  /** Provisioned bytes: the image's size at that snapshot (PROVISIONED). */
  provisioned: number;
  /** Bytes of objects written since the snapshot before (USED): whole objects, as `rbd du` counts them. */
  used: number;
}

/** What `image.du()` reports, like `rbd du <image>`. */
export interface DiskUsage {
  /** One entry per snapshot, oldest first, then the head (always last). */
  entries: DiskUsageEntry[];
  /** The head's provisioned bytes (the `<TOTAL>` PROVISIONED of `rbd du`). */
  provisioned: number;
  /** The used bytes of every entry added up (the `<TOTAL>` USED). */
  used: number;
  /** Whether the figures came from the fast-diff object map (fast) rather than from listing the objects. */
  fastDiff: boolean;
}

/** @internal A sparse size: a power of two, at least 4096. */
export function checkSparseSize(value: unknown, what: string): number {
  const n = checkInt(value, what, 4096, 2 ** 30);
  if ((n & (n - 1)) !== 0) throw new RangeError(`${what} must be a power of two from 4096, got ${n}`);
  return n;
}

/** Bytes of whole objects written in [fromSnapshot, the handle's snapshot or head), the parent left out. */
async function usedSince(image: Image, fromSnapshot: string | undefined): Promise<number> {
  let used = 0;
  for await (const e of image.diff({ fromSnapshot, wholeObject: true, includeParent: false })) if (!e.zero) used += e.length;
  return used;
}

/** @internal The implementation behind image.du(). */
export async function diskUsage(image: Image): Promise<DiskUsage> {
  const st = await image.stat();
  const invalid = IMAGE_FLAG.of({ objectMapInvalid: true, fastDiffInvalid: true });
  const fastDiff = st.features.includes('fast-diff') && (st.flags & invalid) === 0;
  const snaps = [...(await image.snapshots.list())].sort((a, b) => a.id - b.id);
  const entries: DiskUsageEntry[] = [];
  let prev: string | undefined;
  for (const s of snaps) {
    await using at = await image.pool.openImageById(st.id, { snapshotId: s.id });
    entries.push({ snapshot: s.name, snapshotId: s.id, provisioned: s.size, used: await usedSince(at, prev) });
    prev = s.name;
  }
  entries.push({ snapshot: null, snapshotId: null, provisioned: st.size, used: await usedSince(image, prev) });
  return { entries, provisioned: st.size, used: entries.reduce((n, e) => n + e.used, 0), fastDiff };
}

/** @internal The implementation behind image.sparsify(). */
export async function sparsify(image: Image, options: SparsifyOptions | undefined): Promise<void> {
  const o = checkOptions<SparsifyOptions>(options);
  const size = o.sparseSize === undefined ? 4096 : checkSparseSize(o.sparseSize, 'sparseSize');
  checkCallback(o.onProgress, 'onProgress');
  await withProgress(o.onProgress, (cb) => image._call('sparsify', (n) => native().maintenance.sparsify(n, size, cb)));
}

/** @internal The implementation behind image.rebuildObjectMap(). */
export async function rebuildObjectMap(image: Image, options: { onProgress?: ProgressCallback } | undefined): Promise<void> {
  const o = checkOptions<{ onProgress?: ProgressCallback }>(options);
  checkCallback(o.onProgress, 'onProgress');
  await withProgress(o.onProgress, (cb) => image._call('rebuildObjectMap', (n) => native().maintenance.rebuildObjectMap(n, cb)));
}

/** @internal The implementation behind image.deepCopy(). */
export async function deepCopy(image: Image, pool: Pool, name: string, options: DeepCopyOptions | undefined): Promise<void> {
  if (!isHandle<Pool>(pool, 'pool')) throw new TypeError('pool must be a Pool');
  checkName(name, 'image name');
  const { onProgress, ...create } = checkOptions<DeepCopyOptions>(options);
  checkCallback(onProgress, 'onProgress');
  const opts = imageOptions(create);
  await withProgress(onProgress, (cb) =>
    pool._call('deepCopy', (dest) => image._call('deepCopy', (n) => native().maintenance.deepCopy(n, dest, name, opts, cb)), { image: name }),
  );
}
