/**
 * xrbd's commands, on the SDK only (never the rbd or ceph binaries): connect,
 * act, print, and map what happened to an exit code (see EXIT in args.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { Cluster, type ConnectOptions } from '../cluster/cluster';
import { Timeout } from '../core/errors';
import type { Image } from '../image/image';
import type { MirrorImageStatus } from '../mirror/image-mirror';
import { AbortError, matchesMirrorState, type MirrorStateMatch, type MirrorWaitTimeout } from '../mirror/wait';
import type { MirrorStatusState } from '../mirror/status';
import type { Pool } from '../pool/pool';
import type { MirrorPoolActionResult } from '../mirror/pool-mirror';
import {
  EXIT,
  UsageError,
  helpText,
  isImageSpec,
  parseCommandLine,
  type Command,
  type ConnFlags,
  type GlobalFlags,
  type ImageSpec,
  type PoolSpec,
} from './args';
import {
  Progress,
  formatImageStatus,
  formatPoolAction,
  formatPoolStatus,
  redact,
  toJson,
  statusLine,
  type ProgressSink,
} from './format';
import { dr, drillCommand } from './dr';

/** Where xrbd reads and writes, and what interrupts it (the real process, or a test's). */
export interface Io {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & ProgressSink;
  /** Opened only by `import -`. */
  stdin: () => Readable;
  /** Aborted on SIGINT. */
  signal: AbortSignal;
}

/** Connecting failed: exit code 3. */
export class ConnectError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectError';
  }
}

const ETIMEDOUT = os.constants.errno.ETIMEDOUT;
const DEFAULT_WAIT_MS = 300_000;

/** The exit code for an error that ended a command. */
export function exitCodeFor(err: unknown, signal?: AbortSignal): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ConnectError) return EXIT.connect;
  if (signal?.aborted || (err instanceof Error && err.name === 'AbortError')) return EXIT.interrupted;
  if ((err as { code?: unknown } | null)?.code === 'ETIMEDOUT') return EXIT.timeout;
  return EXIT.failed;
}

/** cephx keys in a keyring file (`key = AQ...`), to keep out of messages. */
export function keyringSecrets(text: string): string[] {
  return [...text.matchAll(/^\s*key\s*=\s*(\S+)/gm)].map((m) => m[1]);
}

function describeConn(f: ConnFlags): string {
  if (f.conf !== undefined) return `conf ${f.conf}`;
  if (f.monHost !== undefined) return `mon host ${f.monHost}`;
  if (f.cluster !== undefined) return `cluster ${f.cluster}`;
  return 'the default ceph.conf';
}

function specText(s: ImageSpec | PoolSpec): string {
  return [s.pool, s.namespace || undefined, 'image' in s ? s.image : undefined].filter((x) => x !== undefined).join('/');
}

/** Reject with AbortError once `signal` aborts; for SDK calls that take no signal. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError(undefined, { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortError(undefined, { cause: signal.reason }));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new AbortError(undefined, { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** One run of xrbd: its flags, its connections, its output. */
export class Run {
  readonly g: GlobalFlags;
  readonly io: Io;
  readonly progress: Progress;
  readonly secrets: string[] = [];
  readonly #clusters: Cluster[] = [];

  constructor(g: GlobalFlags, io: Io) {
    this.g = g;
    this.io = io;
    const on = g.progress === 'on' || (g.progress === 'auto' && io.stderr.isTTY === true);
    this.progress = new Progress(on ? io.stderr : null);
  }

  get signal(): AbortSignal {
    return this.io.signal;
  }

  get waitMs(): number {
    return this.g.timeoutSec === undefined ? DEFAULT_WAIT_MS : Math.ceil(this.g.timeoutSec * 1000);
  }

  out(text: string): void {
    this.progress.done();
    this.io.stdout.write(text);
  }

  json(value: unknown): void {
    this.out(toJson(value) + '\n');
  }

  /** A line on stderr unless --quiet (DR events, notes). */
  note(text: string): void {
    if (this.g.quiet) return;
    this.progress.done();
    this.io.stderr.write(redact(text, this.secrets) + '\n');
  }

  async connect(f: ConnFlags, label: string): Promise<Cluster> {
    const o: ConnectOptions = {};
    if (f.conf !== undefined) o.confPath = f.conf;
    if (f.cluster !== undefined) o.clusterName = f.cluster;
    if (f.id !== undefined) o.clientId = f.id;
    if (f.monHost !== undefined) o.monHost = f.monHost;
    try {
      if (f.keyring !== undefined) {
        o.keyring = f.keyring;
        this.secrets.push(...keyringSecrets(await fs.promises.readFile(f.keyring, 'utf8').catch(() => '')));
      }
      if (f.keyfile !== undefined) {
        const key = (await fs.promises.readFile(f.keyfile, 'utf8')).trim();
        this.secrets.push(key);
        o.key = key;
      }
    } catch (err) {
      throw new ConnectError(`cannot read the key file of ${label}: ${(err as Error).message}`, { cause: err });
    }
    if (this.g.timeoutSec !== undefined) {
      o.timeoutMs = Math.ceil(this.g.timeoutSec * 1000);
      o.operationTimeoutMs = o.timeoutMs;
    }
    try {
      const c = await abortable(Cluster.connect(o), this.signal);
      this.#clusters.push(c);
      return c;
    } catch (err) {
      if (err instanceof AbortError) throw err;
      throw new ConnectError(`could not connect to ${label} (${describeConn(f)}): ${(err as Error).message}`, { cause: err });
    }
  }

  async openPool(cluster: Cluster, s: PoolSpec): Promise<Pool> {
    return abortable(cluster.openPool(s.pool, s.namespace ? { namespace: s.namespace } : undefined), this.signal);
  }

  async openImage(s: ImageSpec, readOnly = false): Promise<{ pool: Pool; image: Image }> {
    const cluster = await this.connect(this.g, 'the cluster');
    const pool = await this.openPool(cluster, s);
    const image = await abortable(pool.openImage(s.image, readOnly ? { readOnly: true } : undefined), this.signal);
    return { pool, image };
  }

  /** Close every connection (closing a cluster closes its pools and images; it waits for calls in flight). */
  async close(): Promise<void> {
    this.progress.done();
    for (const c of this.#clusters.reverse()) await c.close().catch(() => undefined);
  }
}

/** Run xrbd with these arguments; resolves with the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    return report(err, io, []);
  }
  const { global: g, command: cmd } = parsed;
  if (cmd.name === 'help') {
    try {
      io.stdout.write(helpText(cmd.topic));
      return EXIT.ok;
    } catch (err) {
      return report(err, io, []);
    }
  }
  if (cmd.name === 'version') {
    io.stdout.write(versionText());
    return EXIT.ok;
  }
  const run = new Run(g, io);
  try {
    return await dispatch(run, cmd);
  } catch (err) {
    return report(err, io, run.secrets);
  } finally {
    await run.close();
  }
}

function versionText(): string {
  let version = 'unknown';
  try {
    version = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    /* an unusual layout: leave it unknown */
  }
  let libs = '';
  try {
    const v = Cluster.versions();
    libs = ` (librbd ${v.rbd}, librados ${v.rados})`;
  } catch (err) {
    libs = ` (the native addon did not load: ${(err as Error).message.split('\n')[0]})`;
  }
  return `xrbd ${version}${libs}\n`;
}

/** Print an error as `xrbd: <message>` (no stack, secrets redacted) and return its exit code. */
function report(err: unknown, io: Io, secrets: readonly string[]): number {
  const code = exitCodeFor(err, io.signal);
  let text: string;
  if (code === EXIT.interrupted) text = 'interrupted';
  else text = err instanceof Error ? err.message : String(err);
  let out = `xrbd: ${text}\n`;
  if (err instanceof UsageError) out += `Try 'xrbd ${err.command ? `${err.command} ` : ''}--help'.\n`;
  const last = (err as Partial<MirrorWaitTimeout> | null)?.lastStatus;
  if (code === EXIT.timeout && last) out += `xrbd: last status: ${statusLine(last)}\n`;
  if (process.env.XRBD_DEBUG && err instanceof Error && err.stack) out += err.stack + '\n';
  io.stderr.write(redact(out, secrets));
  return code;
}

async function dispatch(run: Run, cmd: Command): Promise<number> {
  switch (cmd.name) {
    case 'status':
      return isImageSpec(cmd.target) ? imageStatus(run, cmd.target) : poolStatus(run, cmd.target);
    case 'enable':
      return imageAction(run, cmd.spec, 'enable', (i) => i.mirror.enable(cmd.mode), 'Mirroring enabled');
    case 'disable':
      return imageAction(run, cmd.spec, 'disable', (i) => i.mirror.disable({ force: cmd.force }), 'Mirroring disabled');
    case 'promote':
      if (isImageSpec(cmd.target)) {
        return imageAction(run, cmd.target, 'promote', (i) => i.mirror.promote({ force: cmd.force }), 'Image promoted to primary');
      }
      return poolAction(run, cmd.target, 'promote', (p) => p.mirror.promote({ force: cmd.force }));
    case 'demote':
      if (isImageSpec(cmd.target)) return imageAction(run, cmd.target, 'demote', (i) => i.mirror.demote(), 'Image demoted to non-primary');
      return poolAction(run, cmd.target, 'demote', (p) => p.mirror.demote());
    case 'resync':
      return resync(run, cmd.spec, cmd.wait);
    case 'wait':
      return waitCommand(run, cmd.spec, cmd.target.kind === 'replication' ? null : cmd.target);
    case 'failover':
    case 'failback':
      return dr(run, cmd);
    case 'drill':
      return drillCommand(run, cmd);
    case 'export':
      return exportCommand(run, cmd.spec, cmd.file);
    case 'import':
      return importCommand(run, cmd.file, cmd.spec, cmd.size);
    default:
      throw new UsageError(`unknown command '${(cmd as { name: string }).name}'`);
  }
}

// ---- status ---------------------------------------------------------------------------------

async function poolStatus(run: Run, s: PoolSpec): Promise<number> {
  const pool = await run.openPool(await run.connect(run.g, 'the cluster'), s);
  const status = await abortable(pool.mirror.status({ verbose: true }), run.signal);
  const lag = await abortable(pool.mirror.lag(), run.signal);
  if (run.g.json) {
    run.json({ ...status, lag });
    return EXIT.ok;
  }
  const modes = new Map((await abortable(pool.mirror.imageInfos(), run.signal)).map((i) => [i.id, i.mode as string]));
  run.out(formatPoolStatus(status, modes, new Map(lag.images.map((l) => [l.image, l]))));
  return EXIT.ok;
}

async function imageStatus(run: Run, s: ImageSpec): Promise<number> {
  const { image } = await run.openImage(s, true);
  const status = await abortable(image.mirror.status(), run.signal);
  const lag = await abortable(image.mirror.lag(), run.signal);
  if (run.g.json) {
    run.json({ ...status, lag });
    return EXIT.ok;
  }
  const mode = await abortable(image.mirror.mode(), run.signal).catch(() => undefined);
  run.out(formatImageStatus(status, mode, lag));
  return EXIT.ok;
}

// ---- enable / disable / promote / demote ----------------------------------------------------

async function imageAction(run: Run, s: ImageSpec, action: string, act: (i: Image) => Promise<void>, done: string): Promise<number> {
  const { image } = await run.openImage(s);
  await abortable(act(image), run.signal);
  if (run.g.json) {
    const info = await abortable(image.mirror.info(), run.signal).catch(() => null);
    run.json({ image: specText(s), action, ok: true, info });
  } else if (!run.g.quiet) {
    run.out(`${done}: ${specText(s)}\n`);
  }
  return EXIT.ok;
}

async function poolAction(
  run: Run,
  s: PoolSpec,
  action: 'promote' | 'demote',
  act: (p: Pool) => Promise<MirrorPoolActionResult[]>,
): Promise<number> {
  const pool = await run.openPool(await run.connect(run.g, 'the cluster'), s);
  const results = await abortable(act(pool), run.signal);
  if (run.g.json) run.json({ pool: specText(s), action, results });
  else if (!run.g.quiet || results.some((r) => !r.ok)) run.out(formatPoolAction(action, results));
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.partial;
}

// ---- resync and waits -----------------------------------------------------------------------

/** A Timeout named like the SDK's waits. */
function timeoutError(s: ImageSpec, op: string, detail: string): Timeout {
  return new Timeout(ETIMEDOUT, { op, pool: s.pool, namespace: s.namespace, image: s.image, subject: 'image' }, detail);
}

/** What reading a copy answers while rbd-mirror deletes and re-creates it for a resync. */
const RECREATING = new Set(['ENOENT', 'EINVAL', 'ESTALE', 'EIO']);

async function resync(run: Run, s: ImageSpec, wait: boolean): Promise<number> {
  const { pool, image } = await run.openImage(s);
  const oldId = (await abortable(image.stat(), run.signal)).id;
  await abortable(image.mirror.resync(), run.signal);
  // rbd-mirror deletes the copy and re-creates it under a new id: keep no handle open on it.
  await image.close();
  if (!wait) {
    if (run.g.json) run.json({ image: specText(s), action: 'resync', ok: true });
    else if (!run.g.quiet) run.out(`Flagged image for resync from primary: ${specText(s)}\n`);
    return EXIT.ok;
  }
  const t0 = Date.now();
  const deadline = t0 + run.waitMs;
  let last = 'flagged for resync';
  let status: MirrorImageStatus | null = null;
  for (;;) {
    let replaying = false;
    try {
      const img = await abortable(pool.openImage(s.image, { readOnly: true }), run.signal);
      try {
        const id = (await img.stat()).id;
        status = await img.mirror.status();
        const l = status.local;
        if (id === oldId) last = `waiting for rbd-mirror to take the resync (${l ? `local ${l.state}` : 'no status'})`;
        else last = `re-created, local ${l ? `${l.up ? 'up' : 'down'}+${l.state}` : 'no status'}`;
        replaying = id !== oldId && !status.info.primary && l?.state === 'replaying' && !/split-brain/i.test(l.description);
      } finally {
        await img.close().catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof AbortError) throw err;
      // While rbd-mirror deletes and re-creates the copy, reading it fails for
      // a while: ENOENT (gone), EINVAL ("mirroring is not enabled": its mirror
      // state is 'disabling'), ESTALE/EIO (removed under the open handle).
      // The deadline bounds the wait; anything else is a real error.
      const code = (err as { code?: string }).code;
      if (code === undefined || !RECREATING.has(code)) throw err;
      last =
        code === 'ENOENT'
          ? 'the copy is deleted, waiting for rbd-mirror to re-create it'
          : `the copy is being re-created (${(err as Error).message})`;
    }
    if (replaying) break;
    run.progress.status(`resync ${specText(s)}: ${last}`, Date.now() - t0);
    if (Date.now() >= deadline) throw timeoutError(s, 'resync --wait', `timed out after ${run.waitMs} ms waiting for the resync; last: ${last}`);
    await sleep(Math.min(2000, Math.max(0, deadline - Date.now())), run.signal);
  }
  run.progress.done();
  if (run.g.json) run.json({ image: specText(s), action: 'resync', ok: true, status });
  else if (!run.g.quiet) run.out(`Resynced: ${specText(s)} (${Math.round((Date.now() - t0) / 1000)}s)\n`);
  return EXIT.ok;
}

async function waitCommand(run: Run, s: ImageSpec, target: { local?: string; peer?: string } | null): Promise<number> {
  const { image } = await run.openImage(s);
  const t0 = Date.now();
  const opts = { timeoutMs: run.waitMs, signal: run.signal };
  if (target === null) {
    const what = 'replication';
    // The SDK's wait reports nothing while it polls: a slower poll of the status feeds the progress line.
    let stop = false;
    const watcher = (async () => {
      while (!stop && run.progress.enabled) {
        const st = await image.mirror.status().catch(() => null);
        if (stop) break;
        run.progress.status(`waiting for ${what}: ${statusLine(st)}`, Date.now() - t0);
        await sleep(2000, run.signal).catch(() => undefined);
      }
    })();
    try {
      await image.mirror.waitForReplication(opts);
    } finally {
      stop = true;
      await watcher;
    }
    run.progress.done();
    if (run.g.json) run.json({ image: specText(s), replicated: true, ms: Date.now() - t0, status: await image.mirror.status().catch(() => null) });
    else if (!run.g.quiet) run.out(`Replicated: ${specText(s)} (${((Date.now() - t0) / 1000).toFixed(1)}s)\n`);
    return EXIT.ok;
  }
  const match: MirrorStateMatch = {};
  if (target.local !== undefined) match.local = target.local as MirrorStatusState;
  if (target.peer !== undefined) match.peer = target.peer as MirrorStatusState;
  const what = [target.local && `local ${target.local}`, target.peer && `peers ${target.peer}`].filter(Boolean).join(', ');
  const status = await image.mirror.waitForState((st) => {
    run.progress.status(`waiting for ${what}: ${statusLine(st)}`, Date.now() - t0);
    return matchesMirrorState(st, match);
  }, opts);
  run.progress.done();
  if (run.g.json) run.json(status);
  else if (!run.g.quiet) run.out(formatImageStatus(status));
  return EXIT.ok;
}

// ---- failover / failback --------------------------------------------------------------------

// ---- export / import ------------------------------------------------------------------------

function openForWrite(file: string): Promise<fs.WriteStream> {
  return new Promise((resolve, reject) => {
    const out = fs.createWriteStream(file, { flags: 'wx' });
    out.once('open', () => resolve(out));
    out.once('error', reject);
  });
}

async function exportCommand(run: Run, s: ImageSpec, file: string): Promise<number> {
  const toStdout = file === '-';
  if (toStdout && run.io.stdout.isTTY) throw new UsageError('export: refusing to write an image to a terminal; redirect stdout or give a FILE', 'export');
  const { image } = await run.openImage(s, true);
  const out: Writable = toStdout ? run.io.stdout : await openForWrite(file);
  const label = `Exporting ${specText(s)}`;
  const onAbort = (): void => {
    out.destroy(new AbortError(undefined, { cause: run.signal.reason }));
  };
  if (!toStdout) run.signal.addEventListener('abort', onAbort, { once: true });
  let bytes: number;
  try {
    bytes = await abortable(image.exportTo(out, { onProgress: (d, t) => run.progress.bar(label, d, t) }), run.signal);
    if (!toStdout) await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(resolve);
    });
  } catch (err) {
    if (!toStdout) {
      out.destroy();
      await fs.promises.rm(file, { force: true });
    }
    throw err;
  } finally {
    run.signal.removeEventListener('abort', onAbort);
  }
  run.progress.done();
  if (run.g.json && !toStdout) run.json({ image: specText(s), file, bytes });
  else run.note(`Exported ${bytes} bytes of ${specText(s)} to ${toStdout ? 'stdout' : file}`);
  return EXIT.ok;
}

async function importCommand(run: Run, file: string, s: ImageSpec, size: number | undefined): Promise<number> {
  let src = file;
  let spool: string | undefined;
  try {
    if (file === '-' && size === undefined) {
      // Without --size the length of stdin is unknown until its end: spool it first.
      spool = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'xrbd-import-'));
      src = path.join(spool, 'stdin');
      run.progress.status('reading stdin into a temporary file...');
      await pipeline(run.io.stdin(), fs.createWriteStream(src), { signal: run.signal });
      run.progress.done();
    }
    let input: Readable;
    let total: number;
    if (src === '-') {
      input = run.io.stdin();
      total = size as number;
    } else {
      const st = await fs.promises.stat(src);
      if (!st.isFile()) throw new Error(`${file} is not a regular file (use - to read a stream from stdin, with --size)`);
      if (size !== undefined && size < st.size) throw new Error(`--size ${size} is smaller than ${file} (${st.size} bytes)`);
      total = size ?? st.size;
      input = fs.createReadStream(src, { highWaterMark: 4 << 20 });
    }
    const pool = await run.openPool(await run.connect(run.g, 'the cluster'), s);
    const onAbort = (): void => {
      input.destroy(new AbortError(undefined, { cause: run.signal.reason }));
    };
    run.signal.addEventListener('abort', onAbort, { once: true });
    let bytes: number;
    try {
      // The SDK removes the half-made image when the import fails (an abort included).
      bytes = await pool.importFrom(input, s.image, { size: total, onProgress: (d, t) => run.progress.bar(`Importing ${specText(s)}`, d, t) });
    } finally {
      run.signal.removeEventListener('abort', onAbort);
      if (src !== '-') input.destroy();
    }
    run.progress.done();
    if (run.g.json) run.json({ image: specText(s), file, bytes });
    else run.note(`Imported ${bytes} bytes from ${file === '-' ? 'stdin' : file} into ${specText(s)}`);
    return EXIT.ok;
  } finally {
    if (spool !== undefined) await fs.promises.rm(spool, { recursive: true, force: true });
  }
}
