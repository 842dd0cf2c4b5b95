/**
 * xrbd's command line: the global connection flags (named like rbd's), the
 * commands and their flags, image and pool specs. Pure: no cluster, no I/O,
 * so that every usage error is found before anything connects.
 */
import { parseArgs } from 'node:util';

/** A mistake on the command line: exit code 2. */
export class UsageError extends Error {
  /** The command whose usage to show, when one was recognised. */
  readonly command?: string;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    if (command !== undefined) this.command = command;
  }
}

/** How to reach one cluster: what `Cluster.connect()` gets. */
export interface ConnFlags {
  /** --conf / -c */
  conf?: string;
  /** --cluster: the cluster name ($cluster in /etc/ceph/$cluster.conf). */
  cluster?: string;
  /** --id / -i: the cephx user without 'client.'. */
  id?: string;
  /** --keyring */
  keyring?: string;
  /** --keyfile: a file holding only the key. */
  keyfile?: string;
  /** --mon-host */
  monHost?: string;
}

/** Flags every command takes. */
export interface GlobalFlags extends ConnFlags {
  /** --timeout in seconds: connect, each cluster operation, each wait. */
  timeoutSec?: number;
  json: boolean;
  quiet: boolean;
  /** 'auto': progress on a TTY stderr only; --progress forces it, --no-progress (or --quiet) turns it off. */
  progress: 'auto' | 'on' | 'off';
}

/** `pool[/namespace]/image`. */
export interface ImageSpec {
  pool: string;
  namespace: string;
  image: string;
}

/** `pool[/namespace]`. */
export interface PoolSpec {
  pool: string;
  namespace: string;
}

/** What waitFor waits for: replication, or a state match. */
export type WaitTarget = { kind: 'replication' } | { kind: 'state'; local?: string; peer?: string };

/** A parsed command line. */
export type Command =
  | { name: 'help'; topic?: string }
  | { name: 'version' }
  | { name: 'status'; target: ImageSpec | PoolSpec }
  | { name: 'enable'; spec: ImageSpec; mode: 'journal' | 'snapshot' }
  | { name: 'disable'; spec: ImageSpec; force: boolean }
  | { name: 'promote'; target: ImageSpec | PoolSpec; force: boolean }
  | { name: 'demote'; target: ImageSpec | PoolSpec }
  | { name: 'resync'; spec: ImageSpec; wait: boolean }
  | { name: 'wait'; spec: ImageSpec; target: WaitTarget }
  | {
      name: 'failover' | 'failback';
      pool: PoolSpec;
      images: string[];
      mode: 'planned' | 'forced';
      to: ConnFlags;
      toPool?: string;
      fromUnreachable: boolean;
    }
  | { name: 'drill'; spec: ImageSpec; primary: ConnFlags; primaryPool?: string; drillName?: string; keep: boolean; exec?: string }
  | { name: 'export'; spec: ImageSpec; file: string }
  | { name: 'import'; file: string; spec: ImageSpec; size?: number };

/** The whole command line. */
export interface Parsed {
  global: GlobalFlags;
  command: Command;
}

/** Every flag, global or not. Which command takes which is checked after parsing. */
const OPTIONS = {
  conf: { type: 'string', short: 'c' },
  cluster: { type: 'string' },
  id: { type: 'string', short: 'i' },
  keyring: { type: 'string' },
  keyfile: { type: 'string' },
  'mon-host': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  namespace: { type: 'string' },
  force: { type: 'boolean' },
  wait: { type: 'boolean' },
  for: { type: 'string' },
  local: { type: 'string' },
  peer: { type: 'string' },
  mode: { type: 'string' },
  'to-conf': { type: 'string' },
  'to-cluster': { type: 'string' },
  'to-id': { type: 'string' },
  'to-keyring': { type: 'string' },
  'to-keyfile': { type: 'string' },
  'to-mon-host': { type: 'string' },
  'to-pool': { type: 'string' },
  'from-unreachable': { type: 'boolean' },
  'primary-conf': { type: 'string' },
  'primary-cluster': { type: 'string' },
  'primary-id': { type: 'string' },
  'primary-keyring': { type: 'string' },
  'primary-keyfile': { type: 'string' },
  'primary-mon-host': { type: 'string' },
  'primary-pool': { type: 'string' },
  keep: { type: 'boolean' },
  exec: { type: 'string' },
  name: { type: 'string' },
  size: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;
type Values = { [K in OptionName]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

const GLOBAL: readonly OptionName[] = [
  'conf', 'cluster', 'id', 'keyring', 'keyfile', 'mon-host', 'timeout', 'json', 'quiet', 'progress', 'no-progress', 'help', 'version',
];
const TO: readonly OptionName[] = ['to-conf', 'to-cluster', 'to-id', 'to-keyring', 'to-keyfile', 'to-mon-host', 'to-pool'];

/** The flags each command takes besides the global ones. */
const COMMAND_OPTIONS: Readonly<Record<string, readonly OptionName[]>> = {
  help: [],
  version: [],
  status: ['namespace'],
  enable: [],
  disable: ['force'],
  promote: ['force', 'namespace'],
  demote: ['namespace'],
  resync: ['wait'],
  wait: ['for', 'local', 'peer'],
  failover: ['mode', 'from-unreachable', 'namespace', ...TO],
  failback: ['namespace', ...TO],
  drill: ['primary-conf', 'primary-cluster', 'primary-id', 'primary-keyring', 'primary-keyfile', 'primary-mon-host', 'primary-pool', 'keep', 'exec', 'name'],
  export: [],
  import: ['size'],
};

/** The commands, in the order `--help` lists them. */
export const COMMANDS = Object.keys(COMMAND_OPTIONS).filter((c) => c !== 'help' && c !== 'version');

/** Site status states waitForState can match (MirrorStatusState). */
export const STATES = ['unknown', 'error', 'syncing', 'starting_replay', 'replaying', 'stopping_replay', 'stopped'] as const;

function checkPart(part: string, what: string, spec: string, command: string): string {
  if (part === '') throw new UsageError(`bad ${what} spec '${spec}': empty ${what === 'image' ? 'pool, namespace or image' : 'pool or namespace'} name`, command);
  return part;
}

function checkFile(file: string, command: string): string {
  if (file === '') throw new UsageError(`${command}: empty file name (use - for ${command === 'export' ? 'stdout' : 'stdin'})`, command);
  return file;
}

/** `pool/image` or `pool/namespace/image` (rbd's image spec, without a default pool). */
export function parseImageSpec(spec: string, command = ''): ImageSpec {
  if (spec.includes('@')) throw new UsageError(`bad image spec '${spec}': snapshots are not supported here`, command);
  const parts = spec.split('/');
  if (parts.length < 2 || parts.length > 3) {
    throw new UsageError(`bad image spec '${spec}': expected POOL/IMAGE or POOL/NAMESPACE/IMAGE`, command);
  }
  for (const p of parts) checkPart(p, 'image', spec, command);
  return parts.length === 2
    ? { pool: parts[0], namespace: '', image: parts[1] }
    : { pool: parts[0], namespace: parts[1], image: parts[2] };
}

/** `pool` or `pool/namespace`. */
export function parsePoolSpec(spec: string, command = ''): PoolSpec {
  const parts = spec.split('/');
  if (parts.length > 2) throw new UsageError(`bad pool spec '${spec}': expected POOL or POOL/NAMESPACE`, command);
  for (const p of parts) checkPart(p, 'pool', spec, command);
  return { pool: parts[0], namespace: parts[1] ?? '' };
}

/** `1073741824`, `512M`, `10G`, `4K`: bytes (binary units, as rbd's --size). */
export function parseSize(text: string, command = ''): number {
  const m = /^(\d+)([KMGT]i?B?|B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`bad size '${text}': expected a number of bytes, optionally with K, M, G or T`, command);
  const unit = (m[2] ?? '').toUpperCase()[0] ?? '';
  const mult = unit === 'K' ? 2 ** 10 : unit === 'M' ? 2 ** 20 : unit === 'G' ? 2 ** 30 : unit === 'T' ? 2 ** 40 : 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`bad size '${text}': must be between 1 and 2^53-1 bytes`, command);
  return n;
}

function parseTimeout(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 2_000_000) {
    throw new UsageError(`bad --timeout '${text}': expected a number of seconds greater than 0`);
  }
  return n;
}

function state(text: string, flag: string): string {
  if (!(STATES as readonly string[]).includes(text)) {
    throw new UsageError(`bad ${flag} '${text}': expected replication or one of ${STATES.join(', ')}`, 'wait');
  }
  return text;
}

function conn(v: Values, prefix: '' | 'to-' | 'primary-'): ConnFlags {
  const c: ConnFlags = {};
  const get = (k: string): string | undefined => v[`${prefix}${k}` as OptionName] as string | undefined;
  if (get('conf') !== undefined) c.conf = get('conf');
  if (get('cluster') !== undefined) c.cluster = get('cluster');
  if (get('id') !== undefined) c.id = get('id')?.replace(/^client\./, '');
  if (get('keyring') !== undefined) c.keyring = get('keyring');
  if (get('keyfile') !== undefined) c.keyfile = get('keyfile');
  if (get('mon-host') !== undefined) c.monHost = get('mon-host');
  for (const [k, val] of Object.entries(c)) {
    if (val === '') throw new UsageError(`--${prefix}${k === 'monHost' ? 'mon-host' : k} must not be empty`);
  }
  return c;
}

function arity(command: string, pos: string[], min: number, max: number, usage: string): void {
  if (pos.length < min) throw new UsageError(`${command}: missing argument: ${usage}`, command);
  if (pos.length > max) throw new UsageError(`${command}: unexpected argument '${pos[max]}': ${usage}`, command);
}

/** POOL/IMAGE (one or two slashes) is an image; a bare POOL (plus --namespace) is the pool. */
function imageOrPool(command: string, arg: string, v: Values): ImageSpec | PoolSpec {
  if (arg.includes('/')) {
    if (v.namespace !== undefined) throw new UsageError(`${command}: --namespace goes with a pool, not with an image spec (use POOL/NAMESPACE/IMAGE)`, command);
    return parseImageSpec(arg, command);
  }
  return { pool: checkPart(arg, 'pool', arg, command), namespace: v.namespace ?? '' };
}

/** Whether a status/promote/demote target names an image (rather than the whole pool). */
export function isImageSpec(t: ImageSpec | PoolSpec): t is ImageSpec {
  return 'image' in t;
}

/** Parse xrbd's arguments (process.argv.slice(2)). Throws UsageError. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  let values: Values;
  let positionals: string[];
  try {
    const r = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    values = r.values as Values;
    positionals = r.positionals;
  } catch (err) {
    // node:util's messages name the flag; drop its advice about '--' which xrbd does not need.
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(msg.charAt(0).toLowerCase() + msg.slice(1));
  }
  const v = values;
  if (v.progress && v['no-progress']) throw new UsageError('--progress and --no-progress exclude each other');
  const global: GlobalFlags = {
    ...conn(v, ''),
    json: v.json === true,
    quiet: v.quiet === true,
    progress: v['no-progress'] || v.quiet ? 'off' : v.progress ? 'on' : 'auto',
  };
  if (v.timeout !== undefined) global.timeoutSec = parseTimeout(v.timeout);

  const [name, ...pos] = positionals;
  if (name === undefined || name === 'help') {
    if (name === 'help' && pos.length > 1) throw new UsageError(`help: unexpected argument '${pos[1]}'`);
    if (name === undefined && v.version) return { global, command: { name: 'version' } };
    if (name === undefined && !v.help) throw new UsageError('no command given');
    return { global, command: pos[0] !== undefined ? { name: 'help', topic: pos[0] } : { name: 'help' } };
  }
  if (!Object.prototype.hasOwnProperty.call(COMMAND_OPTIONS, name) || name === 'version') {
    throw new UsageError(`unknown command '${name}'`);
  }
  if (v.help) return { global, command: { name: 'help', topic: name } };
  const allowed = new Set<OptionName>([...GLOBAL, ...COMMAND_OPTIONS[name]]);
  for (const k of Object.keys(v) as OptionName[]) {
    if (!allowed.has(k)) throw new UsageError(`${name}: unknown option '--${k}'`, name);
  }
  return { global, command: command(name, pos, v) };
}

function command(name: string, pos: string[], v: Values): Command {
  switch (name) {
    case 'status':
      arity(name, pos, 1, 1, 'status POOL | POOL[/NAMESPACE]/IMAGE');
      return { name, target: imageOrPool(name, pos[0], v) };
    case 'enable': {
      arity(name, pos, 1, 2, 'enable POOL/IMAGE [journal|snapshot]');
      const mode = pos[1] ?? 'journal';
      if (mode !== 'journal' && mode !== 'snapshot') throw new UsageError(`enable: bad mode '${mode}': expected journal or snapshot`, name);
      return { name, spec: parseImageSpec(pos[0], name), mode };
    }
    case 'disable':
      arity(name, pos, 1, 1, 'disable POOL/IMAGE [--force]');
      return { name, spec: parseImageSpec(pos[0], name), force: v.force === true };
    case 'promote':
      arity(name, pos, 1, 1, 'promote POOL/IMAGE | POOL [--force]');
      return { name, target: imageOrPool(name, pos[0], v), force: v.force === true };
    case 'demote':
      arity(name, pos, 1, 1, 'demote POOL/IMAGE | POOL');
      return { name, target: imageOrPool(name, pos[0], v) };
    case 'resync':
      arity(name, pos, 1, 1, 'resync POOL/IMAGE [--wait]');
      return { name, spec: parseImageSpec(pos[0], name), wait: v.wait === true };
    case 'wait': {
      arity(name, pos, 1, 1, 'wait POOL/IMAGE [--for replication|STATE] [--local STATE] [--peer STATE]');
      const spec = parseImageSpec(pos[0], name);
      const f = v.for;
      if (f === 'replication') {
        if (v.local !== undefined || v.peer !== undefined) {
          throw new UsageError('wait: --for replication excludes --local and --peer', name);
        }
        return { name, spec, target: { kind: 'replication' } };
      }
      if (f !== undefined && v.local !== undefined) throw new UsageError('wait: --for STATE is --local STATE: give one of them', name);
      const local = f ?? v.local;
      const target: WaitTarget = { kind: 'state' };
      if (local !== undefined) target.local = state(local, f !== undefined ? '--for' : '--local');
      if (v.peer !== undefined) target.peer = state(v.peer, '--peer');
      return { name, spec, target: local === undefined && v.peer === undefined ? { kind: 'replication' } : target };
    }
    case 'failover':
    case 'failback': {
      arity(name, pos, 1, Infinity, `${name} POOL[/NAMESPACE] [IMAGE...] --to-conf PATH`);
      const pool = parsePoolSpec(pos[0], name);
      if (v.namespace !== undefined) {
        if (pool.namespace !== '') throw new UsageError(`${name}: the namespace is given twice (POOL/NAMESPACE and --namespace)`, name);
        pool.namespace = v.namespace;
      }
      const images = pos.slice(1);
      for (const i of images) {
        if (i === '' || i.includes('/') || i.includes('@')) throw new UsageError(`${name}: bad image name '${i}': give bare names of images in ${pos[0]}`, name);
      }
      const to = conn(v, 'to-');
      if (to.conf === undefined && to.cluster === undefined && to.monHost === undefined) {
        throw new UsageError(`${name}: name the site ${name === 'failover' ? 'taking' : 'getting back'} the primary role with --to-conf PATH (or --to-cluster NAME, --to-mon-host)`, name);
      }
      const mode = v.mode ?? 'planned';
      if (mode !== 'planned' && mode !== 'forced') throw new UsageError(`${name}: bad --mode '${mode}': expected planned or forced`, name);
      if (v['from-unreachable'] && mode !== 'forced') {
        throw new UsageError(`${name}: --from-unreachable needs --mode forced (a planned failover demotes on the from site)`, name);
      }
      const out: Command = { name, pool, images, mode, to, fromUnreachable: v['from-unreachable'] === true };
      if (v['to-pool'] !== undefined) out.toPool = checkPart(v['to-pool'], 'pool', v['to-pool'], name);
      return out;
    }
    case 'drill': {
      arity(name, pos, 1, 1, 'drill POOL/IMAGE --primary-conf PATH [--keep | --exec CMD] [--name NAME]');
      const primary = conn(v, 'primary-');
      if (primary.conf === undefined && primary.cluster === undefined && primary.monHost === undefined) {
        throw new UsageError('drill: name the site whose copy is primary with --primary-conf PATH (or --primary-cluster NAME, --primary-mon-host)', name);
      }
      if (v.keep && v.exec !== undefined) throw new UsageError('drill: --keep and --exec exclude each other (--exec cleans up after the command)', name);
      if (v.exec === '') throw new UsageError('drill: --exec must not be empty', name);
      const out: Command = { name, spec: parseImageSpec(pos[0], name), primary, keep: v.keep === true };
      if (v.exec !== undefined) out.exec = v.exec;
      if (v.name !== undefined) out.drillName = checkPart(v.name, 'image', v.name, name);
      if (v['primary-pool'] !== undefined) out.primaryPool = checkPart(v['primary-pool'], 'pool', v['primary-pool'], name);
      return out;
    }
    case 'export':
      arity(name, pos, 2, 2, 'export POOL/IMAGE FILE|-');
      return { name, spec: parseImageSpec(pos[0], name), file: checkFile(pos[1], name) };
    case 'import': {
      arity(name, pos, 2, 2, 'import FILE|- POOL/IMAGE [--size SIZE]');
      const out: Command = { name, file: checkFile(pos[0], name), spec: parseImageSpec(pos[1], name) };
      if (v.size !== undefined) out.size = parseSize(v.size, name);
      return out;
    }
    default:
      throw new UsageError(`unknown command '${name}'`);
  }
}

/** Exit codes, as `--help` and the README list them. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  connect: 3,
  timeout: 4,
  partial: 5,
  interrupted: 130,
} as const;

const GLOBAL_HELP = `Connection (the site acted on; for failover/failback the site giving up the primary role):
  -c, --conf PATH        ceph.conf to read (default: CEPH_CONF, /etc/ceph/$cluster.conf, ...)
      --cluster NAME     cluster name: reads /etc/ceph/NAME.conf unless --conf is given
  -i, --id NAME          cephx user, without 'client.' (default admin)
      --keyring PATH     keyring file
      --keyfile PATH     file holding only the cephx key
      --mon-host ADDRS   monitor addresses (no conf file is read unless --conf is given)
      --timeout SECS     bound connecting, each cluster operation and each wait

Output:
      --json             the SDK's objects as JSON on stdout (dates as ISO strings, 64-bit numbers as strings)
  -q, --quiet            no progress, no event lines; errors only
      --progress         progress on stderr even when it is not a terminal
      --no-progress      no progress bars or status lines
  -h, --help             this help, or a command's (xrbd COMMAND --help)
  -V, --version          xrbd's, librbd's and librados' versions

Exit codes:
  0    success
  1    an operation failed (the message says which, on stderr)
  2    usage error: unknown command or flag, bad spec
  3    could not connect to a cluster
  4    timeout: a wait, or a cluster operation bounded by --timeout
  5    failover/failback finished with failed images (the report says which)
  130  interrupted (SIGINT): the running wait is aborted, connections closed
`;

const COMMAND_HELP: Readonly<Record<string, string>> = {
  status: `xrbd status POOL [--namespace NS]
xrbd status POOL[/NAMESPACE]/IMAGE
  Mirroring status: of the pool (health, daemons, one row per mirrored image:
  mode, primary, local state and description, peer states; like
  rbd mirror pool status --verbose), or of one image (like rbd mirror image status).`,
  enable: `xrbd enable POOL/IMAGE [journal|snapshot]
  Enable mirroring of the image (default journal); this copy becomes primary.`,
  disable: `xrbd disable POOL/IMAGE [--force]
  Disable mirroring of the image; --force for a non-primary copy.`,
  promote: `xrbd promote POOL/IMAGE [--force]
xrbd promote POOL [--namespace NS] [--force]
  Make the image (every non-primary mirrored image of the pool) primary here.
  --force promotes although the peer did not demote: a split brain.`,
  demote: `xrbd demote POOL/IMAGE
xrbd demote POOL [--namespace NS]
  Make the image (every primary mirrored image of the pool) non-primary here.`,
  resync: `xrbd resync POOL/IMAGE [--wait]
  Flag a non-primary copy for a full resync from the primary; --wait follows
  rbd-mirror re-creating it until it replays again.`,
  wait: `xrbd wait POOL/IMAGE [--for replication|STATE] [--local STATE] [--peer STATE]
  Wait until the peers have replicated what was written to this primary copy
  (--for replication, the default), or until this site's status state
  (--for/--local STATE) and every peer's (--peer STATE) match.
  STATE: ${STATES.join(', ')}.`,
  failover: `xrbd failover POOL[/NAMESPACE] [IMAGE...] --to-conf PATH [--mode planned|forced]
  Move the primary role of the named images (default: every mirrored image)
  from the site named by the global flags to the site named by --to-*:
      --to-conf PATH --to-cluster NAME --to-id NAME --to-keyring PATH
      --to-keyfile PATH --to-mon-host ADDRS --to-pool NAME (default: POOL)
  planned: demote there, promote here once everything is replayed.
  forced: promote with force without waiting; the from site may be lost:
      --from-unreachable does not connect to it, and with --mode forced a
      failed connection to it is reported and the failover goes on without it.
  Each step is printed on stderr; the per-image report on stdout.`,
  failback: `xrbd failback POOL[/NAMESPACE] [IMAGE...] --to-conf PATH
  Give the primary role back: the global flags name the site primary now,
  --to-* the site getting the role back (same --to-* flags as failover).
  Stale copies there (split brain after a forced failover) are demoted and
  resynced, only for images named on the command line.`,
  drill: `xrbd drill POOL/IMAGE --primary-conf PATH [--keep | --exec CMD] [--name NAME]
  A DR drill on the site named by the global flags, where the copy is
  non-primary: a writable drill image from a consistent point (snapshot mode:
  the newest complete mirror snapshot; journal mode: a snapshot taken on the
  primary, named by --primary-conf --primary-cluster --primary-id
  --primary-keyring --primary-keyfile --primary-mon-host --primary-pool,
  and replayed), checked by sha256 against the primary at that point.
  Nothing is demoted; replication goes on. Then: --exec CMD runs CMD (sh -c)
  with XRBD_DRILL_SPEC, XRBD_DRILL_POOL, XRBD_DRILL_IMAGE set and cleans up
  (CMD's failure fails the drill); --keep leaves the drill image (and a
  journal-mode drill snapshot) for you to test and remove; else it cleans up.`,
  export: `xrbd export POOL/IMAGE FILE|-
  Write every byte of the image to a new file (- for stdout).`,
  import: `xrbd import FILE|- POOL/IMAGE [--size SIZE]
  Create the image from a file (- for stdin; its size is --size, or stdin is
  first spooled to a temporary file). Runs of zeros are not written.`,
};

/** `xrbd --help`, or one command's help. */
export function helpText(topic?: string): string {
  if (topic !== undefined) {
    const h = COMMAND_HELP[topic];
    if (h === undefined) throw new UsageError(`help: unknown command '${topic}'`);
    return `usage: ${h}\n\n${GLOBAL_HELP}`;
  }
  const lines = COMMANDS.map((c) => `  ${COMMAND_HELP[c].split('\n')[0].replace(/^xrbd /, '')}`);
  return `usage: xrbd COMMAND [ARGS] [FLAGS]
  Ceph RBD mirroring from the command line, on the @x/rbd SDK.

Commands:
${[...new Set(lines)].join('\n')}

${GLOBAL_HELP}`;
}
