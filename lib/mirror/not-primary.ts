/**
 * Naming a write refused because the copy is not primary (NotPrimary). librbd
 * answers such a write with EROFS or EPERM (see NotPrimary in core/errors.ts); the
 * image's mirroring state, read after the failure, decides.
 */
import { constants } from 'node:os';

import { NotPrimary, RbdError } from '../core/errors';
import type { NativeImage, NativeMirrorInfo } from '../core/native';
import { native } from '../core/native';

const { EPERM, EROFS } = constants.errno;

/** rbd_mirror_image_state_t's ENABLED. */
const MIRROR_ENABLED = 1;

/**
 * `err` as NotPrimary when it is an EPERM/EROFS of a write on an image whose
 * mirroring is enabled and whose copy here is not primary; `err` itself
 * otherwise (also when the state cannot be read).
 */
export async function nameNotPrimary(
  err: unknown,
  call: (op: string, fn: (n: NativeImage) => Promise<NativeMirrorInfo>) => Promise<NativeMirrorInfo>,
): Promise<unknown> {
  if (!(err instanceof RbdError) || err instanceof NotPrimary || (err.errno !== EPERM && err.errno !== EROFS)) return err;
  let info: NativeMirrorInfo;
  try {
    info = await call('mirror.info', (n) => native().mirrorImage.info(n));
  } catch {
    return err;
  }
  if (info.state !== MIRROR_ENABLED || info.primary) return err;
  const e = new NotPrimary(
    err.errno,
    { op: err.op, pool: err.pool, namespace: err.namespace, image: err.image },
    `this copy of the mirrored image is not primary (writes go to the primary copy; promote this one to write here): librbd said ${err.code}`,
    err.nativeOp,
  );
  return e;
}
