/**
 * What this build of the addon can call: librbd calls that only newer headers
 * declare are compiled in behind LIBRBD_VER_* / LIBRBD_SUPPORTS_* guards
 * (native/capabilities.h), so one source builds on Ceph 16.2 to 20.2. Ask
 * `capabilities()` instead of calling and failing; a method that needs a
 * missing call rejects with CapabilityUnavailable (a FunctionNotSupported,
 * ENOSYS) naming the capability.
 */
import { constants } from 'node:os';
import { CapabilityUnavailable, type ErrorContext } from '../core/errors';
import { native } from '../core/native';

/** The optional librbd calls the addon knows, by their C names. */
export type OptionalLibrbdCall =
  | 'rbd_mirror_remote_namespace_get'
  | 'rbd_mirror_remote_namespace_set'
  | 'rbd_encryption_load2'
  | 'rbd_aio_compare_and_writev'
  | 'rbd_diff_iterate3';

const CALLS: readonly OptionalLibrbdCall[] = [
  'rbd_mirror_remote_namespace_get',
  'rbd_mirror_remote_namespace_set',
  'rbd_encryption_load2',
  'rbd_aio_compare_and_writev',
  'rbd_diff_iterate3',
];

/** SDK features that need an optional librbd call, and what they need. */
export type CapabilityName = 'mirrorRemoteNamespace' | 'encryptionLoadLayered';

/** What `capabilities()` reports. */
export interface Capabilities {
  /** The librbd version whose headers the addon was compiled against, e.g. '1.16.0' (Ceph 16.2) or '1.20.0' (20.2). */
  librbdHeader: string;
  /** The librbd version loaded at run time. */
  librbd: string;
  /**
   * Each optional librbd call: true when it was compiled in and the loaded
   * librbd is at least as new as the headers (so it is there to call).
   * 16.2 has none of them; 18.2 adds rbd_encryption_load2,
   * rbd_aio_compare_and_writev and rbd_diff_iterate3; 20.2 adds
   * rbd_mirror_remote_namespace_get/set.
   */
  calls: Readonly<Record<OptionalLibrbdCall, boolean>>;
  /** SDK features built on those calls. */
  features: Readonly<Record<CapabilityName, boolean>>;
}

/** Per feature: the calls it needs and the release that first has them (for the error message). */
const NEEDS: Readonly<Record<CapabilityName, { calls: OptionalLibrbdCall[]; since: string }>> = {
  mirrorRemoteNamespace: {
    calls: ['rbd_mirror_remote_namespace_get', 'rbd_mirror_remote_namespace_set'],
    since: 'librbd 1.20 (Ceph 20.2 Tentacle)',
  },
  encryptionLoadLayered: {
    calls: ['rbd_encryption_load2'],
    since: 'librbd 1.17 (Ceph 18.2 Reef)',
  },
};

let cached: Capabilities | undefined;

/**
 * The librbd version the addon was built against, the one loaded, and which
 * optional calls and SDK features are available. Constant for the process.
 *
 * ```ts
 * if (capabilities().features.mirrorRemoteNamespace) await pool.mirror.setRemoteNamespace('dr');
 * ```
 */
export function capabilities(): Capabilities {
  if (cached) return cached;
  const n = native().capabilities();
  const calls = {} as Record<OptionalLibrbdCall, boolean>;
  for (const name of CALLS) calls[name] = n.calls[name]?.available === true;
  const features = {} as Record<CapabilityName, boolean>;
  for (const [name, need] of Object.entries(NEEDS) as Array<[CapabilityName, { calls: OptionalLibrbdCall[] }]>) {
    features[name] = need.calls.every((c) => calls[c]);
  }
  cached = Object.freeze({
    librbdHeader: n.librbdHeader,
    librbd: n.librbd,
    calls: Object.freeze(calls),
    features: Object.freeze(features),
  });
  return cached;
}

/** @internal Throw CapabilityUnavailable for `ctx.op` unless the feature is available. */
export function requireCapability(name: CapabilityName, ctx: ErrorContext): void {
  const caps = capabilities();
  if (caps.features[name]) return;
  const need = NEEDS[name];
  const why =
    caps.librbdHeader === caps.librbd
      ? `this addon was built against librbd ${caps.librbdHeader}`
      : `this addon was built against librbd ${caps.librbdHeader} and runs on librbd ${caps.librbd}`;
  const e = new CapabilityUnavailable(
    constants.errno.ENOSYS,
    ctx,
    `needs ${need.calls.join('/')} of ${need.since} or later; ${why} (capabilities().features.${name} is false)`,
    need.calls[0],
  );
  e.capability = name;
  throw e;
}
