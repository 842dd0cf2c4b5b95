/**
 * Random interleavings of SDK calls, checked against a model. A few workers
 * run concurrently, each drawing operations from its own seeded PRNG: open
 * and close handles (two Cluster connections to site-a), write, read, flush,
 * snapshot create/remove, grow, and image mirroring enable/promote/demote/
 * disable (snapshot mode, in the lab pool, with rbd-mirror replicating to
 * site-b) over a few images.
 *
 * The model keeps, per 4 KiB block, what was last acknowledged. Overlapping
 * writes to a block make it "one of" their values; a block with a write in
 * flight at any time during a read is not checked. Checked: every call
 * settles within its bound, every error is typed, a write to an image the
 * model says is non-primary is refused with ReadOnlyImage (EROFS), one to a
 * primary/unmirrored image succeeds, and every read (and a final read-back
 * through a fresh connection) returns what the model allows.
 *
 * XRBD_PROPERTY_SEED=<n> replays the operation choices of a run (the timing,
 * and so the interleaving, is the machine's); the seed is in every failure.
 */
import { Cluster, type Image, type Pool, RbdError } from '../../lib';
import type { Lab } from '../../lib/lab';
import { getLab } from '../setup/lab-env';
import { tally } from './tally';

const SEED = process.env.XRBD_PROPERTY_SEED ? Number(process.env.XRBD_PROPERTY_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const WORKERS = 4;
const OPS = 500;
const TIME_BUDGET_MS = 70_000;
const CALL_BOUND_MS = 30_000;
const IMAGES = 3;
const BLOCK = 4096;
const BLOCKS = 64;
const rid = `xprop-${process.pid}-${SEED.toString(36)}`;

/** mulberry32: small, seedable, good enough to pick operations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// ------------------------------------------------------------------ the model

type MirrorState = 'disabled' | 'primary' | 'non-primary';

interface BlockModel {
  /** Values the block may hold now (tag 0: never written, zeros). */
  candidates: Set<number>;
  /** Writes in flight. */
  inflight: number;
  /** Writes started so far (a read is checked only if none started while it ran). */
  started: number;
  /** The writes of the current overlapping group: acknowledged tags and possibly-written tags. */
  groupAcked: number[];
  groupMaybe: number[];
  groupSize: number;
}

interface Handle {
  image: Image;
  conn: number;
  closing: boolean;
  /**
   * Blocks from here on may be refused (EINVAL) through this handle for as long
   * as it lives: its open overlapped a grow. librbd's open reads the header and
   * only then registers its watch, so the grow's header notification can fall
   * between the two and the handle keeps the old size until some later header
   * update. Infinity for handles whose open overlapped no grow.
   */
  staleFrom: number;
}

interface ImageModel {
  name: string;
  /** Blocks the image has (grows by resize). */
  blocks: number;
  /** Blocks acknowledged by a resize: writes below this must fit. */
  resizeInflight: number;
  model: BlockModel[];
  handles: Handle[];
  mirror: MirrorState;
  /** A mirror operation is running on it (they are serialised per image). */
  mirrorBusy: boolean;
  /** Bumped when a mirror operation starts and ends: an op saw a stable state if it is unchanged over its run. */
  mirrorEpoch: number;
  /** The last mirror operations, for failure messages. */
  mirrorLog: string[];
  /** When the last mirror operation ended, and through which handle. */
  mirrorEndedAt: number;
  mirrorBy: Handle | undefined;
  /** Every grow so far: when it ended (undefined while running) and the size before it. */
  grows: Array<{ end: number | undefined; from: number }>;
  snaps: Set<string>;
  /** Snapshot names being created or removed. */
  snapsBusy: Set<string>;
}

let lab: Lab;
const conns: Cluster[] = [];
const pools: Pool[] = [];
const images: ImageModel[] = [];
const counts = { scenarios: 0, mismatches: 0, crashes: 0, hangs: 0 };
const failures: string[] = [];
let tagSeq = 0;
/** Writes whose outcome was checked against the mirror state (it was settled), reads checked against the model. */
const checked = { writesVsMirrorState: 0, reads: 0 };

function fail(what: string): void {
  if (failures.length < 50) failures.push(`[seed ${SEED}] ${what}`);
}

function newBlock(): BlockModel {
  return { candidates: new Set([0]), inflight: 0, started: 0, groupAcked: [], groupMaybe: [], groupSize: 0 };
}

/** A block's bytes for a tag: (tag, block) repeated, so a torn or misplaced block shows. */
function blockData(tag: number, block: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  for (let o = 0; o < BLOCK; o += 8) {
    b.writeUInt32LE(tag, o);
    b.writeUInt32LE(block, o + 4);
  }
  return b;
}

/** The tag a block holds, or a description of why it is none. */
function decode(buf: Buffer, block: number): number | string {
  if (buf.length !== BLOCK) return `short read (${buf.length} bytes)`;
  if (buf.every((x) => x === 0)) return 0;
  const tag = buf.readUInt32LE(0);
  for (let o = 0; o < BLOCK; o += 8) {
    if (buf.readUInt32LE(o) !== tag || buf.readUInt32LE(o + 4) !== block) return `torn or misplaced block (at byte ${o})`;
  }
  return tag;
}

function writeStarted(b: BlockModel): void {
  if (b.inflight === 0) {
    b.groupAcked = [];
    b.groupMaybe = [];
    b.groupSize = 0;
  }
  b.inflight++;
  b.started++;
  b.groupSize++;
}

/** A write settled: `written` true (acknowledged), false (refused: nothing written) or 'maybe'. */
function writeSettled(b: BlockModel, tag: number, written: boolean | 'maybe'): void {
  if (written === true) b.groupAcked.push(tag);
  else if (written === 'maybe') b.groupMaybe.push(tag);
  if (--b.inflight > 0) return;
  // The group of overlapping writes is over: the block holds one of them (or, if
  // none was acknowledged, what it held before or a possibly-written one).
  const next = new Set<number>([...b.groupAcked, ...b.groupMaybe]);
  if (b.groupAcked.length === 0) for (const t of b.candidates) next.add(t);
  if (next.size > 0) b.candidates = next;
}

// ------------------------------------------------------------------ running one operation

function isTyped(err: unknown): boolean {
  return err instanceof RbdError || err instanceof TypeError || err instanceof RangeError;
}

function code(err: unknown): string {
  return (err as { code?: string })?.code ?? (err as Error)?.name ?? String(err);
}

class Hang extends Error {}

async function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        t = setTimeout(() => reject(new Hang(what)), CALL_BOUND_MS);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

/** Run one call: a hang or an untyped error is a failure; resolves with the error (or undefined on success). */
async function call<T>(what: string, p: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; err: unknown }> {
  try {
    return { ok: true, value: await bounded(p(), what) };
  } catch (err) {
    if (err instanceof Hang) {
      counts.hangs++;
      fail(`${what}: did not settle within ${CALL_BOUND_MS} ms`);
    } else if (!isTyped(err)) {
      fail(`${what}: untyped error ${String(err)}`);
    }
    return { ok: false, err };
  }
}

/**
 * Other handles of an image learn of a promote/demote through a header
 * notification, and even the handle that made it reports the old state from
 * info() for a moment (librbd refreshes asynchronously). Its own writes see
 * it at once; for the other handles the mirror state is taken as settled
 * SETTLE_MS after the last mirror operation ended. (A grow needs no such
 * window: the SDK refreshes a handle whose read or write meets its old end;
 * see Handle.staleFrom for the one case it cannot.)
 */
const SETTLE_MS = 5_000;
function stableEpoch(m: ImageModel, h: Handle): number {
  if (m.mirrorBusy || (h !== m.mirrorBy && Date.now() - m.mirrorEndedAt < SETTLE_MS)) return -1;
  return m.mirrorEpoch;
}

/** Whether `h` may never have heard of the grow that made `block` part of the image. */
function growUnsettled(h: Handle, block: number): boolean {
  return block >= h.staleFrom;
}

/** The smallest pre-grow size of the grows that overlapped an open which ran from `start` until now. */
function staleFromGrows(m: ImageModel, start: number): number {
  let from = Infinity;
  for (const g of m.grows) if (g.end === undefined || g.end >= start) from = Math.min(from, g.from);
  return from;
}

function pickHandle(m: ImageModel, r: () => number): Handle | undefined {
  const open = m.handles.filter((h) => !h.closing);
  return open.length ? open[Math.floor(r() * open.length)] : undefined;
}

type Op = (r: () => number, m: ImageModel, label: string) => Promise<void>;

const ops: Array<[number, string, Op]> = [
  [18, 'write', async (r, m, label) => {
    const h = pickHandle(m, r);
    if (!h) return;
    const block = Math.floor(r() * m.blocks);
    const tag = ++tagSeq;
    const b = m.model[block];
    const state = m.mirror;
    const epoch = stableEpoch(m, h); // the model's mirror state holds if no mirror op ran meanwhile (or lately)
    writeStarted(b);
    const res = await call(`${label} write block ${block} tag ${tag}`, () => h.image.write(blockData(tag, block), block * BLOCK));
    if (epoch !== -1 && epoch === m.mirrorEpoch && !h.closing) checked.writesVsMirrorState++;
    if (res.ok) {
      writeSettled(b, tag, true);
      if (epoch === m.mirrorEpoch && state === 'non-primary') fail(`${label}: a write via handle ${m.handles.indexOf(h)} (conn ${h.conn}) at ${Date.now() % 100000} to a non-primary image was acknowledged; mirror ops: ${m.mirrorLog.slice(-3).join('; ')}`);
      return;
    }
    const c = code(res.err);
    const refused = c === 'EROFS' || c === 'EBADF' || c === 'EINVAL';
    writeSettled(b, tag, refused ? false : 'maybe');
    if (epoch === m.mirrorEpoch && !h.closing && !(c === 'EINVAL' && growUnsettled(h, block))) {
      if (state === 'non-primary' && c !== 'EROFS') fail(`${label}: a write to a non-primary image failed with ${c}, expected ReadOnlyImage (EROFS)`);
      if (state !== 'non-primary') fail(`${label}: a write via handle ${m.handles.indexOf(h)} (conn ${h.conn}) at ${Date.now() % 100000} to a ${state} image failed: ${String(res.err)}; mirror ops: ${m.mirrorLog.slice(-3).join('; ')}`);
    }
  }],
  [18, 'read', async (r, m, label) => {
    const h = pickHandle(m, r);
    if (!h) return;
    const block = Math.floor(r() * m.blocks);
    const b = m.model[block];
    const checkable = b.inflight === 0;
    const started = b.started;
    const expected = new Set(b.candidates);
    const res = await call(`${label} read block ${block}`, () => h.image.read(block * BLOCK, BLOCK));
    if (!res.ok) {
      const late = code(res.err) === 'EINVAL' && growUnsettled(h, block);
      if (!h.closing && code(res.err) !== 'EBADF' && !late) fail(`${label}: read of block ${block} failed: ${String(res.err)}`);
      return;
    }
    if (!checkable || b.started !== started || b.inflight !== 0) return; // a write overlapped the read
    const got = decode(res.value, block);
    checked.reads++;
    if (typeof got === 'string' || !expected.has(got)) {
      counts.mismatches++;
      fail(`${label}: block ${block} of ${m.name} read ${typeof got === 'string' ? got : `tag ${got}`}, the model allows ${[...expected].join(' or ')}`);
    }
  }],
  [6, 'flush', async (r, m, label) => {
    const h = pickHandle(m, r);
    if (!h) return;
    const res = await call(`${label} flush`, () => h.image.flush());
    if (!res.ok && !h.closing && m.mirror !== 'non-primary' && !m.mirrorBusy) fail(`${label}: flush failed: ${String(res.err)}`);
  }],
  [6, 'open', async (r, m, label) => {
    if (m.handles.length >= 3) return;
    const conn = Math.floor(r() * pools.length);
    const start = Date.now();
    const res = await call(`${label} open on connection ${conn}`, () => pools[conn].openImage(m.name));
    if (res.ok) m.handles.push({ image: res.value, conn, closing: false, staleFrom: staleFromGrows(m, start) });
    else fail(`${label}: open failed: ${String(res.err)}`);
  }],
  [5, 'close', async (r, m, label) => {
    const open = m.handles.filter((h) => !h.closing);
    if (open.length <= 1) return; // keep one handle per image
    const h = open[Math.floor(r() * open.length)];
    h.closing = true; // no new calls pick it; calls already running on it settle
    const res = await call(`${label} close`, () => h.image.close());
    m.handles = m.handles.filter((x) => x !== h);
    if (!res.ok) fail(`${label}: close failed: ${String(res.err)}`);
  }],
  [5, 'snapshot create', async (r, m, label) => {
    const h = pickHandle(m, r);
    if (!h) return;
    const name = `s${++tagSeq}`;
    const state = m.mirror;
    const epoch = stableEpoch(m, h);
    m.snapsBusy.add(name);
    const res = await call(`${label} snapshot create ${name}`, () => h.image.snapshots.create(name));
    m.snapsBusy.delete(name);
    if (res.ok) m.snaps.add(name);
    else if (epoch === m.mirrorEpoch && !h.closing && state !== 'non-primary') fail(`${label}: snapshot create failed: ${String(res.err)}`);
  }],
  [4, 'snapshot remove', async (r, m, label) => {
    const h = pickHandle(m, r);
    const names = [...m.snaps].filter((s) => !m.snapsBusy.has(s));
    if (!h) return;
    // Sometimes a name that does not exist: SnapshotNotFound.
    const missing = names.length === 0 || r() < 0.2;
    const name = missing ? `missing-${++tagSeq}` : names[Math.floor(r() * names.length)];
    const state = m.mirror;
    const epoch = stableEpoch(m, h);
    m.snapsBusy.add(name);
    const res = await call(`${label} snapshot remove ${name}`, () => h.image.snapshots.remove(name));
    m.snapsBusy.delete(name);
    if (res.ok) {
      if (missing) fail(`${label}: removing a snapshot that does not exist succeeded`);
      m.snaps.delete(name);
    } else if (missing) {
      if (code(res.err) !== 'ENOENT' && !h.closing) fail(`${label}: removing a missing snapshot failed with ${code(res.err)}, expected SnapshotNotFound`);
    } else if (epoch === m.mirrorEpoch && !h.closing && state !== 'non-primary') {
      fail(`${label}: snapshot remove failed: ${String(res.err)}`);
    }
  }],
  [3, 'grow', async (r, m, label) => {
    const h = pickHandle(m, r);
    if (!h || m.resizeInflight > 0 || m.blocks >= BLOCKS * 2) return; // one resize at a time per image
    const to = m.blocks + 1 + Math.floor(r() * 8);
    const state = m.mirror;
    const epoch = stableEpoch(m, h);
    m.resizeInflight = to - m.blocks;
    const grow = { end: undefined as number | undefined, from: m.blocks };
    m.grows.push(grow);
    const res = await call(`${label} resize to ${to} blocks`, () => h.image.resize(to * BLOCK));
    grow.end = Date.now();
    m.resizeInflight = 0;
    if (res.ok) {
      while (m.model.length < to) m.model.push(newBlock());
      m.blocks = Math.max(m.blocks, to);
    } else if (epoch === m.mirrorEpoch && !h.closing && state !== 'non-primary') {
      fail(`${label}: growing failed: ${String(res.err)}`);
    }
  }],
  [3, 'mirror', async (r, m, label) => {
    const h = pickHandle(m, r);
    if (!h || m.mirrorBusy) return;
    m.mirrorBusy = true;
    m.mirrorEpoch++;
    try {
      const before = m.mirror;
      const choice = r();
      let what: string;
      let f: () => Promise<unknown>;
      if (before === 'disabled') [what, f] = ['enable snapshot', () => h.image.mirror.enable('snapshot')];
      else if (before === 'primary') {
        [what, f] = choice < 0.6 ? ['demote', () => h.image.mirror.demote()] : ['disable', () => h.image.mirror.disable()];
      } else {
        [what, f] = choice < 0.7 ? ['promote', () => h.image.mirror.promote({ force: true })] : ['disable --force', () => h.image.mirror.disable({ force: true })];
      }
      // Now and then the call the model says is invalid: a typed refusal, and no change.
      if (choice > 0.9) {
        if (before === 'disabled') [what, f] = ['demote (not mirrored)', () => h.image.mirror.demote()];
        else if (before === 'primary') [what, f] = ['enable (already)', () => h.image.mirror.enable('snapshot')];
        else [what, f] = ['demote (not primary)', () => h.image.mirror.demote()];
      }
      const res = await call(`${label} mirror ${what} (model: ${before})`, f);
      const target: Record<string, MirrorState> = { 'enable snapshot': 'primary', demote: 'non-primary', disable: 'disabled', promote: 'primary', 'disable --force': 'disabled' };
      if (!res.ok && !h.closing && !/\(/.test(what) && !isTyped(res.err)) fail(`${label}: mirror ${what}: ${String(res.err)}`);
      if (res.ok && what.startsWith('demote (')) fail(`${label}: mirror ${what} succeeded where the model says it is invalid`);
      if (res.ok && target[what]) {
        m.mirror = target[what]; // done: info() may still say otherwise for a moment (see MIRROR_SETTLE_MS)
      } else {
        // Refused or failed: take the state from librbd rather than guess, through a
        // handle of its own (this one may be closing, or not refreshed yet).
        const info = await call(`${label} mirror info`, async () => {
          const img = await pools[0].openImage(m.name, { readOnly: true });
          try {
            return await img.mirror.info();
          } finally {
            await img.close();
          }
        });
        if (info.ok) m.mirror = info.value.state !== 'enabled' ? 'disabled' : info.value.primary ? 'primary' : 'non-primary';
        else fail(`${label}: mirror info failed: ${String(info.err)}`);
      }
      m.mirrorLog.push(`${what} via handle ${m.handles.indexOf(h)} (conn ${h.conn}) -> ${res.ok ? 'ok' : code(res.err)}, now ${m.mirror} at ${Date.now() % 100000}`);
    } finally {
      m.mirrorBusy = false;
      m.mirrorEpoch++;
      m.mirrorEndedAt = Date.now();
      m.mirrorBy = h;
    }
  }],
];
const TOTAL_WEIGHT = ops.reduce((s, [w]) => s + w, 0);

function pickOp(r: () => number): [string, Op] {
  let x = r() * TOTAL_WEIGHT;
  for (const [w, n, f] of ops) {
    if ((x -= w) < 0) return [n, f];
  }
  return [ops[0][1], ops[0][2]];
}

// ------------------------------------------------------------------ set-up and the run

beforeAll(async () => {
  lab = await getLab();
  for (let i = 0; i < 2; i++) {
    conns.push(await Cluster.connect({ confPath: lab.site('site-a').confPath }));
    pools.push(await conns[i].openPool(lab.pool));
  }
  for (let i = 0; i < IMAGES; i++) {
    const name = `${rid}-${i}`;
    await pools[0].createImage(name, BLOCKS * BLOCK, { features: ['layering', 'exclusive-lock'] });
    images.push({
      name,
      blocks: BLOCKS,
      resizeInflight: 0,
      model: Array.from({ length: BLOCKS }, newBlock),
      handles: [{ image: await pools[i % 2].openImage(name), conn: i % 2, closing: false, staleFrom: Infinity }],
      mirror: 'disabled',
      mirrorBusy: false,
      mirrorEpoch: 0,
      mirrorLog: [],
      mirrorEndedAt: 0,
      mirrorBy: undefined,
      grows: [],
      snaps: new Set(),
      snapsBusy: new Set(),
    });
  }
}, 120_000);

afterAll(async () => {
  tally('property', counts);
  // Leave nothing behind: mirroring off (the copy on site-b goes with it), snapshots and images removed.
  for (const m of images) {
    for (const h of m.handles) await h.image.close().catch(() => undefined);
    const img = await pools[0].openImage(m.name).catch(() => undefined);
    if (img) {
      await img.mirror.disable({ force: true }).catch(() => undefined);
      for (const s of await img.snapshots.list().catch(() => [])) await img.snapshots.remove(s.name, { force: true }).catch(() => undefined);
      await img.close();
    }
    await pools[0].removeImage(m.name).catch(() => undefined);
  }
  // Copies rbd-mirror made on site-b and left there (a copy demoted everywhere and then
  // disabled here stays, with the user snapshots it replicated); rbd-mirror may also be
  // finishing one still. Sweep a few times.
  const b = await Cluster.connect({ confPath: lab.site('site-b').confPath });
  try {
    const pb = await b.openPool(lab.pool);
    for (let sweep = 0, quiet = 0; sweep < 15 && quiet < 2; sweep++) {
      const left = (await pb.listImages()).filter((x) => x.startsWith(rid));
      quiet = left.length === 0 ? quiet + 1 : 0;
      for (const n of left) {
        const img = await pb.openImage(n).catch(() => undefined);
        if (img) {
          await img.mirror.disable({ force: true }).catch(() => undefined);
          for (const s of await img.snapshots.list().catch(() => [])) await img.snapshots.remove(s.name, { force: true }).catch(() => undefined);
          await img.close();
        }
        await pb.removeImage(n).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
    const still = (await pb.listImages()).filter((x) => x.startsWith(rid));
    if (still.length) process.stderr.write(`[property] left on site-b (rbd-mirror still busy with them): ${still.join(', ')}\n`);
  } finally {
    await b.close();
  }
  for (const c of conns) await c.close().catch(() => undefined);
}, 180_000);

test(`random interleavings of I/O, handles, snapshots, growing and mirroring match the model of acknowledged writes (seed ${SEED})`, async () => {
  process.stderr.write(`[property] seed ${SEED} (XRBD_PROPERTY_SEED=${SEED} replays the choices)\n`);
  const t0 = Date.now();
  let issued = 0;
  const perOp = new Map<string, number>();
  const worker = async (w: number): Promise<void> => {
    const r = prng((SEED + w * 0x9e3779b9) >>> 0);
    let n = 0;
    while (issued < OPS && Date.now() - t0 < TIME_BUDGET_MS) {
      issued++;
      const m = images[Math.floor(r() * images.length)];
      const [name, op] = pickOp(r);
      perOp.set(name, (perOp.get(name) ?? 0) + 1);
      await op(r, m, `worker ${w} op ${++n} on ${m.name}`);
      counts.scenarios++;
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

  // Everything settled: read every block back through a connection that took no part.
  const check = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  try {
    const pool = await check.openPool(lab.pool);
    for (const m of images) {
      const img = await pool.openImage(m.name, { readOnly: true });
      const data = (await img.read(0, m.blocks * BLOCK)) as Buffer;
      await img.close();
      for (let blk = 0; blk < m.blocks; blk++) {
        const got = decode(data.subarray(blk * BLOCK, (blk + 1) * BLOCK), blk);
        const allowed = m.model[blk].candidates;
        if (typeof got === 'string' || !allowed.has(got)) {
          counts.mismatches++;
          fail(`final read-back: block ${blk} of ${m.name} holds ${typeof got === 'string' ? got : `tag ${got}`}, the model allows ${[...allowed].join(' or ')}`);
        }
      }
    }
  } finally {
    await check.close();
  }
  process.stderr.write(
    `[property] seed ${SEED}: ${counts.scenarios} operations in ${((Date.now() - t0) / 1000).toFixed(1)} s (${[...perOp].map(([k, v]) => `${k} ${v}`).join(', ')}); ` +
      `mirror states at the end: ${images.map((m) => m.mirror).join(', ')}; checked: ${checked.reads} reads, ${checked.writesVsMirrorState} writes against the mirror state\n`,
  );
  expect(counts.scenarios).toBeGreaterThan(50);
  expect(failures).toEqual([]);
  expect(counts).toMatchObject({ mismatches: 0, crashes: 0, hangs: 0 });
}, 240_000);
