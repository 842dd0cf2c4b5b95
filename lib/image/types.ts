/** The shapes Image's calls take and give (re-exported by lib/image/image.ts). */
import type { ProgressCallback } from '../core/progress';
import type { CreateImageOptions } from './options';

/** How `pool.openImage()` opens the image. */
export interface OpenImageOptions {
  /** Open without taking the exclusive lock or allowing writes. */
  readOnly?: boolean;
  /** Open at a snapshot (implies readOnly). */
  snapshot?: string;
  /** Open at the snapshot with this id, of any namespace (mirror and trash ones too; implies readOnly; not with `snapshot`). */
  snapshotId?: number;
}


/** Options of `image.resize()`. */
export interface ResizeOptions {
  /** Allow making the image smaller (data past the new end is lost). Default false, like `rbd resize` without --allow-shrink. */
  allowShrink?: boolean;
  /** Called with progress as objects past the new end are removed. */
  onProgress?: ProgressCallback;
}

/** The parent of a cloned image (like the `parent:` lines of `rbd info`). */
export interface ImageParent {
  /** The parent's pool id. */
  poolId: number;
  /** The parent's pool name. */
  pool: string;
  /** The parent's RBD namespace ('' for the default one). */
  namespace: string;
  /** The parent image's id. */
  imageId: string;
  /** The parent image's name. */
  image: string;
  /** The parent image is in the trash. */
  inTrash: boolean;
  /** The id of the parent snapshot the clone was made from. */
  snapshotId: number;
  /** The name of that snapshot. */
  snapshot: string;
  /** Bytes of the parent still visible through the clone. */
  overlap: number;
}

/** A client watching the image, as `rbd status` lists it. */
export interface Watcher {
  /** Client address, e.g. '127.0.0.1:0/3226157325'. */
  address: string;
  /** Client global id (the `client.<id>` of `rbd status`). */
  id: number;
  /** The watch's cookie (one client can hold several watches). */
  cookie: bigint;
}


/** Options of `image.copy()`: how to create the copy, and progress. */
export interface CopyOptions extends CreateImageOptions {
  /** Called with progress as the data is copied. */
  onProgress?: ProgressCallback;
  /** Leave zeroed runs of this many bytes unwritten in the copy (`rbd cp --sparse-size`; rbd_copy_with_progress4): a power of two from 4096. Default: every chunk is written. */
  sparseSize?: number;
}
