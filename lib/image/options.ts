/** How an image is created: `rbd create`'s options, checked and turned into librbd image options. */
import { IMAGE_OPTION } from '../core/constants';
import { featureBits } from '../core/features';
import type { NativeImageOption } from '../core/native';
import { checkInt, checkName, checkOptions } from '../core/validate';

/** librbd image options for CreateImageOptions: checked here, passed down as [key, value] pairs. */
export function imageOptions(options: unknown): NativeImageOption[] {
  const o = checkOptions<CreateImageOptions>(options);
  const opts: NativeImageOption[] = [[IMAGE_OPTION.value('format'), 2]];
  if (o.order !== undefined && o.objectSize !== undefined) {
    throw new TypeError('give either order or objectSize, not both');
  }
  if (o.order !== undefined) opts.push([IMAGE_OPTION.value('order'), checkInt(o.order, 'order', 12, 25)]);
  if (o.objectSize !== undefined) {
    const s = checkInt(o.objectSize, 'objectSize', 4096, 32 * 1024 * 1024);
    if ((s & (s - 1)) !== 0) throw new RangeError(`objectSize must be a power of two, got ${s}`);
    opts.push([IMAGE_OPTION.value('order'), Math.log2(s)]);
  }
  if (o.features !== undefined) {
    if (!Array.isArray(o.features)) throw new TypeError('features must be an array of feature names');
    opts.push([IMAGE_OPTION.value('features'), featureBits(o.features)]);
  }
  if ((o.stripeUnit === undefined) !== (o.stripeCount === undefined)) {
    throw new TypeError('give both stripeUnit and stripeCount, or neither');
  }
  if (o.stripeUnit !== undefined) {
    opts.push([IMAGE_OPTION.value('stripeUnit'), checkInt(o.stripeUnit, 'stripeUnit', 1, 2 ** 32)]);
    opts.push([IMAGE_OPTION.value('stripeCount'), checkInt(o.stripeCount, 'stripeCount', 1, 2 ** 32)]);
  }
  if (o.dataPool !== undefined) opts.push([IMAGE_OPTION.value('dataPool'), checkName(o.dataPool, 'dataPool')]);
  if (o.journal !== undefined) {
    const j = checkOptions<JournalOptions>(o.journal, 'journal');
    if (j.objectSize !== undefined) {
      const s = checkInt(j.objectSize, 'journal.objectSize', 4096, 64 * 1024 * 1024);
      if ((s & (s - 1)) !== 0) throw new RangeError(`journal.objectSize must be a power of two, got ${s}`);
      opts.push([IMAGE_OPTION.value('journalOrder'), Math.log2(s)]);
    }
    if (j.splayWidth !== undefined) opts.push([IMAGE_OPTION.value('journalSplayWidth'), checkInt(j.splayWidth, 'journal.splayWidth', 1, 255)]);
    if (j.pool !== undefined) opts.push([IMAGE_OPTION.value('journalPool'), checkName(j.pool, 'journal.pool')]);
  }
  return opts;
}

/** Journal settings for an image with the journaling feature (`rbd create --journal-*`). */
export interface JournalOptions {
  /** Size of each journal object in bytes (a power of two). */
  objectSize?: number;
  /** Number of journal objects written in parallel. */
  splayWidth?: number;
  /** Pool for the journal's objects (default: the image's pool). */
  pool?: string;
}

/** How `pool.createImage()` creates the image, like the options of `rbd create`. */
export interface CreateImageOptions {
  /** Object size as a power of two, 12 (4 KiB) to 25 (32 MiB). Default: the pool's (22, 4 MiB). */
  order?: number;
  /** Object size in bytes (a power of two); an alternative to `order`. */
  objectSize?: number;
  /**
   * Features by name, e.g. ['layering', 'exclusive-lock', 'journaling'].
   * Default: the cluster's rbd_default_features.
   */
  features?: readonly string[];
  /** Striping: stripe unit in bytes and stripe count (both or neither). */
  stripeUnit?: number;
  /** Striping: objects a stripe spans (with `stripeUnit`). */
  stripeCount?: number;
  /** Put the image's data objects in another pool (erasure-coded data pools). */
  dataPool?: string;
  /** Journal settings, used when the image has (or later gets) the journaling feature. */
  journal?: JournalOptions;
}
