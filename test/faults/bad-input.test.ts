/**
 * Bad input, generated. Every public method of Cluster, Pool, Image, their area
 * objects (image.snapshots/metadata/mirror, pool.trash/namespaces/groups/mirror)
 * and every function exported from lib/index.ts is found by reflection and must
 * have an entry in SIGNATURES below (a table of valid-argument templates, each
 * argument with a kind); a method without one fails the coverage test. For each
 * argument position the kind's bad values are tried, one position at a time,
 * the other arguments valid:
 *
 * - wrong types (undefined, null, number, string, object, array, function,
 *   symbol, bigint), out-of-range numbers (negative, NaN, ±Infinity, 2^64,
 *   2^53, non-integer), huge lengths (2^40), strings with NUL bytes, empty and
 *   10,000-character strings, and the same inside options objects, field by field;
 * - calls on closed handles (HandleClosed, code 'EBADF', errno 9);
 * - handles of another Cluster connection where a handle is taken (another
 *   connection to the same cluster, and one to the other site);
 * - each call racing close() of its handle.
 *
 * Every outcome must be a value, a TypeError, a RangeError or an RbdError
 * (thrown or rejected); a call that does not settle within 20 s is a hang (its
 * synchronous part runs under a vm timeout, so an endless loop counts too).
 * Values a method must refuse ('pre') must be refused with a TypeError or
 * RangeError of the SDK itself (this realm, not the addon's backstop) before any
 * native call: Resource.run/runIo/runSync, which every native call on a handle
 * goes through, are counted.
 *
 * Everything runs in a scratch pool of site-a made for this file (deleted at
 * the end), so pool-wide calls (mirror mode, pool promote/demote, peers) never
 * touch the lab's pool. A few calls change state of the whole cluster (the
 * mirroring site name): for those, values that pass validation are sent to a
 * closed handle instead (EBADF), so they cannot rename a site other tests use.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import * as vm from 'node:vm';
import * as lib from '../../lib';
import {
  Cluster,
  Image,
  ImageMetadata,
  ImageLocks,
  ImageMirror,
  ImageSnapshots,
  Pool,
  PoolGroups,
  PoolMirror,
  PoolNamespaces,
  PoolTrash,
  RbdError,
  // issue #15 rows 2, 3, 5
  PoolMigration,
  ImageEncryption,
  PoolConfig,
  PoolMetadata,
  ImageConfig,
} from '../../lib';
import type { Lab } from '../../lib/lab';
import { Resource } from '../../lib/core/resource';
import { getLab } from '../setup/lab-env';
import { tally } from './tally';

const CALL_BOUND_MS = 20_000;
const SYNC_BOUND_MS = 5_000;
const MiB = 1024 * 1024;
const rid = `xbad-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
let seq = 0;
const uniq = (what: string): string => `${rid}-${what}-${++seq}`;

// ------------------------------------------------------------------ the world the calls run in

interface Handles {
  cluster: Cluster;
  pool: Pool;
  image: Image;
}

interface Ctx extends Handles {
  lab: Lab;
  poolName: string;
  /** The current image's name and id (a fresh image per Image-area method). */
  imageName: string;
  imageId: string;
  tmp: string;
  /** A 64 KiB file for importFrom. */
  srcFile: string;
  /** Another connection to site-a, and a pool of it. */
  sameCluster: Cluster;
  samePool: Pool;
  /** A connection to site-b and the scratch pool there; an image in it. */
  foreignCluster: Cluster;
  foreignPool: Pool;
  foreignImage: Image;
  /** Closed handles (their cluster connection was closed). */
  closed: Handles;
}

let c: Ctx;

// ------------------------------------------------------------------ argument kinds and their bad values

/** 'pre': must be refused with a TypeError/RangeError before any native call. 'any': a value or a typed error. */
type Expect = 'pre' | 'any';

interface Bad {
  label: string;
  value: () => unknown;
  expect: Expect;
}

type Kind =
  | 'name' // non-empty string without NUL
  | 'str' // string, may be empty, no NUL
  | 'strOrScalar' // setConfig's value: string | number | boolean
  | 'u64' // number or bigint, 0..2^64-1
  | 'num53' // a Number offset/length (bigint refused)
  | 'len' // a buffer length (Number, at most buffer.constants.MAX_LENGTH)
  | 'int' // an integer within [min, max]
  | 'ms' // a timeout in ms (number >= 0)
  | 'bool'
  | 'bytes' // a Uint8Array
  | 'bufferList' // an array of 1..1024 Uint8Arrays (readv / writev)
  | 'fn' // a callback
  | 'enum'
  | 'features' // a feature name or an array of them
  | 'featureList' // an array of feature names
  | 'nameList' // an array of names
  | 'uuid'
  | 'interval' // '1h', '30m'
  | 'date'
  | 'fraction' // 0..1
  | 'opts' // an options object, fields checked one by one
  | 'config' // Cluster.connect's config record
  | 'command' // a mon/mgr command object
  | 'pool' // a Pool handle
  | 'image' // an Image handle
  | 'signal' // an AbortSignal
  | 'match' // waitForState's predicate or match object
  | 'dest' // a file path or a Writable
  | 'src' // a file path or a Readable
  | 'pure'; // an argument of a pure function: anything may come back, as long as it is typed

interface ArgSpec {
  kind: Kind;
  /** The valid template value (called each time: names can be fresh). */
  valid: () => unknown;
  /** Optional: undefined is a valid value. */
  optional?: boolean;
  /** For 'int': the range. */
  min?: number;
  max?: number;
  /** For 'enum': the allowed values. */
  values?: readonly string[];
  /** For 'opts': the fields to vary one by one. */
  fields?: Record<string, ArgSpec>;
  /** A call that passes validation changes state the whole lab shares: send such values to a closed handle only. */
  shared?: boolean;
  /** null is a valid value (setCurrent(null), children(null)). */
  nullable?: boolean;
  /** Types another overload of the method accepts in this position (image.read(offset, ...) and read(buffer, ...)). */
  alsoAccepts?: readonly string[];
  /** For an options field: required (undefined refused). Fields are optional otherwise. */
  required?: boolean;
}

interface Sig {
  args: ArgSpec[];
}

const LONG = (): string => `${rid}-${'x'.repeat(10_000)}`;

/** The wrong-type values every kind is tried with; `keep` lists the types the kind accepts. */
function wrongTypes(keep: ReadonlySet<string>, optional: boolean): Bad[] {
  const all: Array<[string, () => unknown]> = [
    ['undefined', () => undefined],
    ['null', () => null],
    ['number', () => 42],
    ['string', () => 'x'],
    ['object', () => ({})],
    ['array', () => []],
    ['function', () => () => undefined],
    ['symbol', () => Symbol('bad')],
    ['bigint', () => 10n],
    ['boolean', () => true],
  ];
  return all
    .filter(([t]) => !keep.has(t))
    .map(([t, value]) => ({ label: t, value, expect: t === 'undefined' && optional ? 'any' : 'pre' }));
}

const pre = (label: string, value: () => unknown): Bad => ({ label, value, expect: 'pre' });
const any = (label: string, value: () => unknown): Bad => ({ label, value, expect: 'any' });

const BAD_NUMBERS: Bad[] = [
  pre('-1', () => -1),
  pre('NaN', () => NaN),
  pre('Infinity', () => Infinity),
  pre('-Infinity', () => -Infinity),
  pre('2^64', () => 2 ** 64),
  pre('2^53', () => 2 ** 53),
  pre('1.5', () => 1.5),
  pre('-0.5', () => -0.5),
];

function badValues(a: ArgSpec): Bad[] {
  const opt = a.optional === true;
  const T = (...keep: string[]) => wrongTypes(new Set(keep), opt);
  switch (a.kind) {
    case 'name':
      return [...T('string'), pre("''", () => ''), pre('NUL', () => 'a\0b'), any('10,000 chars', LONG)];
    case 'str':
      return [...T('string'), any("''", () => ''), pre('NUL', () => 'a\0b'), any('10,000 chars', LONG)];
    case 'strOrScalar':
      return [...T('string', 'number', 'boolean'), any("''", () => ''), pre('NUL', () => 'a\0b'), any('10,000 chars', LONG)];
    case 'u64':
      return [
        ...T('number', 'bigint'),
        any('bigint', () => 1n),
        ...BAD_NUMBERS,
        pre('-1n', () => -1n),
        pre('2^64 (bigint)', () => 2n ** 64n),
        any('2^64-1 (bigint)', () => 2n ** 64n - 1n),
        any('2^53-1', () => Number.MAX_SAFE_INTEGER),
      ];
    case 'num53':
      return [...T('number'), ...BAD_NUMBERS, any('2^53-1', () => Number.MAX_SAFE_INTEGER)];
    case 'len':
      return [...T('number'), ...BAD_NUMBERS, pre('2^40', () => 2 ** 40), pre('2^32+1', () => 2 ** 32 + 1)];
    case 'int': {
      const min = a.min ?? 0;
      const max = a.max ?? Number.MAX_SAFE_INTEGER;
      const out = [...T('number'), ...BAD_NUMBERS.filter((b) => b.label !== '-1' || min > -1), pre('min-1', () => min - 1)];
      if (max < Number.MAX_SAFE_INTEGER) out.push(pre('max+1', () => max + 1));
      return out;
    }
    case 'ms':
      return [...T('number'), pre('-1', () => -1), pre('NaN', () => NaN), any('Infinity', () => Infinity)];
    case 'bool':
      return T('boolean');
    case 'bytes':
      return [...T(), any('empty', () => Buffer.alloc(0)), pre('Uint16Array', () => new Uint16Array(4)), pre('DataView', () => new DataView(new ArrayBuffer(4)))];
    case 'bufferList':
      return [
        ...T('array'),
        pre('[]', () => []),
        pre('[42]', () => [42]),
        pre("[Buffer, 'x']", () => [Buffer.alloc(1), 'x']),
        pre('[Uint16Array]', () => [new Uint16Array(4)]),
        pre('1025 Buffers', () => Array.from({ length: 1025 }, () => Buffer.alloc(1))),
        any('[empty Buffer]', () => [Buffer.alloc(0)]),
      ];
    case 'fn':
      return T('function');
    case 'enum':
      return [...T('string'), pre("''", () => ''), pre("'bogus'", () => 'bogus'), pre('NUL', () => `${a.values?.[0]}\0`)];
    case 'features':
      return [...T('string'), pre("'bogus'", () => 'bogus'), pre('[]', () => []), pre("['bogus']", () => ['bogus']), pre('[42]', () => [42])];
    case 'featureList':
      return [...T('array'), pre("['bogus']", () => ['bogus']), pre('[42]', () => [42]), pre('[null]', () => [null])];
    case 'nameList':
      return [...T('array'), pre('[42]', () => [42]), pre('[null]', () => [null]), pre("['']", () => ['']), any('[missing]', () => [`${rid}-no-such-image`])];
    case 'uuid':
      return [...T('string'), pre("''", () => ''), pre('NUL', () => 'a\0b'), pre('not a uuid', () => 'not-a-uuid'), pre('10,000 chars', LONG)];
    case 'interval':
      return [...T('string'), pre("''", () => ''), pre("'bogus'", () => 'bogus'), pre("'0h'", () => '0h'), pre('NUL', () => '1h\0'), pre('10,000 chars', LONG)];
    case 'date':
      return [...T(), pre('Invalid Date', () => new Date(NaN)), pre('a number', () => Date.now())];
    case 'fraction':
      return [...T('number'), pre('-0.1', () => -0.1), pre('1.1', () => 1.1), pre('NaN', () => NaN), pre('Infinity', () => Infinity)];
    case 'opts':
      return [...T('object'), any('{}', () => ({}))];
    case 'config':
      return [
        ...T('object'),
        any('{}', () => ({})),
        pre("{ '': 'x' }", () => ({ '': 'x' })),
        pre('{ k: symbol }', () => ({ log_to_stderr: Symbol('x') })),
        pre('{ k: null }', () => ({ log_to_stderr: null })),
        pre('{ k: NUL }', () => ({ log_to_stderr: 'a\0' })),
        any('{ unknown option }', () => ({ [`no_such_option_${rid}`]: 'x' })),
      ];
    case 'command':
      return [
        ...T(),
        pre('{}', () => ({})),
        pre("{ prefix: '' }", () => ({ prefix: '' })),
        pre('{ prefix: 42 }', () => ({ prefix: 42 })),
        pre('{ prefix, bigint }', () => ({ prefix: 'status', n: 1n })),
        any('{ prefix: unknown }', () => ({ prefix: `no such command ${rid}` })),
        any('{ prefix: 10,000 chars }', () => ({ prefix: LONG() })),
      ];
    case 'pool':
      return [...T(), pre('an Image', () => c.image), pre('a fake { _call }', () => ({ _call: () => Promise.resolve() }))];
    case 'image':
      return [...T(), pre('a Pool', () => c.pool)];
    case 'signal':
      return [...T(), pre('{ aborted: 1 }', () => ({ aborted: 1 }))];
    case 'match':
      return [...T('function', 'object', 'array'), any('{}', () => ({})), any('() => false', () => () => false)];
    case 'dest':
      return [
        ...T('string'),
        any("''", () => ''),
        any('NUL', () => path.join(c.tmp, 'a\0b')),
        any('10,000 chars', () => path.join(c.tmp, LONG())),
        any('a directory', () => c.tmp),
        pre('a Readable', () => Readable.from([])),
      ];
    case 'src':
      return [
        ...T('string'),
        any("''", () => ''),
        any('NUL', () => path.join(c.tmp, 'a\0b')),
        any('10,000 chars', () => path.join(c.tmp, LONG())),
        any('a directory', () => c.tmp),
        any('missing file', () => path.join(c.tmp, 'missing')),
        pre('a Writable', () => new Writable({ write: (_c, _e, cb) => cb() })),
      ];
    case 'pure':
      return [...T().map((b) => ({ ...b, expect: 'any' as const })), ...BAD_NUMBERS.map((b) => ({ ...b, expect: 'any' as const })), any('10,000 chars', LONG)];
  }
}

/** Every bad variant of an argument: its own bad values, and for an options object each field's. */
function variants(a: ArgSpec): Array<{ label: string; value: () => unknown; expect: Expect; shared: boolean }> {
  const accepted = new Set([...(a.alsoAccepts ?? []), ...(a.nullable ? ['null'] : [])]);
  const own = badValues(a).map((b) => ({ ...b, expect: accepted.has(b.label) ? ('any' as const) : b.expect, shared: a.shared === true }));
  if (a.kind !== 'opts' || !a.fields) return own;
  const out = [...own];
  for (const [field, f] of Object.entries(a.fields)) {
    for (const v of variants({ ...f, optional: f.required !== true })) {
      out.push({
        label: `.${field} = ${v.label}`,
        value: () => ({ ...(a.valid() as object), [field]: v.value() }),
        expect: v.expect,
        shared: v.shared,
      });
    }
  }
  return out;
}

// ------------------------------------------------------------------ the table of valid-argument templates

const name = (valid: () => unknown, more: Partial<ArgSpec> = {}): ArgSpec => ({ kind: 'name', valid, ...more });
const optName = (valid: () => unknown = () => undefined): ArgSpec => ({ kind: 'name', valid, optional: true });
const u64 = (valid: () => unknown): ArgSpec => ({ kind: 'u64', valid });
const int = (min: number, max: number, valid: () => unknown = () => min): ArgSpec => ({ kind: 'int', min, max, valid });
const opts = (fields: Record<string, ArgSpec> = {}, valid: () => object = () => ({}), optional = true): ArgSpec => ({
  kind: 'opts',
  valid,
  fields,
  optional,
});
const bool: ArgSpec = { kind: 'bool', valid: () => false };
const fn: ArgSpec = { kind: 'fn', valid: () => () => undefined };
const enumOf = (values: readonly string[], valid = values[0], optional = false): ArgSpec => ({
  kind: 'enum',
  values,
  valid: () => valid,
  optional,
});
const poolArg: ArgSpec = { kind: 'pool', valid: () => c.pool };
const pure = (valid: () => unknown): ArgSpec => ({ kind: 'pure', valid });
const noArgs: Sig = { args: [] };
const sig = (...args: ArgSpec[]): Sig => ({ args });

const missing = (what: string) => () => `${rid}-no-such-${what}`;
const FADVISE = ['random', 'sequential', 'willneed', 'dontneed', 'nocache'] as const;
const ioOpts = opts({ fadvise: enumOf(FADVISE) });
const progress = opts({ onProgress: fn });
const createFields: Record<string, ArgSpec> = {
  order: int(12, 25),
  objectSize: int(4096, 32 * MiB, () => 4096),
  features: { kind: 'featureList', valid: () => ['layering'] },
  stripeUnit: int(1, 2 ** 32),
  stripeCount: int(1, 2 ** 32),
  dataPool: name(missing('pool')),
  journal: opts({ objectSize: int(4096, 64 * MiB, () => 4096), splayWidth: int(1, 255), pool: name(missing('pool')) }),
};
const waitFields: Record<string, ArgSpec> = {
  timeoutMs: { kind: 'ms', valid: () => 2000 },
  pollMs: { kind: 'ms', valid: () => 100 },
  signal: { kind: 'signal', valid: () => new AbortController().signal },
};
const waitOpts = opts(waitFields, () => ({ timeoutMs: 2000, pollMs: 100 }));
const uuidArg: ArgSpec = { kind: 'uuid', valid: () => randomUUID() };
const DIRECTIONS = ['rx-only', 'rx-tx'] as const;

/** Class name → method name → signature(s) (several for an overloaded method). */
const SIGNATURES: Record<string, Record<string, Sig | Sig[]>> = {
  'Cluster (static)': {
    connect: sig(
      opts(
        {
          confPath: name(() => c.lab.site('site-a').confPath),
          clusterName: name(() => 'ceph'),
          clientId: name(() => 'admin'),
          keyring: name(() => c.lab.site('site-a').keyringPath),
          key: name(() => c.lab.site('site-a').key),
          monHost: name(() => c.lab.site('site-a').monHost),
          config: { kind: 'config', valid: () => ({}) },
          timeoutMs: int(1, 2 ** 31, () => 10_000),
          operationTimeoutMs: int(1, 2 ** 31, () => 10_000),
        },
        () => ({ confPath: c.lab.site('site-a').confPath, timeoutMs: 10_000 }),
      ),
    ),
    versions: noArgs,
  },
  Cluster: {
    fsid: noArgs,
    instanceId: noArgs,
    getConfig: sig(name(() => 'rbd_cache')),
    setConfig: sig(name(() => 'rbd_cache_writethrough_until_flush'), { kind: 'strOrScalar', valid: () => 'true' }),
    listPools: noArgs,
    createPool: sig(name(() => uniq('pool'))),
    deletePool: sig(name(missing('pool'))),
    poolId: sig(name(missing('pool'))),
    poolExists: sig(name(missing('pool'))),
    stats: noArgs,
    monCommand: sig({ kind: 'command', valid: () => ({ prefix: 'status', format: 'json' }) }, { kind: 'str', valid: () => undefined, optional: true }),
    mgrCommand: sig({ kind: 'command', valid: () => ({ prefix: 'mgr services', format: 'json' }) }, { kind: 'str', valid: () => undefined, optional: true }),
    openPool: sig(name(() => c.poolName), opts({ namespace: { kind: 'str', valid: () => '' } })),
    close: noArgs,
    '[Symbol.asyncDispose]': noArgs,
  },
  Pool: {
    id: noArgs,
    createImage: sig(name(() => uniq('img')), u64(() => MiB), opts(createFields)),
    listImages: noArgs,
    listImageSpecs: noArgs,
    removeImage: sig(name(missing('image')), progress),
    renameImage: sig(name(missing('image')), name(() => uniq('renamed'))),
    init: sig(opts({ force: bool })),
    stats: noArgs,
    imageStats: noArgs,
    openImage: sig(name(() => c.imageName), opts({ readOnly: bool, snapshot: name(missing('snap')) })),
    openImageById: sig(name(() => c.imageId), opts({ readOnly: bool, snapshot: name(missing('snap')) })),
    importFrom: sig(
      { kind: 'src', valid: () => c.srcFile },
      name(() => uniq('imported')),
      opts({ size: u64(() => 64 * 1024), createOptions: opts(createFields), onProgress: fn, queueDepth: int(1, 1024, () => 2) }),
    ),
    close: noArgs,
    '[Symbol.asyncDispose]': noArgs,
  },
  Image: {
    stat: noArgs,
    resize: sig(u64(() => 2 * MiB), opts({ allowShrink: bool, onProgress: fn })),
    features: noArgs,
    enableFeatures: sig({ kind: 'features', valid: () => 'exclusive-lock' }),
    disableFeatures: sig({ kind: 'features', valid: () => 'exclusive-lock' }),
    flatten: sig(progress),
    parent: noArgs,
    lockOwners: noArgs,
    watchers: noArgs,
    copy: sig(poolArg, name(() => uniq('copy')), opts({ ...createFields, onProgress: fn, sparseSize: int(4096, 2 ** 30, () => 4096) })),
    deepCopy: sig(poolArg, name(() => uniq('deepcopy')), opts({ ...createFields, onProgress: fn })),
    du: noArgs,
    sparsify: sig(opts({ sparseSize: int(4096, 2 ** 30, () => 4096), onProgress: fn })),
    rebuildObjectMap: sig(progress),
    invalidateCache: noArgs,
    diff: sig(
      opts({
        fromSnapshot: name(missing('snap')),
        wholeObject: bool,
        includeParent: bool,
        offset: { kind: 'num53', valid: () => 0 },
        length: { kind: 'num53', valid: () => MiB },
      }),
    ),
    read: [
      sig(u64(() => 0), { kind: 'len', valid: () => 4096 }, ioOpts),
      sig({ kind: 'bytes', valid: () => Buffer.alloc(4096), alsoAccepts: ['number', 'bigint'] }, u64(() => 0), ioOpts),
    ],
    write: sig({ kind: 'bytes', valid: () => Buffer.alloc(512, 1) }, u64(() => 0), ioOpts),
    discard: sig(u64(() => 0), u64(() => 4096)),
    writeZeroes: sig(u64(() => 0), u64(() => 4096), opts({ fadvise: enumOf(FADVISE), thickProvision: bool })),
    readv: sig({ kind: 'bufferList', valid: () => [Buffer.alloc(512), Buffer.alloc(512)] }, u64(() => 0)),
    writev: sig({ kind: 'bufferList', valid: () => [Buffer.alloc(512, 1), Buffer.alloc(512, 2)] }, u64(() => 0)),
    writeSame: sig(u64(() => 0), u64(() => 1024), { kind: 'bytes', valid: () => Buffer.alloc(512, 7) }, ioOpts),
    compareAndWrite: sig(u64(() => 0), { kind: 'bytes', valid: () => Buffer.alloc(512) }, { kind: 'bytes', valid: () => Buffer.alloc(512, 2) }, ioOpts),
    flush: noArgs,
    createReadStream: sig(
      opts({
        start: { kind: 'num53', valid: () => 0 },
        end: { kind: 'num53', valid: () => 4095 },
        highWaterMark: int(1, 1024 * MiB, () => 4096),
        queueDepth: int(1, 1024, () => 2),
        fadvise: enumOf(FADVISE),
      }),
    ),
    createWriteStream: sig(
      opts({ start: { kind: 'num53', valid: () => 0 }, queueDepth: int(1, 1024, () => 2), highWaterMark: int(1, 1024 * MiB, () => 4096), fadvise: enumOf(FADVISE) }),
    ),
    exportTo: sig({ kind: 'dest', valid: () => path.join(c.tmp, uniq('export')) }, opts({ onProgress: fn, queueDepth: int(1, 1024, () => 2) })),
    close: noArgs,
    '[Symbol.asyncDispose]': noArgs,
  },
  ImageSnapshots: {
    create: sig(name(() => uniq('snap')), opts({ skipQuiesce: bool, ignoreQuiesceError: bool })),
    list: noArgs,
    remove: sig(name(missing('snap')), opts({ force: bool, onProgress: fn })),
    rename: sig(name(missing('snap')), name(() => uniq('snap'))),
    rollback: sig(name(missing('snap')), progress),
    protect: sig(name(missing('snap'))),
    unprotect: sig(name(missing('snap'))),
    isProtected: sig(name(missing('snap'))),
    exists: sig(name(missing('snap'))),
    setCurrent: sig(name(missing('snap'), { nullable: true })),
    limit: noArgs,
    setLimit: sig(int(0, Number.MAX_SAFE_INTEGER, () => 100)),
    removeLimit: noArgs,
    clone: sig(
      name(missing('snap')),
      poolArg,
      name(() => uniq('clone')),
      opts({ features: { kind: 'featureList', valid: () => ['layering'] }, order: int(12, 25), stripeUnit: int(1, 2 ** 32), stripeCount: int(1, 2 ** 32), cloneFormat: int(1, 2), dataPool: name(missing('pool')) }),
    ),
    children: sig({ ...optName(), nullable: true }, opts({ descendants: bool })),
    // by id: a snapshot id no image has (2^40), or null (the head) for setCurrentById
    id: sig(name(missing('snap'))),
    name: sig(int(0, Number.MAX_SAFE_INTEGER, () => 2 ** 40)),
    setCurrentById: sig({ ...int(0, Number.MAX_SAFE_INTEGER, () => null), nullable: true }),
    removeById: sig(int(0, Number.MAX_SAFE_INTEGER, () => 2 ** 40)),
  },
  ImageMetadata: {
    get: sig(name(() => 'k')),
    set: sig(name(() => 'k'), { kind: 'str', valid: () => 'v' }),
    remove: sig(name(() => 'k')),
    list: noArgs,
  },
  ImageLocks: {
    acquire: sig(opts({ mode: enumOf(['exclusive', 'shared']) })),
    release: noArgs,
    isOwner: noArgs,
    owners: noArgs,
    breakOwner: sig(name(missing('owner')), opts({ mode: enumOf(['exclusive', 'shared']) })),
    add: sig(name(() => uniq('lock')), opts({ shared: name(() => undefined) })),
    list: noArgs,
    remove: sig(name(missing('lock')), opts({ locker: name(() => undefined) })),
  },
  ImageMirror: {
    enable: sig(enumOf(['journal', 'snapshot'], 'snapshot', true)),
    disable: sig(opts({ force: bool })),
    promote: sig(opts({ force: bool })),
    demote: noArgs,
    resync: noArgs,
    info: noArgs,
    mode: noArgs,
    instanceId: noArgs,
    createSnapshot: sig(opts({ skipQuiesce: bool, ignoreQuiesceError: bool })),
    status: noArgs,
    journalStatus: noArgs,
    journalAppended: noArgs,
    waitForReplication: sig(opts({ ...waitFields, peer: { kind: 'image', valid: () => c.image } }, () => ({ timeoutMs: 2000, pollMs: 100 }))),
    waitForState: sig({ kind: 'match', valid: () => () => true }, waitOpts),
    watch: sig(opts({ intervalMs: int(100, 2 ** 31 - 1, () => 100) })),
    lag: sig(opts({ peer: { kind: 'image', valid: () => c.image } })),
  },
  PoolTrash: {
    move: sig(name(missing('image')), opts({ delaySeconds: int(0, Number.MAX_SAFE_INTEGER) })),
    list: noArgs,
    get: sig(name(missing('id'))),
    restore: sig(name(missing('id')), optName()),
    remove: sig(name(missing('id')), opts({ force: bool, onProgress: fn })),
    purge: sig(opts({ expiredBefore: { kind: 'date', valid: () => new Date() }, threshold: { kind: 'fraction', valid: () => 0.5 }, onProgress: fn })),
    addPurgeSchedule: sig({ kind: 'interval', valid: () => '1h' }, opts({ startTime: name(() => '14:00') })),
    removePurgeSchedule: sig({ kind: 'interval', valid: () => undefined, optional: true }, opts({ startTime: name(() => '14:00') })),
    listPurgeSchedules: sig(opts({ recursive: bool })),
    purgeScheduleStatus: noArgs,
  },
  PoolNamespaces: {
    create: sig(name(() => uniq('ns'))),
    remove: sig(name(missing('ns'))),
    list: noArgs,
    exists: sig(name(missing('ns'))),
  },
  PoolGroups: {
    create: sig(name(() => uniq('group'))),
    remove: sig(name(missing('group'))),
    list: noArgs,
    rename: sig(name(missing('group')), name(() => uniq('group'))),
    addImage: sig(name(missing('group')), poolArg, name(() => c.imageName)),
    removeImage: sig(name(missing('group')), poolArg, name(() => c.imageName)),
    removeImageById: sig(name(missing('group')), poolArg, name(() => 'f00dfeed1234')),
    listImages: sig(name(missing('group'))),
    createSnapshot: sig(name(missing('group')), name(() => uniq('gsnap')), opts({ skipQuiesce: bool, ignoreQuiesceError: bool })),
    listSnapshots: sig(name(missing('group'))),
    removeSnapshot: sig(name(missing('group')), name(missing('gsnap'))),
    renameSnapshot: sig(name(missing('group')), name(missing('gsnap')), name(() => uniq('gsnap'))),
    rollbackSnapshot: sig(name(missing('group')), name(missing('gsnap')), progress),
  },
  PoolMirror: {
    mode: noArgs,
    setMode: sig(enumOf(['disabled', 'image', 'pool'], 'image')),
    enable: sig(enumOf(['image', 'pool']), opts({ siteName: { kind: 'str', valid: () => undefined, shared: true } })),
    disable: noArgs,
    uuid: noArgs,
    siteName: noArgs,
    setSiteName: sig({ kind: 'str', valid: () => 'site-a', shared: true }),
    createBootstrapToken: noArgs,
    importBootstrapToken: sig(
      { kind: 'name', valid: () => Buffer.from('{"fsid":"bad"}').toString('base64') },
      opts({ direction: enumOf(DIRECTIONS), timeoutMs: int(1, 2 ** 31 - 1, () => 3000) }),
    ),
    listPeers: noArgs,
    addPeer: sig(
      opts(
        { siteName: name(() => uniq('site')), clientName: name(() => 'client.admin'), direction: enumOf(DIRECTIONS), monHost: name(() => '127.0.0.1:1'), key: name(() => 'AQ==') },
        () => ({ siteName: uniq('site') }),
        false,
      ),
    ),
    removePeer: sig(uuidArg),
    setPeerSiteName: sig(uuidArg, name(() => uniq('site'))),
    setPeerClient: sig(uuidArg, name(() => 'client.admin')),
    setPeerDirection: sig(uuidArg, enumOf(['rx-only', 'tx-only', 'rx-tx'])),
    peerAttributes: sig(uuidArg),
    // attributes: undefined is taken as {} (no change)
    setPeerAttributes: sig(uuidArg, opts({ monHost: { kind: 'str', valid: () => '' }, key: { kind: 'str', valid: () => '' } })),
    summary: noArgs,
    status: sig(opts({ verbose: bool })),
    globalStatuses: sig(opts({ pageSize: int(1, 4096, () => 16) })),
    imageInfos: sig(opts({ mode: enumOf(['journal', 'snapshot']) })),
    instanceIds: noArgs,
    findImageByGlobalId: sig(name(() => randomUUID())),
    promote: sig(opts({ force: bool, concurrency: int(1, 256, () => 2) })),
    demote: sig(opts({ concurrency: int(1, 256, () => 2) })),
    addSnapshotSchedule: sig({ kind: 'interval', valid: () => '1h' }, opts({ image: name(() => c.imageName), startTime: name(() => '14:00') })),
    removeSnapshotSchedule: sig({ kind: 'interval', valid: () => undefined, optional: true }, opts({ image: name(() => c.imageName) })),
    listSnapshotSchedules: sig(opts({ image: name(() => c.imageName), recursive: bool })),
    snapshotScheduleStatus: sig(opts({ image: name(() => c.imageName) })),
    watch: sig(opts({ intervalMs: int(100, 2 ** 31 - 1, () => 100) })),
    remoteNamespace: noArgs,
    setRemoteNamespace: sig({ kind: 'str', valid: () => '', shared: true }),
    lag: sig(opts({ peer: poolArg, concurrency: int(1, 64, () => 2) })),
  },
  // ---- live migration, encryption, configuration (issue #15 rows 2, 3, 5) ----
  PoolMigration: {
    prepare: sig(name(missing('image')), opts({ ...createFields, destPool: poolArg, destName: name(() => uniq('migdst')) })),
    prepareImport: sig(
      opts(
        { format: enumOf(['raw', 'qcow', 'native']), file: name(() => c.srcFile) },
        () => ({ format: 'raw', file: c.srcFile }),
        false,
      ),
      name(() => uniq('migimp')),
      opts(createFields),
    ),
    execute: sig(name(missing('image')), opts({ onProgress: fn, signal: { kind: 'signal', valid: () => new AbortController().signal } })),
    abort: sig(name(missing('image')), opts({ onProgress: fn, signal: { kind: 'signal', valid: () => new AbortController().signal } })),
    commit: sig(name(missing('image')), progress),
    status: sig(name(missing('image'))),
    sourceSpec: sig({ kind: 'image', valid: () => c.image }),
  },
  ImageEncryption: {
    // a valid format() runs LUKS' key derivation (seconds): valid values go to a closed handle
    format: sig({
      ...opts(
        {
          format: { ...enumOf(['luks1', 'luks2']), required: true, shared: true },
          passphrase: { ...name(() => 'pw'), required: true, shared: true },
          algorithm: { ...enumOf(['aes-128', 'aes-256']), shared: true },
        },
        () => ({ format: 'luks2', passphrase: 'pw' }),
        false,
      ),
      shared: true,
    }),
    load: sig(
      opts(
        { format: { ...enumOf(['luks1', 'luks2']), required: true }, passphrase: { ...name(() => 'pw'), required: true } },
        () => ({ format: 'luks2', passphrase: 'pw' }),
        false,
      ),
    ),
    loadLayered: sig({ kind: 'pure', valid: () => [{ format: 'luks2', passphrase: 'pw' }] }),
  },
  PoolConfig: {
    get: sig(name(() => 'rbd_cache')),
    set: sig(name(() => 'rbd_cache'), { kind: 'strOrScalar', valid: () => 'true' }),
    remove: sig(name(() => 'rbd_cache')),
    list: noArgs,
  },
  PoolMetadata: {
    get: sig(name(() => 'k')),
    set: sig(name(() => 'k'), { kind: 'str', valid: () => 'v' }),
    remove: sig(name(() => 'k')),
    list: noArgs,
  },
  ImageConfig: {
    get: sig(name(() => 'rbd_cache')),
    set: sig(name(() => 'rbd_cache'), { kind: 'strOrScalar', valid: () => 'true' }),
    remove: sig(name(() => 'rbd_cache')),
    list: noArgs,
  },
  'lib/index.ts': {
    capabilities: noArgs,
    // Failover/failback between the two scratch pools: no image is mirrored there, so a valid call has nothing to do.
    failover: sig(
      opts(
        {
          mode: { ...enumOf(['planned', 'forced']), required: true },
          from: { ...poolArg, nullable: true },
          to: { ...poolArg, valid: () => c.foreignPool, required: true },
          images: { kind: 'nameList', valid: () => [] },
          timeoutMs: { kind: 'ms', valid: () => 2000 },
          pollMs: { kind: 'ms', valid: () => 100 },
          concurrency: int(1, 256, () => 2),
          signal: { kind: 'signal', valid: () => new AbortController().signal },
          onEvent: fn,
        },
        () => ({ mode: 'planned', from: c.pool, to: c.foreignPool, images: [], timeoutMs: 2000, pollMs: 100 }),
        false,
      ),
    ),
    failback: sig(
      opts(
        {
          from: { ...poolArg, valid: () => c.foreignPool, required: true },
          to: { ...poolArg, required: true },
          images: { kind: 'nameList', valid: () => [] },
          timeoutMs: { kind: 'ms', valid: () => 2000 },
          concurrency: int(1, 256, () => 2),
          onEvent: fn,
        },
        () => ({ from: c.foreignPool, to: c.pool, images: [], timeoutMs: 2000, pollMs: 100 }),
        false,
      ),
    ),
    // A drill of the scratch pool's image (not mirrored): refused with MirroringNotEnabled after the checks.
    drill: sig(
      opts(
        {
          primary: { ...poolArg, valid: () => c.foreignPool, required: true },
          secondary: { ...poolArg, required: true },
          image: name(() => c.imageName, { required: true }),
          drillName: name(() => uniq('drill')),
          timeoutMs: int(1, 2 ** 31 - 1, () => 2000),
          pollMs: int(10, 600_000, () => 100),
        },
        () => ({ primary: c.foreignPool, secondary: c.pool, image: c.imageName, timeoutMs: 2000, pollMs: 100 }),
        false,
      ),
    ),
    exportDiff: sig(
      { kind: 'image', valid: () => c.image },
      { kind: 'dest', valid: () => path.join(c.tmp, uniq('diff')) },
      opts({ fromSnapshot: name(missing('snap')), toSnapshot: name(missing('snap')), wholeObject: bool }),
    ),
    parseMirrorDescription: sig(pure(() => 'replaying, {"entries_behind_primary":0}'), pure(() => 'replaying')),
    featureNames: sig(pure(() => 5)),
    featureBits: sig(pure(() => ['layering']), pure(() => undefined)),
    errnoCode: sig(pure(() => 2)),
    matchesMirrorState: sig(
      pure(() => ({ name: 'x', info: { globalId: '', state: 'enabled', primary: true }, local: null, peers: [] })),
      pure(() => ({ local: 'stopped' })),
    ),
    diffMirrorStatuses: sig(pure(() => new Map()), pure(() => [])),
  },
};

/** Which object a class's methods are called on. */
const RECEIVERS: Record<string, (h: Handles) => object> = {
  'Cluster (static)': () => Cluster,
  Cluster: (h) => h.cluster,
  Pool: (h) => h.pool,
  Image: (h) => h.image,
  ImageSnapshots: (h) => h.image.snapshots,
  ImageMetadata: (h) => h.image.metadata,
  ImageLocks: (h) => h.image.locks,
  ImageMirror: (h) => h.image.mirror,
  PoolTrash: (h) => h.pool.trash,
  PoolNamespaces: (h) => h.pool.namespaces,
  PoolGroups: (h) => h.pool.groups,
  PoolMirror: (h) => h.pool.mirror,
  PoolMigration: (h) => h.pool.migration,
  ImageEncryption: (h) => h.image.encryption,
  PoolConfig: (h) => h.pool.config,
  PoolMetadata: (h) => h.pool.metadata,
  ImageConfig: (h) => h.image.config,
  'lib/index.ts': () => lib,
};
/** Which handle a class's calls depend on (closed for the closed-handle cases, closed to race a call). */
const OWNER: Record<string, keyof Handles | null> = {
  'Cluster (static)': null,
  Cluster: 'cluster',
  Pool: 'pool',
  Image: 'image',
  ImageSnapshots: 'image',
  ImageMetadata: 'image',
  ImageLocks: 'image',
  ImageMirror: 'image',
  PoolTrash: 'pool',
  PoolNamespaces: 'pool',
  PoolGroups: 'pool',
  PoolMirror: 'pool',
  PoolMigration: 'pool',
  ImageEncryption: 'image',
  PoolConfig: 'pool',
  PoolMetadata: 'pool',
  ImageConfig: 'image',
  'lib/index.ts': null,
};

// ------------------------------------------------------------------ reflection

/** Protected members of Resource and its subclasses: on the prototype, not public. */
const NOT_PUBLIC = new Set(['constructor', 'run', 'runIo', 'runSync', 'runNow', 'admit', 'context', 'closeNative']);

function publicMethods(proto: object, stopAt: object): string[] {
  const out = new Set<string>();
  for (let p: object | null = proto; p && p !== stopAt && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const key of Reflect.ownKeys(p)) {
      const d = Object.getOwnPropertyDescriptor(p, key);
      if (!d || typeof d.value !== 'function') continue; // accessors (state, closed) are not methods
      const k = key === Symbol.asyncDispose ? '[Symbol.asyncDispose]' : typeof key === 'symbol' ? `[${String(key.description)}]` : key;
      if (NOT_PUBLIC.has(k) || k.startsWith('_')) continue;
      out.add(k);
    }
  }
  return [...out].sort();
}

function isClass(f: unknown): boolean {
  return typeof f === 'function' && /^class\b/.test(Function.prototype.toString.call(f));
}

/** Class name → its public methods, found by reflection. */
function reflected(): Record<string, string[]> {
  const EventEmitterProto = Object.getPrototypeOf(Resource.prototype) as object;
  const staticNames = Object.getOwnPropertyNames(Cluster).filter(
    (k) => typeof (Cluster as unknown as Record<string, unknown>)[k] === 'function' && !k.startsWith('_'),
  );
  const fns = Object.entries(lib)
    .filter(([, v]) => typeof v === 'function' && !isClass(v))
    .map(([k]) => k);
  return {
    'Cluster (static)': staticNames.sort(),
    Cluster: publicMethods(Cluster.prototype, EventEmitterProto),
    Pool: publicMethods(Pool.prototype, EventEmitterProto),
    Image: publicMethods(Image.prototype, EventEmitterProto),
    ImageSnapshots: publicMethods(ImageSnapshots.prototype, Object.prototype),
    ImageMetadata: publicMethods(ImageMetadata.prototype, Object.prototype),
    ImageLocks: publicMethods(ImageLocks.prototype, Object.prototype),
    ImageMirror: publicMethods(ImageMirror.prototype, Object.prototype),
    PoolTrash: publicMethods(PoolTrash.prototype, Object.prototype),
    PoolNamespaces: publicMethods(PoolNamespaces.prototype, Object.prototype),
    PoolGroups: publicMethods(PoolGroups.prototype, Object.prototype),
    PoolMirror: publicMethods(PoolMirror.prototype, Object.prototype),
    PoolMigration: publicMethods(PoolMigration.prototype, Object.prototype),
    ImageEncryption: publicMethods(ImageEncryption.prototype, Object.prototype),
    PoolConfig: publicMethods(PoolConfig.prototype, Object.prototype),
    PoolMetadata: publicMethods(PoolMetadata.prototype, Object.prototype),
    ImageConfig: publicMethods(ImageConfig.prototype, Object.prototype),
    'lib/index.ts': fns.sort(),
  };
}

function method(recv: object, m: string): (...args: unknown[]) => unknown {
  const key = m === '[Symbol.asyncDispose]' ? Symbol.asyncDispose : m;
  const f = (recv as Record<string | symbol, unknown>)[key];
  if (typeof f !== 'function') throw new Error(`${m} is not a function on the receiver`);
  return (...args: unknown[]) => (f as (...a: unknown[]) => unknown).apply(recv, args);
}

// ------------------------------------------------------------------ running one call, bounded

/** Native calls on handles started so far (Resource.run/runIo/runSync, counted). */
let nativeCalls = 0;

type Outcome =
  | { kind: 'value' }
  | { kind: 'hang'; where: string }
  | { kind: 'error'; cls: 'type' | 'range' | 'rbd' | 'sys' | 'other'; thisRealm: boolean; err: unknown };

function classify(err: unknown): Outcome {
  if (err instanceof RbdError) return { kind: 'error', cls: 'rbd', thisRealm: true, err };
  if (err instanceof TypeError) return { kind: 'error', cls: 'type', thisRealm: true, err };
  if (err instanceof RangeError) return { kind: 'error', cls: 'range', thisRealm: true, err };
  // The addon's own errors come from the main realm: recognise them by shape.
  const e = err as { name?: unknown; errno?: unknown; code?: unknown; syscall?: unknown } | null;
  const n = typeof e === 'object' && e !== null ? e.name : undefined;
  if (n === 'TypeError') return { kind: 'error', cls: 'type', thisRealm: false, err };
  if (n === 'RangeError') return { kind: 'error', cls: 'range', thisRealm: false, err };
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') return { kind: 'error', cls: 'sys', thisRealm: true, err };
  return { kind: 'error', cls: 'other', thisRealm: false, err };
}

function withBound<T>(p: Promise<T>, ms: number, where: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new HangError(where)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

class HangError extends Error {
  constructor(readonly where: string) {
    super(`did not settle within ${CALL_BOUND_MS} ms (${where})`);
  }
}

/** Finish off what a call returned: close handles, read one chunk of a stream, end a Writable, close a watcher... */
async function settle(v: unknown): Promise<void> {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return;
  if (typeof (v as PromiseLike<unknown>).then === 'function') {
    await settle(await (v as PromiseLike<unknown>));
    return;
  }
  if (v instanceof Resource) {
    await v.close();
    return;
  }
  if (v instanceof lib.MirrorStatusWatcher) {
    v.close();
    return;
  }
  if (v instanceof Readable) {
    const r = v;
    await new Promise<void>((resolve, reject) => {
      r.once('data', () => resolve());
      r.once('end', () => resolve());
      r.once('error', reject);
    }).finally(() => r.destroy());
    return;
  }
  if (v instanceof Writable) {
    const w = v;
    const done = Promise.race([once(w, 'finish'), once(w, 'close')]);
    w.end();
    await done;
    return;
  }
  const it = v as AsyncIterator<unknown>;
  if (typeof it.next === 'function' && Symbol.asyncIterator in v) {
    try {
      await it.next();
    } finally {
      await it.return?.();
    }
  }
}

const syncScript = new vm.Script('f()');
const syncContext = vm.createContext({ f: undefined as unknown });

/**
 * Call `f` with its synchronous part under a vm timeout (an endless loop is a
 * hang, not a stuck worker) and what it returns settled within the bound.
 */
async function attempt(f: () => unknown, where: string): Promise<{ outcome: Outcome; native: number }> {
  const before = nativeCalls;
  let result: unknown;
  try {
    syncContext.f = f;
    result = syncScript.runInContext(syncContext, { timeout: SYNC_BOUND_MS });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return { outcome: { kind: 'hang', where: `${where} (sync)` }, native: nativeCalls - before };
    return { outcome: classify(err), native: nativeCalls - before };
  }
  try {
    await withBound(settle(result), CALL_BOUND_MS, where);
    return { outcome: { kind: 'value' }, native: nativeCalls - before };
  } catch (err) {
    if (err instanceof HangError) return { outcome: { kind: 'hang', where }, native: nativeCalls - before };
    return { outcome: classify(err), native: nativeCalls - before };
  }
}

// ------------------------------------------------------------------ counters

const counts = { scenarios: 0, badInputs: 0, crashes: 0, hangs: 0 };
const failures: string[] = [];

function describeOutcome(o: Outcome): string {
  if (o.kind === 'value') return 'a value';
  if (o.kind === 'hang') return 'a hang';
  const e = o.err as { name?: string; message?: string; code?: string };
  return `${o.thisRealm ? '' : '(addon realm) '}${e?.name ?? typeof o.err}: ${String(e?.message ?? o.err).slice(0, 160)}${e?.code ? ` [${e.code}]` : ''}`;
}

/** Check an outcome against what was expected; record a failure naming the case. */
function judge(label: string, expect: Expect, r: { outcome: Outcome; native: number }, allowSys: boolean): void {
  const o = r.outcome;
  if (o.kind === 'hang') {
    counts.hangs++;
    failures.push(`${label}: hung (${o.where})`);
    return;
  }
  if (expect === 'pre') {
    const ok = o.kind === 'error' && (o.cls === 'type' || o.cls === 'range') && o.thisRealm && r.native === 0;
    if (!ok) failures.push(`${label}: expected a TypeError/RangeError before any native call, got ${describeOutcome(o)} after ${r.native} native call(s)`);
    return;
  }
  if (o.kind === 'value') return;
  if (o.cls === 'rbd') return;
  if ((o.cls === 'type' || o.cls === 'range') && o.thisRealm) return;
  if (o.cls === 'sys' && allowSys) return;
  failures.push(`${label}: expected a value, TypeError, RangeError or RbdError, got ${describeOutcome(o)}`);
}

// ------------------------------------------------------------------ set-up

const madePools: string[] = [];

async function freshImage(): Promise<void> {
  const n = uniq('img');
  await c.pool.createImage(n, MiB, { features: ['layering', 'exclusive-lock'] });
  c.image = await c.pool.openImage(n);
  c.imageName = n;
  c.imageId = (await c.image.stat()).id;
}

beforeAll(async () => {
  const lab = await getLab();
  const tmp = await mkdtemp(path.join(tmpdir(), 'xrbd-bad-'));
  const srcFile = path.join(tmp, 'src.raw');
  await writeFile(srcFile, Buffer.alloc(64 * 1024, 3));
  const poolName = `${rid}-pool`;
  const a = lab.site('site-a');
  const b = lab.site('site-b');
  const cluster = await Cluster.connect({ confPath: a.confPath });
  await cluster.createPool(poolName);
  madePools.push(poolName);
  const pool = await cluster.openPool(poolName);
  await pool.init();
  const sameCluster = await Cluster.connect({ confPath: a.confPath });
  const samePool = await sameCluster.openPool(poolName);
  const foreignCluster = await Cluster.connect({ confPath: b.confPath });
  await foreignCluster.createPool(poolName);
  const foreignPool = await foreignCluster.openPool(poolName);
  await foreignPool.init();
  await foreignPool.createImage(`${rid}-foreign`, MiB);
  const foreignImage = await foreignPool.openImage(`${rid}-foreign`);
  // Closed handles: a connection of their own, closed with everything under it.
  const cc = await Cluster.connect({ confPath: a.confPath });
  const cp = await cc.openPool(poolName);
  await pool.createImage(`${rid}-closed`, MiB);
  const ci = await cp.openImage(`${rid}-closed`);
  await cc.close();
  c = {
    lab,
    cluster,
    pool,
    poolName,
    image: undefined as unknown as Image,
    imageName: '',
    imageId: '',
    tmp,
    srcFile,
    sameCluster,
    samePool,
    foreignCluster,
    foreignPool,
    foreignImage,
    closed: { cluster: cc, pool: cp, image: ci },
  };
  await freshImage();

  // Count native calls: every one on a handle starts in one of these.
  const proto = Resource.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const m of ['run', 'runIo', 'runSync']) {
    const orig = proto[m];
    proto[m] = function (this: unknown, ...args: unknown[]) {
      nativeCalls++;
      return orig.apply(this, args);
    };
  }
}, 180_000);

afterAll(async () => {
  tally('bad-input', counts);
  if (!c) return;
  await c.foreignImage.close().catch(() => undefined);
  for (const cl of [c.sameCluster, c.foreignCluster]) await cl.close().catch(() => undefined);
  // Pools this file made (the scratch pool, and any createPool made with a bad-but-valid name).
  const all = await c.cluster.listPools().catch(() => [] as string[]);
  for (const p of all.filter((p) => p.startsWith(rid))) await c.cluster.deletePool(p).catch(() => undefined);
  const fc = await Cluster.connect({ confPath: c.lab.site('site-b').confPath });
  await fc.deletePool(`${rid}-pool`).catch(() => undefined);
  await fc.close();
  await c.cluster.close().catch(() => undefined);
  await rm(c.tmp, { recursive: true, force: true });
}, 240_000);

// ------------------------------------------------------------------ the tests

test('every public method and exported function has an entry in the table of valid-argument templates', () => {
  const found = reflected();
  const missingEntries: string[] = [];
  for (const [cls, methods] of Object.entries(found)) {
    for (const m of methods) if (!SIGNATURES[cls]?.[m]) missingEntries.push(`${cls}.${m}`);
  }
  const stale: string[] = [];
  for (const [cls, table] of Object.entries(SIGNATURES)) {
    for (const m of Object.keys(table)) if (!found[cls]?.includes(m)) stale.push(`${cls}.${m}`);
  }
  expect({ missingEntries, stale }).toEqual({ missingEntries: [], stale: [] });
  // The reflection finds what it should: a sample of each kind.
  expect(found.Image).toEqual(expect.arrayContaining(['read', 'write', 'close', '[Symbol.asyncDispose]']));
  expect(found['lib/index.ts']).toEqual(expect.arrayContaining(['exportDiff', 'featureNames', 'errnoCode']));
  counts.scenarios++;
});

/** Run every bad variant of every argument of every method of a class. */
async function matrix(cls: string): Promise<void> {
  const table = SIGNATURES[cls];
  for (const [m, entry] of Object.entries(table)) {
    if (OWNER[cls] === 'image') await freshImage();
    for (const s of Array.isArray(entry) ? entry : [entry]) {
      for (let i = 0; i < s.args.length; i++) {
        for (const v of variants(s.args[i])) {
          const label = `${cls}.${m} arg ${i} ${v.label}`;
          const sendToClosed = v.shared && v.expect === 'any';
          const h: Handles = sendToClosed ? c.closed : c;
          const args = s.args.map((a, j) => (j === i ? v.value() : a.valid()));
          counts.badInputs++;
          const r = await attempt(() => method(RECEIVERS[cls](h), m)(...args), label);
          if (sendToClosed) {
            const o = r.outcome;
            if (!(o.kind === 'error' && o.cls === 'rbd' && (o.err as RbdError).code === 'EBADF')) {
              failures.push(`${label} (on a closed handle): expected HandleClosed, got ${describeOutcome(o)}`);
            }
            if (o.kind === 'hang') counts.hangs++;
          } else {
            judge(label, v.expect, r, s.args[i].kind === 'dest' || s.args[i].kind === 'src');
          }
        }
      }
    }
    if (OWNER[cls] === 'image') await c.image.close();
  }
  counts.scenarios++;
}

const CLASSES = Object.keys(SIGNATURES);

describe('bad arguments: a TypeError/RangeError before any native call, or a typed error; never a crash or a hang', () => {
  beforeEach(() => failures.splice(0));
  for (const cls of CLASSES) {
    test(`${cls}`, async () => {
      await matrix(cls);
      expect(failures).toEqual([]);
    }, 900_000);
  }
});

describe('closed handles', () => {
  beforeEach(() => failures.splice(0));
  test('every method of a closed Cluster, Pool, Image and their areas rejects with HandleClosed (EBADF, errno 9)', async () => {
    // A watcher or a stream is made before it touches the handle: those report the closed handle when used.
    for (const cls of CLASSES.filter((k) => OWNER[k] !== null)) {
      for (const [m, entry] of Object.entries(SIGNATURES[cls])) {
        const s = Array.isArray(entry) ? entry[0] : entry;
        const label = `closed ${cls}.${m}`;
        const args = s.args.map((a) => a.valid());
        counts.badInputs++;
        const r = await attempt(() => method(RECEIVERS[cls](c.closed), m)(...args), label);
        const o = r.outcome;
        if (o.kind === 'hang') {
          counts.hangs++;
          failures.push(`${label}: hung`);
          continue;
        }
        if (m === 'close' || m === '[Symbol.asyncDispose]') {
          if (o.kind !== 'value') failures.push(`${label}: close() of a closed handle must resolve, got ${describeOutcome(o)}`);
          continue;
        }
        const err = o.kind === 'error' ? (o.err as RbdError) : undefined;
        if (!(err instanceof RbdError && err.code === 'EBADF' && err.errno === 9 && err.name === 'HandleClosed')) {
          failures.push(`${label}: expected HandleClosed (EBADF, errno 9), got ${describeOutcome(o)}`);
        }
      }
    }
    // A closed handle passed as an argument.
    const asArgs: Array<[string, () => unknown]> = [
      ['image.copy(closed pool)', () => c.image.copy(c.closed.pool, uniq('copy'))],
      ['snapshots.clone(snap, closed pool)', () => c.image.snapshots.clone('s', c.closed.pool, uniq('clone'))],
      ['groups.addImage(g, closed pool)', () => c.pool.groups.addImage('g', c.closed.pool, 'x')],
      ['groups.removeImage(g, closed pool)', () => c.pool.groups.removeImage('g', c.closed.pool, 'x')],
      ['groups.removeImageById(g, closed pool)', () => c.pool.groups.removeImageById('g', c.closed.pool, 'x')],
      ['exportDiff(closed image)', () => lib.exportDiff(c.closed.image, path.join(c.tmp, uniq('diff')))],
      ['waitForReplication({ peer: closed image })', () => c.image.mirror.waitForReplication({ peer: c.closed.image, timeoutMs: 2000 })],
    ];
    await freshImage();
    await c.image.snapshots.create('s');
    for (const [label, f] of asArgs) {
      counts.badInputs++;
      const r = await attempt(f, label);
      const o = r.outcome;
      if (o.kind === 'hang') counts.hangs++;
      if (!(o.kind === 'error' && (o.cls === 'rbd' || o.cls === 'type' || o.cls === 'range') && o.thisRealm)) {
        failures.push(`${label}: expected a typed error, got ${describeOutcome(o)}`);
      }
    }
    await c.image.close();
    counts.scenarios++;
    expect(failures).toEqual([]);
  }, 600_000);
});

describe('handles of another Cluster connection', () => {
  beforeEach(() => failures.splice(0));
  test('a pool or image of another connection (same cluster, or the other site) settles with a value or a typed error', async () => {
    await freshImage();
    await c.image.snapshots.create('s');
    await c.image.snapshots.protect('s');
    const cases: Array<[string, () => unknown, 'ok' | 'typed' | 'refused']> = [
      // Another connection to the same cluster is as good as this one.
      ['image.copy(pool of another connection, same cluster)', () => c.image.copy(c.samePool, uniq('copy')), 'ok'],
      ['snapshots.clone(s, pool of another connection, same cluster)', () => c.image.snapshots.clone('s', c.samePool, uniq('clone')), 'ok'],
      ['groups.addImage(g, pool of another connection, same cluster)', () => c.pool.groups.addImage(`${rid}-g`, c.samePool, c.imageName), 'ok'],
      // The other site: a different cluster. A copy is a copy of the data (librbd reads here, writes there);
      // a clone or a group member would be linked by pool id, which means another pool there: refused.
      ['image.copy(pool of site-b)', () => c.image.copy(c.foreignPool, uniq('copy')), 'ok'],
      ['snapshots.clone(s, pool of site-b)', () => c.image.snapshots.clone('s', c.foreignPool, uniq('clone')), 'refused'],
      ['groups.addImage(g, pool of site-b)', () => c.pool.groups.addImage(`${rid}-g`, c.foreignPool, `${rid}-foreign`), 'refused'],
      ['groups.removeImage(g, pool of site-b)', () => c.pool.groups.removeImage(`${rid}-g`, c.foreignPool, `${rid}-foreign`), 'refused'],
      ['groups.removeImageById(g, pool of site-b)', () => c.pool.groups.removeImageById(`${rid}-g`, c.foreignPool, 'f00dfeed1234'), 'refused'],
      ['waitForReplication({ peer: image of site-b })', () => c.image.mirror.waitForReplication({ peer: c.foreignImage, timeoutMs: 2000, pollMs: 100 }), 'typed'],
      ['exportDiff(image of site-b)', () => lib.exportDiff(c.foreignImage, path.join(c.tmp, uniq('diff'))), 'typed'],
    ];
    await c.pool.groups.create(`${rid}-g`);
    for (const [label, f, want] of cases) {
      counts.badInputs++;
      const r = await attempt(f, label);
      const o = r.outcome;
      process.stderr.write(`[bad-input] ${label}: ${describeOutcome(o)}\n`);
      if (o.kind === 'hang') {
        counts.hangs++;
        failures.push(`${label}: hung`);
      } else if (want === 'refused') {
        // Refused by the SDK (the only native calls: each cluster's fsid, to compare them).
        if (!(o.kind === 'error' && o.cls === 'range' && o.thisRealm)) {
          failures.push(`${label}: expected a RangeError, got ${describeOutcome(o)}`);
        }
      } else if (want === 'ok' && o.kind !== 'value') {
        failures.push(`${label}: expected success, got ${describeOutcome(o)}`);
      } else if (o.kind === 'error' && !(o.thisRealm && (o.cls === 'rbd' || o.cls === 'type' || o.cls === 'range'))) {
        failures.push(`${label}: expected a value or a typed error, got ${describeOutcome(o)}`);
      }
    }
    await c.image.close();
    counts.scenarios++;
    expect(failures).toEqual([]);
  }, 600_000);
});

describe('drill refusals', () => {
  beforeEach(() => failures.splice(0));
  test('a drill on a non-mirrored image, on a primary copy, with no consistent point, or within one cluster: a typed error saying which', async () => {
    await freshImage();
    const plain = c.imageName;
    await c.image.close();
    const cases: Array<[string, () => Promise<unknown>, (e: unknown) => boolean]> = [
      ['drill(not mirrored)', () => lib.drill({ primary: c.foreignPool, secondary: c.pool, image: plain }), (e) => e instanceof lib.MirroringNotEnabled],
      ['drill(primary and secondary of one cluster)', () => lib.drill({ primary: c.samePool, secondary: c.pool, image: plain }), (e) => e instanceof RangeError],
    ];
    // A mirrored image of the scratch pool (image mode; no peer there, so no rbd-mirror replays it).
    const mirrored = uniq('mirrored');
    await c.pool.mirror.enable('image');
    await c.pool.createImage(mirrored, MiB, { features: ['layering', 'exclusive-lock'] });
    const img = await c.pool.openImage(mirrored);
    try {
      await img.mirror.enable('snapshot');
      cases.push(['drill(primary copy)', () => lib.drill({ primary: c.foreignPool, secondary: c.pool, image: mirrored }), (e) => e instanceof lib.CopyIsPrimary]);
      for (const [label, f, ok] of cases) {
        counts.badInputs++;
        const r = await attempt(f, label);
        const o = r.outcome;
        process.stderr.write(`[bad-input] ${label}: ${describeOutcome(o)}\n`);
        if (o.kind === 'hang') counts.hangs++;
        if (!(o.kind === 'error' && ok(o.err))) failures.push(`${label}: expected its typed refusal, got ${describeOutcome(o)}`);
      }
      // Demoted: non-primary, and nobody replays it: no consistent point.
      await img.mirror.demote();
      counts.badInputs++;
      const r = await attempt(() => lib.drill({ primary: c.foreignPool, secondary: c.pool, image: mirrored }), 'drill(no consistent point)');
      const o = r.outcome;
      process.stderr.write(`[bad-input] drill(no consistent point): ${describeOutcome(o)}\n`);
      if (!(o.kind === 'error' && o.err instanceof lib.NoConsistentPoint && (o.err as RbdError).code === 'EAGAIN')) {
        failures.push(`drill(no consistent point): expected NoConsistentPoint (EAGAIN), got ${describeOutcome(o)}`);
      }
      // nothing was made: no drill image of either
      expect((await c.pool.listImages()).filter((n) => n.startsWith(`${mirrored}-drill`) || n.startsWith(`${plain}-drill`))).toEqual([]);
    } finally {
      await img.mirror.disable({ force: true }).catch(() => undefined);
      await img.close();
      await c.pool.removeImage(mirrored).catch(() => undefined);
      await c.pool.mirror.disable().catch(() => undefined);
    }
    counts.scenarios++;
    expect(failures).toEqual([]);
  }, 300_000);
});

describe('calls racing close()', () => {
  beforeEach(() => failures.splice(0));
  test('each method called and its handle closed at once: the call and close() both settle, with a value or a typed error', async () => {
    for (const cls of CLASSES.filter((k) => OWNER[k] !== null)) {
      for (const [m, entry] of Object.entries(SIGNATURES[cls])) {
        const s = Array.isArray(entry) ? entry[0] : entry;
        if (s.args.some((a) => a.shared)) continue; // no valid call of it may reach the shared cluster (setSiteName)
        // Handles of their own, so that closing them leaves the shared ones open.
        const h: Handles = { cluster: c.cluster, pool: c.pool, image: c.image };
        if (OWNER[cls] === 'cluster') h.cluster = await Cluster.connect({ confPath: c.lab.site('site-a').confPath });
        else h.pool = await c.cluster.openPool(c.poolName);
        if (OWNER[cls] === 'image') {
          const n = uniq('race');
          await h.pool.createImage(n, MiB, { features: ['layering', 'exclusive-lock'] });
          h.image = await h.pool.openImage(n);
          c.imageName = n;
        }
        const owner = h[OWNER[cls] as keyof Handles] as Resource;
        const args = s.args.map((a) => a.valid());
        const label = `${cls}.${m} racing close()`;
        counts.badInputs++;
        const r = await attempt(() => {
          const call = method(RECEIVERS[cls](h), m)(...args);
          const closing = owner.close();
          return Promise.allSettled([Promise.resolve(call).then(settle), closing]).then((results) => {
            const bad = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
            if (bad) throw bad.reason;
          });
        }, label);
        judge(label, 'any', r, true);
        if (OWNER[cls] !== 'cluster') await h.pool.close();
      }
    }
    counts.scenarios++;
    expect(failures).toEqual([]);
  }, 900_000);
});

test('the tally: no crash, no hang', () => {
  // A crash would have ended this worker before here; a hang is counted as it happens.
  expect(counts.crashes).toBe(0);
  expect(counts.hangs).toBe(0);
  expect(counts.badInputs).toBeGreaterThan(1000);
});
