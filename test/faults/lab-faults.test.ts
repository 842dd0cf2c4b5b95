/**
 * Faults injected into a durable two-site lab of this suite's own (bluestore OSDs on
 * sparse files, so that an OSD survives kill -9; mons from XRBD_FAULTS_BASE_PORT,
 * default XRBD_LAB_BASE_PORT + 500 = 17600; test/setup/ports.ts): the secondary's rbd-mirror and OSD killed while images replicate,
 * the primary's only monitor stopped under a connected client, and a client process
 * killed in the middle of its writes. Every scenario checks data by sha256 and
 * records its counts with tally() for the `npm run test:faults` table, also when
 * it fails.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';

import { Cluster, type DrReport, failover, type Image, type Pool, Timeout } from '../../lib';
import { Lab, findLabDaemons, type LabDaemon } from '../../lib/lab';
import { holdLabDir, type HeldLabDir } from './lab-dir-lock';
import { type FaultCounts, tally } from './tally';
import { PORTS } from '../setup/ports';

type Site = 'site-a' | 'site-b';

const ROOT = path.resolve(__dirname, '..', '..');
const LAB_DIR = path.resolve(process.env.XRBD_FAULTS_LAB_DIR ?? path.join(ROOT, '.lab-faults'));
const BASE_PORT = PORTS.labFaults;
const DIST = path.join(ROOT, 'dist');
const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
const BLOCK = 16 * 1024;
/** Replication must converge within this after the faulty daemon is back. */
const CONVERGE_MS = 120_000;
/** operationTimeoutMs / timeoutMs of the clients in the monitor scenario, and the slack allowed on top (2 busy cores). */
const OP_TIMEOUT_MS = 3000;
const MARGIN_MS = 5000;
/** How long to wait for another run of this suite (e.g. a concurrent `jest --selectProjects faults`) to free the lab dir. */
const LOCK_WAIT_MS = 240_000;

let lab: Lab | undefined;
const clusters: Partial<Record<Site, Cluster>> = {};
const pools: Partial<Record<Site, Pool>> = {};
const figures: string[] = [];
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pool = (site: Site): Pool => pools[site] as Pool;
const theLab = (): Lab => {
  if (!lab) throw new Error(`the fault lab in ${LAB_DIR} did not start (see beforeAll)`);
  return lab;
};
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const figure = (line: string) => figures.push(line);

// The lab directory is this suite's alone for the whole run: a second run started meanwhile
// (another jest process in the same tree) waits for the lock instead of wiping a lab in use.
let held: HeldLabDir | undefined;

beforeAll(async () => {
  held = await holdLabDir(LAB_DIR, 'lab-faults', LOCK_WAIT_MS);
  const t0 = Date.now();
  lab = await Lab.start({
    dir: LAB_DIR,
    basePort: BASE_PORT,
    objectstore: 'bluestore',
    timeoutMs: 150_000,
    log: (l) => {
      if (process.env.XRBD_LAB_VERBOSE === '1') process.stderr.write(`[lab-faults] ${l}\n`);
    },
  });
  figure(`lab (bluestore, mons on ${BASE_PORT}/${BASE_PORT + 100}) started in ${secs(Date.now() - t0)}`);
  for (const site of ['site-a', 'site-b'] as const) {
    clusters[site] = await Cluster.connect({ confPath: lab.site(site).confPath, timeoutMs: 20_000 });
    pools[site] = await clusters[site].openPool(lab.pool);
  }
}, LOCK_WAIT_MS + 200_000);

afterAll(async () => {
  for (const site of ['site-b', 'site-a'] as const) {
    await bounded(`closing the ${site} cluster`, 30_000, clusters[site]?.close() ?? Promise.resolve()).catch(() => undefined);
  }
  if (!held) return; // the lab dir belongs to another run: leave it alone
  process.stderr.write(figures.map((f) => `[lab-faults] ${f}\n`).join(''));
  try {
    const running = lab ?? (await Lab.open(LAB_DIR));
    if (running) await running.stop({ purge: true });
    // no daemon of this lab may outlive the suite
    expect((await findLabDaemons(LAB_DIR)).map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);
  } finally {
    await held.release();
    await fsp.rmdir(LAB_DIR).catch(() => undefined); // only if empty
  }
}, 120_000);

// ---------------------------------------------------------------- helpers

/** `p`, or a rejection naming `what` (and where to look) once `ms` have passed. */
async function bounded<T>(what: string, ms: number, p: Promise<T>, counts?: FaultCounts, log?: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (counts) counts.hangs++;
      reject(new Error(`${what} did not settle within ${ms} ms${log ? `; see ${log}` : ''}`));
    }, ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run one scenario: its counts are tallied whatever happens; `survived` counts only if it got to the end. */
async function scenario(suite: string, body: (counts: FaultCounts) => Promise<void>): Promise<void> {
  const counts: FaultCounts = { scenarios: 1, faults: 0, survived: 0, badInputs: 0, crashes: 0, hangs: 0, mismatches: 0 };
  try {
    await body(counts);
    counts.survived = counts.faults;
  } finally {
    tally(`lab-faults:${suite}`, counts);
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** sha256 of the whole image, read with the SDK through a fresh read-only handle on `site`. */
async function hashImage(site: Site, name: string): Promise<string> {
  const img = await pool(site).openImage(name, { readOnly: true });
  try {
    return sha256((await img.read(0, SIZE)) as Buffer);
  } finally {
    await img.close();
  }
}

/** The oracle: sha256 of `rbd export` of the image on `site`. */
async function hashExport(site: Site, name: string): Promise<string> {
  const file = path.join(LAB_DIR, `export-${name}.raw`);
  try {
    await theLab().rbd(site, ['export', '--no-progress', `${theLab().pool}/${name}`, file], { timeoutMs: 60_000 });
    return sha256(await fsp.readFile(file));
  } finally {
    await fsp.rm(file, { force: true });
  }
}

const mirrorLog = (site: Site) => theLab().daemonLog(site, 'rbd-mirror');

/**
 * Wait (bounded) until site-b's copy has the same sha256 as site-a's: waitForReplication
 * on the primary's (writable) handle, then the hashes compared until equal. A copy that never
 * matches counts as a mismatch. Resolves with the time taken.
 */
async function converge(primary: Image, counts: FaultCounts, ms = CONVERGE_MS): Promise<number> {
  const name = primary.name;
  const t0 = Date.now();
  const deadline = t0 + ms;
  try {
    await primary.mirror.waitForReplication({ timeoutMs: ms, pollMs: 500 });
  } catch (err) {
    if (err instanceof Timeout) counts.mismatches++; // site-b never caught up
    throw new Error(`${name}: replication to site-b did not finish within ${ms} ms (${String(err)}); see ${mirrorLog('site-b')}`);
  }
  const want = await hashImage('site-a', name);
  let got = '';
  for (;;) {
    got = await bounded(`reading ${name} on site-b`, 60_000, hashImage('site-b', name), counts).catch((e: unknown) => `unreadable: ${String(e)}`);
    if (got === want) return Date.now() - t0;
    if (Date.now() > deadline) break;
    await sleep(1000);
  }
  counts.mismatches++;
  throw new Error(`${name}: site-b's copy (sha256 ${got}) still differs from site-a's (${want}) after ${ms} ms; see ${mirrorLog('site-b')}`);
}

/** Writes random 16 KiB blocks at random places until stopped (and, for snapshot mirroring, takes mirror snapshots). */
class Writer {
  writes = 0;
  snapshots = 0;
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(
    readonly image: Image,
    snapshotEveryMs?: number,
  ) {
    this.#done = this.#loop(snapshotEveryMs);
    this.#done.catch(() => undefined); // surfaced by stop()
  }

  async #loop(snapshotEveryMs?: number): Promise<void> {
    let lastSnapshot = Date.now();
    while (!this.#stopped) {
      const off = Math.floor(Math.random() * (SIZE / BLOCK)) * BLOCK;
      await this.image.write(randomBytes(BLOCK), off);
      this.writes++;
      if (snapshotEveryMs !== undefined && Date.now() - lastSnapshot >= snapshotEveryMs) {
        await this.image.mirror.createSnapshot();
        this.snapshots++;
        lastSnapshot = Date.now();
      }
      await sleep(10); // two cores, shared: leave the daemons some
    }
  }

  /** Stop, then flush what was written; rejects with the writer's error, or after 60 s. */
  async stop(counts: FaultCounts): Promise<void> {
    this.#stopped = true;
    await bounded(`the writer of ${this.image.name}`, 60_000, this.#done, counts);
    await bounded(`flushing ${this.image.name}`, 60_000, this.image.flush(), counts);
  }
}

interface Mirrored {
  name: string;
  mode: 'journal' | 'snapshot';
  image: Image;
}

/** A primary image on site-a with 2 MiB of data, mirrored in `mode`, fully replicated to site-b. */
async function mirroredImage(prefix: string, mode: 'journal' | 'snapshot', counts: FaultCounts): Promise<Mirrored> {
  const name = uniq(`${prefix}-${mode[0]}`);
  await pool('site-a').createImage(name, SIZE, { features: ['layering', 'exclusive-lock'] });
  const image = await pool('site-a').openImage(name);
  await image.write(randomBytes(2 * MiB), 0);
  await image.flush();
  await image.mirror.enable(mode);
  const deadline = Date.now() + 60_000;
  while (!(await pool('site-b').listImages()).includes(name)) {
    if (Date.now() > deadline) throw new Error(`${name} did not appear on site-b within 60 s; see ${mirrorLog('site-b')}`);
    await sleep(500);
  }
  await converge(image, counts, 90_000);
  return { name, mode, image };
}

/** Kill -9 `daemon` of `site` while both images take writes, start it again, then check that site-b converges. */
async function killWhileReplicating(prefix: string, site: Site, daemon: LabDaemon, counts: FaultCounts): Promise<Mirrored[]> {
  const images = await all([mirroredImage(prefix, 'journal', counts), mirroredImage(prefix, 'snapshot', counts)]);
  const writers = images.map((m) => new Writer(m.image, m.mode === 'snapshot' ? 2000 : undefined));
  let backAt = Date.now();
  try {
    await sleep(2500); // replication under way: journal entries and a mirror snapshot in flight
    const pid = await theLab().daemonPid(site, daemon);
    expect(pid).not.toBeNull();
    await theLab().killDaemon(site, daemon, 'SIGKILL');
    counts.faults++;
    expect(await theLab().daemonPid(site, daemon)).toBeNull();
    await sleep(4000); // the primary keeps taking writes while the daemon is dead
    const t0 = Date.now();
    await theLab().startDaemon(site, daemon, { timeoutMs: 60_000 });
    backAt = Date.now();
    figure(`${prefix}: ${daemon} of ${site} (pid ${pid}) killed, started again in ${secs(backAt - t0)}`);
    await sleep(2000);
  } finally {
    for (const w of writers) await w.stop(counts);
  }
  for (const w of writers) expect(w.writes).toBeGreaterThan(0);
  await all(
    images.map(async (m, i) => {
      const took = await converge(m.image, counts);
      figure(
        `${prefix}: ${m.mode} image converged ${secs(Date.now() - backAt)} after the restart` +
          ` (its own wait ${secs(took)}; ${writers[i].writes} writes, ${writers[i].snapshots} mirror snapshots)`,
      );
    }),
  );
  return images;
}

/** Promise.all that lets every promise settle before it rejects with the first error (nothing left running behind a failure). */
async function all<T>(ps: Array<Promise<T>>): Promise<T[]> {
  const rs = await Promise.allSettled(ps);
  const failed = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return rs.map((r) => (r as PromiseFulfilledResult<T>).value);
}

async function dropImages(images: Mirrored[]): Promise<void> {
  for (const m of images) {
    await m.image.close().catch(() => undefined);
    await theLab()
      .rbd('site-a', ['mirror', 'image', 'disable', '--force', `${theLab().pool}/${m.name}`])
      .catch(() => undefined);
    await theLab().rbd('site-a', ['rm', '--no-progress', `${theLab().pool}/${m.name}`]).catch(() => undefined);
  }
}

// ---------------------------------------------------------------- scenarios

test('the lab runs bluestore OSDs on a sparse 4 GiB block file, without separate db/wal', async () => {
  for (const site of ['site-a', 'site-b'] as const) {
    const s = theLab().site(site);
    const conf = await fsp.readFile(s.confPath, 'utf8');
    expect(conf).toMatch(/^osd objectstore = bluestore$/m);
    expect(conf).toMatch(/^bluestore block create = true$/m);
    expect(conf).toMatch(/^bluestore block size = 4294967296$/m);
    expect(conf).toMatch(/^bluestore block db create = false$/m);
    expect(conf).toMatch(/^bluestore block wal create = false$/m);
    const block = await fsp.stat(path.join(s.dir, 'osd', 'ceph-0', 'block'));
    expect(block.size).toBe(4 * 1024 ** 3);
    expect(block.blocks * 512).toBeLessThan(1024 ** 3); // sparse: far less than 4 GiB allocated
    expect(existsSync(path.join(s.dir, 'osd', 'ceph-0', 'block.db'))).toBe(false);
    expect(existsSync(path.join(s.dir, 'osd', 'ceph-0', 'block.wal'))).toBe(false);
  }
});

test('rbd-mirror of the secondary killed (-9) mid-replication: after its restart both images converge to the primary', async () => {
  let images: Mirrored[] = [];
  try {
    await scenario('rbd-mirror-kill', async (counts) => {
      images = await killWhileReplicating('mirror-kill', 'site-b', 'rbd-mirror', counts);
      await theLab().waitForMirrorDaemons({ timeoutMs: 60_000 });
      // the rbd CLI reads the same bytes on site-b as the SDK does
      for (const m of images) {
        const [sdk, cli] = [await hashImage('site-b', m.name), await hashExport('site-b', m.name)];
        if (sdk !== cli) counts.mismatches++;
        expect(cli).toBe(sdk);
      }
    });
  } finally {
    await dropImages(images);
  }
}, 300_000);

test("rbd-mirror of the secondary down: a forced failover of a journal image to it is done (the promote stands after a settle time), and sticks once it is back", async () => {
  let images: Mirrored[] = [];
  try {
  await scenario('rbd-mirror-down-forced-failover', async (counts) => {
    images = [await mirroredImage('mirror-down-ff', 'journal', counts)];
    const { name, image } = images[0];
    await image.close(); // site-a stays primary (split brain afterwards), no writer holds it
    await theLab().killDaemon('site-b', 'rbd-mirror', 'SIGKILL');
    counts.faults++;
    expect(await theLab().daemonPid('site-b', 'rbd-mirror')).toBeNull();
    let report: DrReport;
    try {
      report = await bounded('the forced failover', 240_000, failover({ mode: 'forced', from: null, to: pool('site-b'), images: [name], timeoutMs: 180_000, pollMs: 500 }), counts);
    } finally {
      await theLab().startDaemon('site-b', 'rbd-mirror', { timeoutMs: 60_000 });
    }
    const r = report.images[0];
    figure(`rbd-mirror down: forced failover of ${name} took ${secs(r.ms)} (${r.actions.map((a) => `${a.step} ${secs(a.ms)}`).join(', ')})`);
    expect({ ok: report.ok, outcome: r.outcome, after: r.after, error: r.error?.message }).toEqual({ ok: true, outcome: 'done', after: { from: 'unknown', to: 'primary' }, error: undefined });
    expect(r.actions.map((a) => a.step)).toEqual(['force-promote', 'await-promotion']);
    // rbd-mirror back on site-b: it finds the copy primary and leaves it so.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const img = await pool('site-b').openImage(name);
      try {
        const l = (await img.mirror.status()).local;
        expect((await img.mirror.info()).primary).toBe(true);
        if (l?.up && l.state === 'stopped') break;
        if (Date.now() > deadline) throw new Error(`${name}: rbd-mirror on site-b back, but its status of the copy is ${l ? `${l.state}: ${l.description}` : 'none'}`);
      } finally {
        await img.close();
      }
      await sleep(1000);
    }
    const data = randomBytes(BLOCK);
    const b = await pool('site-b').openImage(name);
    try {
      await b.write(data, 0);
      await b.flush();
      expect(Buffer.compare((await b.read(0, BLOCK)) as Buffer, data)).toBe(0);
      expect((await b.mirror.info()).primary).toBe(true);
    } finally {
      await b.close();
    }
  });
  } finally {
    await dropImages(images); // site-a's copy (primary: split brain) ...
    for (const m of images) {
      // ... and site-b's, primary too
      await theLab().rbd('site-b', ['mirror', 'image', 'disable', '--force', `${theLab().pool}/${m.name}`]).catch(() => undefined);
      await theLab().rbd('site-b', ['rm', '--no-progress', `${theLab().pool}/${m.name}`]).catch(() => undefined);
    }
  }
}, 600_000);

test('OSD of the secondary killed (-9) mid-replication: what it held survives, replication resumes and converges', async () => {
  let images: Mirrored[] = [];
  const keep = uniq('osd-keep');
  try {
    await scenario('osd-kill', async (counts) => {
      // data that is only on site-b, written and flushed before the fault
      await pool('site-b').createImage(keep, SIZE);
      const k = await pool('site-b').openImage(keep);
      await k.write(randomBytes(SIZE), 0);
      await k.flush();
      await k.close();
      const before = await hashImage('site-b', keep);
      images = await killWhileReplicating('osd-kill', 'site-b', 'osd', counts);
      const after = await hashImage('site-b', keep);
      if (after !== before) counts.mismatches++;
      expect(after).toBe(before);
    });
  } finally {
    await dropImages(images);
    await pool('site-b').removeImage(keep).catch(() => undefined);
  }
}, 300_000);

test("the primary's only monitor stopped: mon-bound calls fail with ETIMEDOUT within operationTimeoutMs, the data path goes on, and the same Cluster works once it is back", async () => {
  await scenario('mon-stop', async (counts) => {
    const conf = theLab().site('site-a').confPath;
    const monLog = theLab().daemonLog('site-a', 'mon');
    const cluster = await Cluster.connect({ confPath: conf, timeoutMs: OP_TIMEOUT_MS, operationTimeoutMs: OP_TIMEOUT_MS });
    try {
      const p = await cluster.openPool(theLab().pool);
      const name = uniq('mon-stop');
      await p.createImage(name, SIZE, { features: ['layering', 'exclusive-lock'] });
      const image = await p.openImage(name);
      await image.write(Buffer.alloc(BLOCK, 1), 0);

      await theLab().killDaemon('site-a', 'mon', 'SIGKILL');
      counts.faults++;
      try {
        /** A call that must fail with Timeout (ETIMEDOUT) within the operation timeout plus the margin. */
        const mustTimeOut = async (what: string, call: () => Promise<unknown>) => {
          const t0 = Date.now();
          const err = await bounded(what, OP_TIMEOUT_MS + MARGIN_MS + 20_000, call(), undefined, monLog).then(
            () => null,
            (e: unknown) => e,
          );
          const took = Date.now() - t0;
          figure(`mon-stop: ${what} with the mon down: ${err ? `${(err as Error).constructor.name} ${(err as { code?: string }).code}` : 'succeeded'} after ${took} ms`);
          if (took > OP_TIMEOUT_MS + MARGIN_MS) counts.hangs++;
          expect(err).toBeInstanceOf(Timeout);
          expect(err).toMatchObject({ code: 'ETIMEDOUT', errno: 110 });
          expect(took).toBeLessThan(OP_TIMEOUT_MS + MARGIN_MS);
        };
        await mustTimeOut('cluster.stats()', () => cluster.stats());
        await mustTimeOut('cluster.monCommand(status)', () => cluster.monCommand({ prefix: 'status', format: 'json' }));
        await mustTimeOut('cluster.createPool()', () => cluster.createPool(uniq('mon-stop-pool')));
        await mustTimeOut('image.snapshots.create()', () => image.snapshots.create('s1'));
        await mustTimeOut('Cluster.connect({ timeoutMs })', () => Cluster.connect({ confPath: conf, timeoutMs: OP_TIMEOUT_MS }));
        // The OSD needs no mon for I/O on a cached osdmap: data still flows.
        const data = randomBytes(BLOCK);
        await bounded('a write with the mon down', OP_TIMEOUT_MS + MARGIN_MS, image.write(data, BLOCK), counts, monLog);
        const back = (await bounded('a read with the mon down', OP_TIMEOUT_MS + MARGIN_MS, image.read(BLOCK, BLOCK), counts, monLog)) as Buffer;
        if (!back.equals(data)) counts.mismatches++;
        expect(back.equals(data)).toBe(true);
      } finally {
        const t0 = Date.now();
        await theLab().startDaemon('site-a', 'mon', { timeoutMs: 60_000 });
        figure(`mon-stop: mon of site-a back after ${secs(Date.now() - t0)}`);
      }
      // the same Cluster reconnects on its own
      const t0 = Date.now();
      let stats: Awaited<ReturnType<Cluster['stats']>> | undefined;
      while (!stats) {
        stats = await cluster.stats().catch(() => undefined);
        if (!stats && Date.now() - t0 > 30_000) {
          counts.hangs++;
          throw new Error(`the connected Cluster did not work again within 30 s of the mon's restart; see ${monLog}`);
        }
      }
      figure(`mon-stop: the connected Cluster answered again ${secs(Date.now() - t0)} after the mon's restart`);
      expect(stats.kb).toBeGreaterThan(0);
      await image.snapshots.create('s1');
      const fresh = await Cluster.connect({ confPath: conf, timeoutMs: 20_000 });
      expect(fresh.fsid()).toBe(cluster.fsid());
      await fresh.close();
      await image.close();
      await p.removeImage(name).catch(() => undefined);
    } finally {
      await bounded('closing the cluster', 30_000, cluster.close(), counts, monLog);
    }
  });
}, 180_000);

/** The bytes acked-writer.js writes into block i: sha256(seed:i) repeated. */
function pattern(seed: string, i: number, size: number): Buffer {
  const h = createHash('sha256').update(`${seed}:${i}`).digest();
  const b = Buffer.alloc(size);
  for (let o = 0; o < size; o += h.length) h.copy(b, o);
  return b;
}

test('a client killed (-9) mid-write: its exclusive lock is recovered and every acknowledged block reads back intact', async () => {
  await scenario('client-kill', async (counts) => {
    if (!existsSync(path.join(DIST, 'index.js'))) throw new Error(`no SDK build in ${DIST}: run npm run build:ts`);
    const name = uniq('client-kill');
    const seed = randomBytes(8).toString('hex');
    const bs = 64 * 1024;
    const blocks = SIZE / bs;
    await pool('site-a').createImage(name, SIZE, { features: ['layering', 'exclusive-lock', 'object-map', 'fast-diff'] });
    const killAt = 20 + Math.floor(Math.random() * 40);
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'acked-writer.js'), DIST, theLab().site('site-a').confPath, theLab().pool, name, String(bs), String(blocks), seed],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const acked = () => out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    let killed = false;
    await bounded(
      `the writer child to acknowledge ${killAt} blocks`,
      60_000,
      new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (!killed && acked().length >= killAt) {
            // a moment later, so that the next write is in flight
            killed = true;
            setTimeout(() => {
              child.kill('SIGKILL');
              resolve();
            }, Math.floor(Math.random() * 5));
          }
        });
        void exited.then(({ code, signal }) => {
          if (!killed) reject(new Error(`the writer child exited by itself (code ${code}, signal ${signal}): ${err.trim()}`));
        });
      }),
      counts,
    ).catch(async (e: unknown) => {
      const byItself = child.exitCode !== null || child.signalCode !== null;
      child.kill('SIGKILL');
      const { code, signal } = await exited;
      if (byItself && (signal !== null || (code !== null && code >= 128))) counts.crashes++; // an abort, not an error exit
      throw e;
    });
    const { signal } = await bounded('the killed writer child to exit', 10_000, exited, counts);
    counts.faults++;
    expect(signal).toBe('SIGKILL');
    const acks = acked();
    expect(acks).toEqual([...Array(acks.length).keys()]); // one write at a time, in order
    const last = acks.length - 1;

    const image = await pool('site-a').openImage(name);
    try {
      const [dead] = (await image.lockOwners()).owners;
      expect(dead).toBeDefined(); // the dead client still holds the lock
      const t0 = Date.now();
      // writing needs the lock: librbd waits out the dead owner's watch, then blocklists it and breaks the lock
      await bounded(`taking over the exclusive lock of ${name} (held by ${dead})`, 90_000, image.write(Buffer.alloc(bs, 0xee), (blocks - 1) * bs), counts);
      figure(`client-kill: ${acks.length} acknowledged blocks; the lock of the killed client taken over in ${secs(Date.now() - t0)}`);
      expect(await image.lockOwners()).toMatchObject({ isOwner: true });
      expect(await theLab().ceph('site-a', ['osd', 'blocklist', 'ls'])).toContain(dead);

      const bad: number[] = [];
      for (let i = 0; i < blocks - 1; i++) {
        const got = (await image.read(i * bs, bs)) as Buffer;
        const want = pattern(seed, i, bs);
        if (i <= last) {
          if (!got.equals(want)) bad.push(i);
        } else if (i === last + 1) {
          // the write in flight at the kill: all of it or none of it (one RADOS object write)
          if (!got.equals(want) && !got.equals(Buffer.alloc(bs))) bad.push(i);
        } else if (!got.equals(Buffer.alloc(bs))) {
          bad.push(i);
        }
      }
      counts.mismatches += bad.length;
      expect(bad).toEqual([]);
    } finally {
      await image.close();
      await pool('site-a').removeImage(name).catch(() => undefined);
    }
  });
}, 180_000);
