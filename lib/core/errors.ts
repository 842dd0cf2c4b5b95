/**
 * Errors. A failed librados/librbd call rejects with an RbdError (or one of the
 * subclasses named like the official Python binding's exceptions) carrying the
 * positive `errno`, its `code` ('ENOENT', ...), the failing operation and the
 * names of the objects involved. Bad arguments throw TypeError / RangeError
 * before any native call.
 */
import { constants } from 'node:os';
import type { NativeErrnoError } from './native';

const errnoNames: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  for (const [name, num] of Object.entries(constants.errno)) {
    // Several names share a number (EWOULDBLOCK/EAGAIN): keep the first, the canonical one.
    if (!m.has(num)) m.set(num, name);
  }
  return m;
})();

/** 'ENOENT' for 2; 'E<n>' for a number the platform has no name for. */
export function errnoCode(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** What a failed call was about, for the message and the error's fields. */
export interface ErrorContext {
  /** The SDK operation, e.g. 'openImage'. */
  op: string;
  /** The cluster name. */
  cluster?: string;
  /** The pool. */
  pool?: string;
  /** The RBD namespace within the pool. */
  namespace?: string;
  /** The image. */
  image?: string;
  /** The snapshot. */
  snapshot?: string;
  /** The image group, for `rbd group ...` calls. */
  group?: string;
  /** What ENOENT means here: decides between PoolNotFound, ImageNotFound, GroupNotFound... */
  subject?: 'pool' | 'image' | 'snapshot' | 'object' | 'group' | 'namespace';
}

/**
 * A failed librados/librbd call. Every error the SDK rejects with for a
 * failing native call is an RbdError, usually one of its subclasses chosen by
 * the errno (and, for ENOENT, by what was looked up).
 */
export class RbdError extends Error {
  /** Positive errno, as librados/librbd returned it (negated). */
  readonly errno: number;
  /** Symbolic errno: 'ENOENT', 'EEXIST', 'EBADF', ... */
  readonly code: string;
  /** The SDK operation that failed. */
  readonly op: string;
  /** The librados/librbd function that failed, when known. */
  readonly nativeOp?: string;
  /** The pool the call was about, when it was about one. */
  readonly pool?: string;
  /** The RBD namespace within the pool, when not the default one. */
  readonly namespace?: string;
  /** The image the call was about, when it was about one. */
  readonly image?: string;
  /** The snapshot the call was about, when it was about one. */
  readonly snapshot?: string;
  /** The image group the call was about, when it was about one. */
  readonly group?: string;

  constructor(errno: number, ctx: ErrorContext, detail?: string, nativeOp?: string) {
    const code = errnoCode(errno);
    super(RbdError.describe(errno, code, ctx, detail));
    this.name = new.target.name;
    this.errno = errno;
    this.code = code;
    this.op = ctx.op;
    if (nativeOp !== undefined) this.nativeOp = nativeOp;
    if (ctx.pool !== undefined) this.pool = ctx.pool;
    if (ctx.namespace) this.namespace = ctx.namespace;
    if (ctx.image !== undefined) this.image = ctx.image;
    if (ctx.snapshot !== undefined) this.snapshot = ctx.snapshot;
    if (ctx.group !== undefined) this.group = ctx.group;
  }

  private static describe(errno: number, code: string, ctx: ErrorContext, detail?: string): string {
    const where: string[] = [];
    if (ctx.pool !== undefined) where.push(`pool '${ctx.pool}${ctx.namespace ? '/' + ctx.namespace : ''}'`);
    if (ctx.group !== undefined) where.push(`group '${ctx.group}'`);
    if (ctx.image !== undefined) where.push(`image '${ctx.image}'`);
    if (ctx.snapshot !== undefined) where.push(`snapshot '${ctx.snapshot}'`);
    const on = where.length ? ` on ${where.join(', ')}` : '';
    return `${ctx.op}${on} failed: ${detail ?? code} (${code}, errno ${errno})`;
  }
}

/** EPERM / EACCES: the cephx user lacks the capability for this call. */
export class PermissionDenied extends RbdError {}
/**
 * A write (write, discard, writeZeroes, writeSame, compareAndWrite, resize)
 * refused because this copy of a mirrored image is not the primary one.
 * Chosen by the image's mirroring state read after the failure, not by the
 * errno, which librbd picks by how it got there: EROFS when rbd-mirror holds
 * the copy's exclusive lock (the usual case on a replaying copy), EPERM when
 * this client took the lock itself and librbd's journal policy refused ("local
 * image not promoted", a demoted copy nobody replays into). `errno` and `code`
 * stay what librbd returned, on every release.
 */
export class NotPrimary extends PermissionDenied {}
/** ENOENT for something other than a pool, image, snapshot, group or namespace (an object, a peer, ...). */
export class NotFound extends RbdError {}
/** ENOENT: the pool does not exist. */
export class PoolNotFound extends NotFound {}
/** ENOENT: the image does not exist (or is not in this namespace). */
export class ImageNotFound extends NotFound {}
/** ENOENT: the image has no snapshot of that name. */
export class SnapshotNotFound extends NotFound {}
/** An image group (`rbd group`) that does not exist. */
export class GroupNotFound extends NotFound {}
/** An RBD namespace (`rbd namespace`) that does not exist. */
export class NamespaceNotFound extends NotFound {}
/** EEXIST: an image (or snapshot, group, peer...) of that name already exists. */
export class ImageExists extends RbdError {}
/** EROFS: the image is read-only here (opened read-only, at a snapshot, or a non-primary mirrored copy). */
export class ReadOnlyImage extends RbdError {}
/** EBUSY: the image is in use (watchers, a held lock, clones still attached). */
export class ImageBusy extends RbdError {}
/** ENOTEMPTY: the image still has snapshots (or a group still has images). */
export class ImageHasSnapshots extends RbdError {}
/** EINVAL: librbd refused an argument or the state the image is in. */
export class InvalidArgument extends RbdError {}
/**
 * A mirroring call on an image whose mirroring is disabled (`rbd mirror image
 * promote` of an image never enabled, ...). Chosen by the image's mirroring
 * state, not by librbd's errno, which differs by call and by release (16.2
 * answers promote and resync with ENOENT, 20.2 with EINVAL): `errno` and
 * `code` are EINVAL on every release, as the rbd CLI says, and `nativeErrno`
 * keeps what librbd returned.
 */
export class MirroringNotEnabled extends InvalidArgument {
  /** The errno librbd returned (ENOENT or EINVAL, by release), when the SDK asked librbd at all. */
  nativeErrno?: number;
}
/**
 * EINVAL from the manager: it has no handler for the command, because the mgr
 * module that serves it is not loaded (`ceph mgr module ls`, health
 * MGR_MODULE_DEPENDENCY). Mirror-snapshot schedules need `rbd_support`; Debian
 * 13's ceph-mgr 18.2.7 loads no Python module at all ("PyO3 modules do not yet
 * support subinterpreters"). `command` is the command's prefix.
 */
export class MgrModuleUnavailable extends InvalidArgument {
  /** The manager command that has no handler, e.g. 'rbd mirror snapshot schedule add'. */
  command?: string;
}
/** ENOSPC: the cluster or pool is full. */
export class NoSpace extends RbdError {}
/** ETIMEDOUT: the cluster did not answer in time (see `timeoutMs` and `operationTimeoutMs`), or a wait timed out. */
export class Timeout extends RbdError {}
/** ESHUTDOWN: the cluster connection has been shut down. */
export class ConnectionShutdown extends RbdError {}
/** EOPNOTSUPP: the image, pool or cluster does not support the operation (a missing feature, an old OSD). */
export class OperationNotSupported extends RbdError {}
/** ENOSYS: this librbd/librados does not implement the call. */
export class FunctionNotSupported extends RbdError {}
/**
 * ENOSYS: the call needs an optional librbd function this build lacks (the
 * addon was compiled against older librbd headers, or runs on an older
 * librbd). `capability` names it, as `capabilities().features` does.
 */
export class CapabilityUnavailable extends FunctionNotSupported {
  /** The capability that is false, e.g. 'mirrorRemoteNamespace'. */
  capability?: string;
}
/** EDOM: an argument is out of the range librbd accepts. */
export class ArgumentOutOfRange extends RbdError {}
/** EDQUOT: a pool quota is reached. */
export class DiskQuotaExceeded extends RbdError {}
/** EIO: an I/O error reported by the OSDs or librbd. */
export class IOError extends RbdError {}
/** compareAndWrite found different data: nothing was written. */
export class CompareMismatch extends RbdError {
  /** Byte offset (from the start of the compared range) of the first difference. */
  mismatchOffset?: number;
}
/** A handle used after close(), or closed while the call was waiting. */
export class HandleClosed extends RbdError {}

type RbdErrorClass = new (errno: number, ctx: ErrorContext, detail?: string, nativeOp?: string) => RbdError;

const byCode: Readonly<Record<string, RbdErrorClass>> = {
  EPERM: PermissionDenied,
  EACCES: PermissionDenied,
  EEXIST: ImageExists,
  EROFS: ReadOnlyImage,
  EBUSY: ImageBusy,
  ENOTEMPTY: ImageHasSnapshots,
  EINVAL: InvalidArgument,
  ENOSPC: NoSpace,
  ETIMEDOUT: Timeout,
  ESHUTDOWN: ConnectionShutdown,
  EOPNOTSUPP: OperationNotSupported,
  ENOSYS: FunctionNotSupported,
  EDOM: ArgumentOutOfRange,
  EDQUOT: DiskQuotaExceeded,
  EIO: IOError,
  EBADF: HandleClosed,
  EILSEQ: CompareMismatch,
};

function classFor(errno: number, ctx: ErrorContext): RbdErrorClass {
  const code = errnoCode(errno);
  if (code === 'ENOENT') {
    switch (ctx.subject) {
      case 'pool':
        return PoolNotFound;
      case 'image':
        return ImageNotFound;
      case 'snapshot':
        return SnapshotNotFound;
      case 'group':
        return GroupNotFound;
      case 'namespace':
        return NamespaceNotFound;
      default:
        return NotFound;
    }
  }
  return byCode[code] ?? RbdError;
}

/** The RbdError for a positive errno in a context. */
export function rbdError(errno: number, ctx: ErrorContext, detail?: string, nativeOp?: string): RbdError {
  const Cls = classFor(errno, ctx);
  return new Cls(errno, ctx, detail, nativeOp);
}

// Duck-typed, not instanceof: errors made by the addon belong to the main
// realm, which is not the realm of code running in a vm context (jest, REPLs).
function isNativeErrno(err: unknown): err is NativeErrnoError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as Partial<NativeErrnoError>).errno === 'number' &&
    typeof (err as Partial<NativeErrnoError>).message === 'string'
  );
}

/**
 * Turn what the addon threw into the error users see: errno errors become
 * RbdErrors; TypeError/RangeError from the addon's own checks pass through.
 */
export function fromNative(err: unknown, ctx: ErrorContext): Error {
  if (isNativeErrno(err)) {
    const detail = err.message.includes(': ') ? err.message.slice(err.message.indexOf(': ') + 2) : undefined;
    const e = rbdError(err.errno, ctx, detail, err.op);
    const mismatch = (err as { mismatchOffset?: unknown }).mismatchOffset;
    if (e instanceof CompareMismatch && typeof mismatch === 'number') e.mismatchOffset = mismatch;
    return e;
  }
  if (err instanceof Error) return err;
  if (typeof err === 'object' && err !== null && typeof (err as Error).message === 'string') return err as Error;
  return new Error(String(err));
}

/** The error for a call on a handle that is closing or closed. */
export function closedError(ctx: ErrorContext, what: string): HandleClosed {
  return new HandleClosed(constants.errno.EBADF, ctx, `the ${what} is closed`);
}
