/** Image: an open RBD image. */
import type { ErrorContext } from './errors';
import { FEATURES, featureNames, type FeatureName, type UnknownFeature } from './features';
import type { NativeImage } from './native';
import { ImageMetadata } from './image-metadata';
import { ImageSnapshots } from './image-snapshots';
import type { Pool } from './pool';
import { Resource } from './resource';

export interface OpenImageOptions {
  /** Open without taking the exclusive lock or allowing writes. */
  readOnly?: boolean;
  /** Open at a snapshot (implies readOnly). */
  snapshot?: string;
}

export interface ImageStat {
  name: string;
  id: string;
  /** Size in bytes. */
  size: number;
  /** Object size in bytes (2^order). */
  objectSize: number;
  order: number;
  numObjects: number;
  /** e.g. 'rbd_data.10a46b8b4567'. */
  blockNamePrefix: string;
  /** Enabled features by name, as `rbd info` lists them. */
  features: Array<FeatureName | UnknownFeature>;
  /** The same as a bitmask. */
  featureBits: number;
  /** Image flags bitmask (object map invalid, ...). */
  flags: number;
  stripeUnit: number;
  stripeCount: number;
  createdAt: Date;
  /** Id of the separate data pool, or null when the data lives in the image's pool. */
  dataPoolId: number | null;
}

export class Image extends Resource {
  protected readonly kind = 'image';
  readonly #native: NativeImage;
  /** The pool this image was opened from. */
  readonly pool: Pool;
  /** The name (or id, when opened by id) it was opened with. */
  readonly name: string;
  readonly readOnly: boolean;
  /** Snapshots: `rbd snap ...`. */
  readonly snapshots: ImageSnapshots;
  /** Key/value metadata: `rbd image-meta ...`. */
  readonly metadata: ImageMetadata;

  private constructor(pool: Pool, n: NativeImage, name: string, readOnly: boolean) {
    super(pool);
    this.pool = pool;
    this.#native = n;
    this.name = name;
    this.readOnly = readOnly;
    this.snapshots = new ImageSnapshots(this);
    this.metadata = new ImageMetadata(this);
  }

  /** @internal Used by Pool.openImage. */
  static _create(pool: Pool, n: NativeImage, name: string, readOnly: boolean): Image {
    return new Image(pool, n, name, readOnly);
  }

  protected context(op: string): ErrorContext {
    return { op, cluster: this.pool.cluster.name, pool: this.pool.name, namespace: this.pool.namespace, image: this.name };
  }

  protected closeNative(): Promise<void> {
    return this.#native.close();
  }

  /**
   * @internal For the API-area classes (snapshots, metadata, ...): run a native
   * call on this image as an in-flight operation, with its errors named.
   */
  _call<T>(op: string, fn: (n: NativeImage) => Promise<T>, extra?: Partial<ErrorContext>): Promise<T> {
    return this.run(op, () => fn(this.#native), extra);
  }

  /** Size, layout, id, features and creation time (like `rbd info`). */
  async stat(): Promise<ImageStat> {
    const s = await this.run('stat', () => this.#native.stat());
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
    };
  }
}
