/**
 * librbd's and librados' enums and flags, by name. The values come from the
 * headers the addon was compiled against (native/core/constants.cc exports
 * them as `constants`), read once on first use; this file only says which C
 * name each of our names stands for. A value this table does not know comes
 * out as `unknown(<n>)`, never as a throw: a newer cluster may report states
 * this version has no name for.
 *
 * (The public FEATURES table in features.ts stays a literal, because it is
 * part of the API and usable without loading the addon;
 * test/unit/core/constants.test.ts checks it against the headers.)
 */
import { native, type NativeConstantGroup } from './native';

/** One group of the addon's constants; an addon without it is older than this lib/ (a stale build). */
function group(name: NativeConstantGroup): Record<string, number> {
  const g = (native().constants as Partial<Record<NativeConstantGroup, Record<string, number>>> | undefined)?.[name];
  if (g === undefined) throw new Error(`@x/rbd: the native addon exports no constants.${name}: it is older than this package's lib/ (rebuild it: npm rebuild @x/rbd)`);
  return g;
}

/** A name of ours, or `unknown(<n>)` for a value librbd reported that we have no name for. */
export type Named<N extends string> = N | `unknown(${number})`;

/** One enum: our names in order, each with the C name whose value it has. */
export class NamedEnum<N extends string> {
  #byValue: Map<number, N> | undefined;
  #byName: Map<N, number> | undefined;

  /**
   * `extra`: values librbd reports that its header does not name (each with
   * where the number comes from, in a comment at the call site).
   */
  constructor(
    readonly group: NativeConstantGroup,
    private readonly cNames: Readonly<Record<N, string>>,
    private readonly extra: Readonly<Partial<Record<N, number>>> = {} as Partial<Record<N, number>>,
  ) {}

  #load(): void {
    if (this.#byName) return;
    const values = group(this.group);
    const byName = new Map<N, number>();
    const byValue = new Map<number, N>();
    for (const [n, c] of Object.entries(this.cNames) as Array<[N, string]>) {
      const v = values[c] ?? this.extra[n];
      if (typeof v !== 'number') continue; // not in the headers this addon was built against
      byName.set(n, v);
      if (!byValue.has(v)) byValue.set(v, n);
    }
    this.#byName = byName;
    this.#byValue = byValue;
  }

  /** Our names, in the order this table lists them. */
  get names(): N[] {
    return Object.keys(this.cNames) as N[];
  }

  /** The name of a value librbd reported, or `unknown(<n>)`. */
  name(value: number): Named<N> {
    this.#load();
    return this.#byValue!.get(value) ?? `unknown(${value})`;
  }

  /** The value of one of our names; throws (a bug of ours, not bad input) for a name the headers lack. */
  value(name: N): number {
    this.#load();
    const v = this.#byName!.get(name);
    if (v === undefined) throw new Error(`@x/rbd: ${this.group}.${String(this.cNames[name])} is not in the librbd headers the addon was built against`);
    return v;
  }

  /**
   * The value for a caller's argument: a TypeError unless it is one of
   * `allowed` (default: every name), naming them.
   */
  check(value: unknown, what: string, allowed: readonly N[] = this.names): number {
    if (typeof value !== 'string') throw new TypeError(`${what} must be a string, one of ${allowed.join(', ')}`);
    if (!(allowed as readonly string[]).includes(value)) {
      throw new TypeError(`${what} must be one of ${allowed.join(', ')}, got '${value}'`);
    }
    return this.value(value as N);
  }
}

/** A set of flags by name, values from the headers. */
export class NamedFlags<N extends string> {
  #values: Map<N, number> | undefined;

  constructor(
    readonly group: NativeConstantGroup,
    private readonly cNames: Readonly<Record<N, string>>,
  ) {}

  /** Our names, in the order this table lists them. */
  get names(): N[] {
    return Object.keys(this.cNames) as N[];
  }

  /** The bit (or mask) of one flag. */
  value(name: N): number {
    if (!this.#values) {
      const values = group(this.group);
      this.#values = new Map();
      for (const [n, c] of Object.entries(this.cNames) as Array<[N, string]>) {
        const v = values[c];
        if (typeof v === 'number') this.#values.set(n, v);
      }
    }
    const v = this.#values.get(name);
    if (v === undefined) throw new Error(`@x/rbd: ${this.group}.${String(this.cNames[name])} is not in the librbd headers the addon was built against`);
    return v;
  }

  /** The flags whose names are set to true, or-ed. */
  of(set: Partial<Record<N, boolean>>): number {
    let bits = 0;
    for (const [n, on] of Object.entries(set) as Array<[N, boolean | undefined]>) if (on) bits |= this.value(n);
    return bits;
  }
}

// ---- mirroring ---------------------------------------------------------------------------------------------

/** rbd_mirror_mode_t: a pool's (namespace's) mirroring mode. */
export const MIRROR_MODE = new NamedEnum('mirrorMode', {
  disabled: 'RBD_MIRROR_MODE_DISABLED',
  image: 'RBD_MIRROR_MODE_IMAGE',
  pool: 'RBD_MIRROR_MODE_POOL',
});

/** rbd_mirror_image_mode_t. */
export const MIRROR_IMAGE_MODE = new NamedEnum('mirrorImageMode', {
  journal: 'RBD_MIRROR_IMAGE_MODE_JOURNAL',
  snapshot: 'RBD_MIRROR_IMAGE_MODE_SNAPSHOT',
});

/**
 * rbd_mirror_image_state_t. 'creating' is not in librbd.h's enum but librbd
 * passes it through: cls_rbd's MIRROR_IMAGE_STATE_CREATING (3), the
 * non-primary copy rbd-mirror is still creating.
 */
export const MIRROR_IMAGE_STATE = new NamedEnum(
  'mirrorImageState',
  {
    disabling: 'RBD_MIRROR_IMAGE_DISABLING',
    enabled: 'RBD_MIRROR_IMAGE_ENABLED',
    disabled: 'RBD_MIRROR_IMAGE_DISABLED',
    creating: 'RBD_MIRROR_IMAGE_CREATING',
  },
  { creating: 3 },
);

/** rbd_mirror_image_status_state_t, as `rbd mirror image status` prints it after `up+` / `down+`. */
export const MIRROR_STATUS_STATE = new NamedEnum('mirrorStatusState', {
  unknown: 'MIRROR_IMAGE_STATUS_STATE_UNKNOWN',
  error: 'MIRROR_IMAGE_STATUS_STATE_ERROR',
  syncing: 'MIRROR_IMAGE_STATUS_STATE_SYNCING',
  starting_replay: 'MIRROR_IMAGE_STATUS_STATE_STARTING_REPLAY',
  replaying: 'MIRROR_IMAGE_STATUS_STATE_REPLAYING',
  stopping_replay: 'MIRROR_IMAGE_STATUS_STATE_STOPPING_REPLAY',
  stopped: 'MIRROR_IMAGE_STATUS_STATE_STOPPED',
});

/** rbd_mirror_peer_direction_t. */
export const MIRROR_PEER_DIRECTION = new NamedEnum('mirrorPeerDirection', {
  'rx-only': 'RBD_MIRROR_PEER_DIRECTION_RX',
  'tx-only': 'RBD_MIRROR_PEER_DIRECTION_TX',
  'rx-tx': 'RBD_MIRROR_PEER_DIRECTION_RX_TX',
});

// ---- images and snapshots ----------------------------------------------------------------------------------

/** RBD_IMAGE_OPTION_*: the keys of the [key, value] pairs create, clone and copy pass down. */
export const IMAGE_OPTION = new NamedFlags('imageOption', {
  format: 'RBD_IMAGE_OPTION_FORMAT',
  features: 'RBD_IMAGE_OPTION_FEATURES',
  order: 'RBD_IMAGE_OPTION_ORDER',
  stripeUnit: 'RBD_IMAGE_OPTION_STRIPE_UNIT',
  stripeCount: 'RBD_IMAGE_OPTION_STRIPE_COUNT',
  journalOrder: 'RBD_IMAGE_OPTION_JOURNAL_ORDER',
  journalSplayWidth: 'RBD_IMAGE_OPTION_JOURNAL_SPLAY_WIDTH',
  journalPool: 'RBD_IMAGE_OPTION_JOURNAL_POOL',
  dataPool: 'RBD_IMAGE_OPTION_DATA_POOL',
  cloneFormat: 'RBD_IMAGE_OPTION_CLONE_FORMAT',
});

/** RBD_SNAP_CREATE_*. */
export const SNAP_CREATE = new NamedFlags('snapCreateFlag', {
  skipQuiesce: 'RBD_SNAP_CREATE_SKIP_QUIESCE',
  ignoreQuiesceError: 'RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR',
});

/** RBD_SNAP_REMOVE_*. */
export const SNAP_REMOVE = new NamedFlags('snapRemoveFlag', {
  unprotect: 'RBD_SNAP_REMOVE_UNPROTECT',
  flatten: 'RBD_SNAP_REMOVE_FLATTEN',
  force: 'RBD_SNAP_REMOVE_FORCE',
});

/** rbd_snap_namespace_type_t, as `rbd snap ls --all` names them. */
export const SNAP_NAMESPACE = new NamedEnum('snapNamespaceType', {
  user: 'RBD_SNAP_NAMESPACE_TYPE_USER',
  group: 'RBD_SNAP_NAMESPACE_TYPE_GROUP',
  trash: 'RBD_SNAP_NAMESPACE_TYPE_TRASH',
  mirror: 'RBD_SNAP_NAMESPACE_TYPE_MIRROR',
});

/** rbd_snap_mirror_state_t. */
export const SNAP_MIRROR_STATE = new NamedEnum('snapMirrorState', {
  primary: 'RBD_SNAP_MIRROR_STATE_PRIMARY',
  'primary-demoted': 'RBD_SNAP_MIRROR_STATE_PRIMARY_DEMOTED',
  'non-primary': 'RBD_SNAP_MIRROR_STATE_NON_PRIMARY',
  'non-primary-demoted': 'RBD_SNAP_MIRROR_STATE_NON_PRIMARY_DEMOTED',
});

/** rbd_lock_mode_t. */
export const LOCK_MODE = new NamedEnum('lockMode', {
  exclusive: 'RBD_LOCK_MODE_EXCLUSIVE',
  shared: 'RBD_LOCK_MODE_SHARED',
});

/** LIBRADOS_OP_FLAG_FADVISE_*: the caching hints of one I/O (IoOptions.fadvise). */
export const FADVISE = new NamedFlags('opFlag', {
  random: 'LIBRADOS_OP_FLAG_FADVISE_RANDOM',
  sequential: 'LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL',
  willneed: 'LIBRADOS_OP_FLAG_FADVISE_WILLNEED',
  dontneed: 'LIBRADOS_OP_FLAG_FADVISE_DONTNEED',
  nocache: 'LIBRADOS_OP_FLAG_FADVISE_NOCACHE',
});

/** rbd_encryption_format_t: the formats format() writes and load() reads. */
export const ENCRYPTION_FORMAT = new NamedFlags('encryptionFormat', {
  luks1: 'RBD_ENCRYPTION_FORMAT_LUKS1',
  luks2: 'RBD_ENCRYPTION_FORMAT_LUKS2',
});

/** rbd_encryption_algorithm_t. */
export const ENCRYPTION_ALGORITHM = new NamedFlags('encryptionAlgorithm', {
  'aes-128': 'RBD_ENCRYPTION_ALGORITHM_AES128',
  'aes-256': 'RBD_ENCRYPTION_ALGORITHM_AES256',
});

/** rbd_image_migration_state_t, as `rbd status` names it. */
export const MIGRATION_STATE = new NamedEnum('migrationState', {
  unknown: 'RBD_IMAGE_MIGRATION_STATE_UNKNOWN',
  error: 'RBD_IMAGE_MIGRATION_STATE_ERROR',
  preparing: 'RBD_IMAGE_MIGRATION_STATE_PREPARING',
  prepared: 'RBD_IMAGE_MIGRATION_STATE_PREPARED',
  executing: 'RBD_IMAGE_MIGRATION_STATE_EXECUTING',
  executed: 'RBD_IMAGE_MIGRATION_STATE_EXECUTED',
  aborting: 'RBD_IMAGE_MIGRATION_STATE_ABORTING',
});

/** rbd_config_source_t: where an option's value comes from. */
export const CONFIG_SOURCE = new NamedEnum('configSource', {
  config: 'RBD_CONFIG_SOURCE_CONFIG',
  pool: 'RBD_CONFIG_SOURCE_POOL',
  image: 'RBD_CONFIG_SOURCE_IMAGE',
});

// ---- pools -------------------------------------------------------------------------------------------------

/** rbd_trash_image_source_t, as `rbd trash ls --all` shows it. */
export const TRASH_SOURCE = new NamedEnum('trashSource', {
  user: 'RBD_TRASH_IMAGE_SOURCE_USER',
  mirroring: 'RBD_TRASH_IMAGE_SOURCE_MIRRORING',
  migration: 'RBD_TRASH_IMAGE_SOURCE_MIGRATION',
  removing: 'RBD_TRASH_IMAGE_SOURCE_REMOVING',
  'user-parent': 'RBD_TRASH_IMAGE_SOURCE_USER_PARENT',
});

/** rbd_group_image_state_t. */
export const GROUP_IMAGE_STATE = new NamedEnum('groupImageState', {
  attached: 'RBD_GROUP_IMAGE_STATE_ATTACHED',
  incomplete: 'RBD_GROUP_IMAGE_STATE_INCOMPLETE',
});

/** rbd_group_snap_state_t. */
export const GROUP_SNAP_STATE = new NamedEnum('groupSnapState', {
  incomplete: 'RBD_GROUP_SNAP_STATE_INCOMPLETE',
  complete: 'RBD_GROUP_SNAP_STATE_COMPLETE',
});

// ---- locks, capacity and I/O (issue #15) ------------------------------------------------------------------

/** RBD_WRITE_ZEROES_FLAG_*: how `image.writeZeroes()` zeroes. */
export const WRITE_ZEROES = new NamedFlags('writeZeroesFlag', {
  thickProvision: 'RBD_WRITE_ZEROES_FLAG_THICK_PROVISION',
});

/** RBD_OPERATION_FEATURE_*: the op_features of `rbd info`, named as `rbd info` prints them. */
export const OPERATION_FEATURE = new NamedFlags('operationFeature', {
  'clone-parent': 'RBD_OPERATION_FEATURE_CLONE_PARENT',
  'clone-child': 'RBD_OPERATION_FEATURE_CLONE_CHILD',
  group: 'RBD_OPERATION_FEATURE_GROUP',
  'snap-trash': 'RBD_OPERATION_FEATURE_SNAP_TRASH',
});

/** RBD_FLAG_*: the image flags of `image.stat().flags`. */
export const IMAGE_FLAG = new NamedFlags('imageFlag', {
  objectMapInvalid: 'RBD_FLAG_OBJECT_MAP_INVALID',
  fastDiffInvalid: 'RBD_FLAG_FAST_DIFF_INVALID',
});
