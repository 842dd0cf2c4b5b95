/**
 * Faults a DR site really meets (issue 16, items 1 and 3), on a two-site lab of this suite's
 * own (memstore, in .lab-drfaults, mons on XRBD_LAB_BASE_PORT + 200 / + 300: the range
 * test/setup/ports.ts leaves free):
 *
 * - a frozen site: every daemon of site-a stopped (SIGSTOP: processes and TCP connections stay,
 *   nothing answers) while a client process has writes in flight, watchers registered; every
 *   SDK call it makes on site-a must settle, with Timeout where it needs the site, within its
 *   bound; the process must exit by itself (nothing left pending); a forced failover to site-b
 *   from that process reports `from` unreachable; after the thaw both copies read primary (split
 *   brain), and the documented failback (README "Failover and failback") converges with site-b's
 *   acknowledged writes kept;
 * - rbd-mirror of the target site killed (-9) during a planned failover and during the resync
 *   of a failback;
 * - the orchestrating process killed (-9) at each step of a planned failover and of a failback
 *   (the step read from its DrEvent stream), the same call run again from a fresh process:
 *   it converges, and nothing is resynced that was not named.
 *
 * Every scenario records its counts with tally() (also when it fails). Figures (the longest
 * answer of any call on the frozen site, step times) go to stderr at the end.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';

import { Cluster, type DrEvent, failback, failover, type Pool } from '../../lib';
import { Lab, findLabDaemons } from '../../lib/lab';
import { BLOCK, type Site, bounded, eventLog, imageHelpers, other, pretty, scenario as scenarioOf, secs, sleep } from './dr-helpers';
import { holdLabDir, type HeldLabDir } from './lab-dir-lock';
import type { FaultCounts } from './tally';
import { LAB_BASE_PORT } from '../setup/ports';

const ROOT = path.resolve(__dirname, '..', '..');
const LAB_DIR = path.join(ROOT, '.lab-drfaults');
const BASE_PORT = LAB_BASE_PORT + 200;
const DIST = path.join(ROOT, 'dist');
/** operationTimeoutMs of the frozen site's client, and the slack allowed on top (2 busy cores). */
const OP_TIMEOUT_MS = 3000;
const MARGIN_MS = 5000;
/** A call still pending after this is a hang (recorded, and the child cannot exit then). */
const CAP_MS = 20_000;
const DR_TIMEOUT_MS = 180_000;
const LOCK_WAIT_MS = 240_000;

let lab: Lab | undefined;
const clusters: Partial<Record<Site, Cluster>> = {};
const pools: Partial<Record<Site, Pool>> = {};
const figures: string[] = [];
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const pool = (site: Site): Pool => pools[site] as Pool;
const theLab = (): Lab => {
  if (!lab) throw new Error(`the DR fault lab in ${LAB_DIR} did not start (see beforeAll)`);
  return lab;
};
const figure = (line: string) => figures.push(line);

let held: HeldLabDir | undefined;

beforeAll(async () => {
  if (!existsSync(path.join(DIST, 'index.js'))) throw new Error(`no SDK build in ${DIST}: run npm run build:ts`);
  held = await holdLabDir(LAB_DIR, 'dr-faults', LOCK_WAIT_MS);
  const t0 = Date.now();
  lab = await Lab.start({
    dir: LAB_DIR,
    basePort: BASE_PORT,
    timeoutMs: 150_000,
    log: (l) => {
      if (process.env.XRBD_LAB_VERBOSE === '1') process.stderr.write(`[dr-faults] ${l}\n`);
    },
  });
  figure(`lab (memstore, mons on ${BASE_PORT}/${BASE_PORT + 100}) started in ${secs(Date.now() - t0)}`);
  for (const site of ['site-a', 'site-b'] as const) {
    clusters[site] = await Cluster.connect({ confPath: lab.site(site).confPath, timeoutMs: 20_000 });
    pools[site] = await clusters[site].openPool(lab.pool);
  }
}, LOCK_WAIT_MS + 200_000);

afterAll(async () => {
  for (const site of ['site-b', 'site-a'] as const) {
    await bounded(`closing the ${site} cluster`, 30_000, clusters[site]?.close() ?? Promise.resolve()).catch(() => undefined);
  }
  if (!held) return;
  process.stderr.write(figures.map((f) => `[dr-faults] ${f}\n`).join(''));
  try {
    const running = lab ?? (await Lab.open(LAB_DIR));
    if (running) {
      await running.thawSite('site-a').catch(() => undefined); // a failed frozen-site test may leave it stopped
      await running.stop({ purge: true });
    }
    expect((await findLabDaemons(LAB_DIR)).map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);
  } finally {
    await held.release();
    await fsp.rmdir(LAB_DIR).catch(() => undefined); // only if empty
  }
}, 180_000);

// ---------------------------------------------------------------- helpers

const scenario = (suite: string, body: (counts: FaultCounts) => Promise<void>): Promise<void> => scenarioOf('dr-faults', suite, body);
const { withImage, hashImage, imageId, ackedWrite, converged, roles, mirroredImages, dropImages } = imageHelpers(pool, theLab, uniq);

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  stderr: string;
}

/** Spawn a child script with the built SDK; `onLine` sees each stdout line as it comes (it may kill the child). */
function runChild(script: string, cfg: unknown, timeoutMs: number, onLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<ChildRun & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, script), JSON.stringify(cfg)], { stdio: [script === 'frozen-client.js' ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        onLine?.(line, child);
      }
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines, stderr, timedOut });
    });
  });
}

type ChildReport = {
  ok: boolean;
  images: Array<{ image: string; outcome: string; before: { from: string; to: string }; after: { from: string; to: string }; actions: string[]; error?: { message: string }; hint?: string }>;
};

const reportOf = (run: ChildRun): ChildReport | null => {
  const line = run.lines.find((l) => l.startsWith('REPORT '));
  return line ? (JSON.parse(line.slice('REPORT '.length)) as ChildReport) : null;
};

/** Counts a child that died by a signal it was not sent (an abort, a segfault) as a crash. */
function checkChild(run: ChildRun & { timedOut: boolean }, counts: FaultCounts, killedByUs: boolean): void {
  if (run.timedOut) counts.hangs++;
  else if (run.signal && !(killedByUs && run.signal === 'SIGKILL')) counts.crashes++;
  else if (run.code !== null && run.code >= 128) counts.crashes++;
}

// ---------------------------------------------------------------- 1. the frozen site

interface CallRecord {
  call: string;
  ms: number;
  ok: boolean;
  hung: boolean;
  value?: unknown;
  error?: { class: string; code: string; message: string };
}
interface FrozenResult {
  calls: CallRecord[];
  writers: Array<{ image: string; acked: number; error: { class: string; code: string } | null; settledMs: number }>;
  warnings: Array<{ ms: number; image?: string; error: { class: string; code: string; message: string } }>;
  changesFrozen: number;
  updatesFrozen: number;
  report: {
    ok: boolean;
    from: string;
    ms: number;
    rejected?: unknown;
    images: Array<{ image: string; outcome: string; before: { from: string; to: string }; after: { from: string; to: string }; actions: string[] }>;
  };
}

/**
 * What each call of frozen-client.js answers on the frozen site, and its bound. Most need the
 * site and fail with Timeout; a few answer from what the client holds (the image header it
 * read, its snapshot list); librbd answers some with an error of its own (below).
 */
const FROZEN_EXPECT: Record<string, { outcome: 'Timeout' | 'ok' | 'error'; boundMs: number; why?: string }> = {
  'cluster.stats()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'cluster.monCommand(status)': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'cluster.listPools()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'pool.listImages()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'pool.stats()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'pool.openImage()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'pool.createImage()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  // librbd's rbd_mirror_site_name_get answers the cluster's fsid when it cannot read the name (a timeout included)
  'pool.mirror.siteName()': { outcome: 'ok', boundMs: OP_TIMEOUT_MS + MARGIN_MS, why: 'librbd falls back to the fsid' },
  'pool.mirror.summary()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'pool.mirror.status()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'pool.mirror.imageInfos()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'image.read()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'image.write()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'image.flush()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'image.stat()': { outcome: 'ok', boundMs: OP_TIMEOUT_MS + MARGIN_MS, why: "the handle's header" },
  // two requests in a row (the header notify, then the snapshot), each bounded; librbd 16.2 answers EBADMSG
  'image.snapshots.create()': { outcome: 'error', boundMs: 2 * OP_TIMEOUT_MS + MARGIN_MS, why: 'librbd answers EBADMSG after its notify times out' },
  'image.snapshots.list()': { outcome: 'ok', boundMs: OP_TIMEOUT_MS + MARGIN_MS, why: "the handle's snapshot context" },
  'image.mirror.info()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'image.mirror.status()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'image.mirror.createSnapshot()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'image.lockOwners()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  'Cluster.connect()': { outcome: 'Timeout', boundMs: OP_TIMEOUT_MS + MARGIN_MS },
  // closing an image that holds the exclusive lock: flush, lock release and unwatch, one bounded request each
  'image.close() #0': { outcome: 'ok', boundMs: 3 * OP_TIMEOUT_MS + MARGIN_MS, why: 'three bounded requests; the handle is released whatever they answer' },
  'image.close() #1': { outcome: 'ok', boundMs: 3 * OP_TIMEOUT_MS + MARGIN_MS, why: 'three bounded requests; the handle is released whatever they answer' },
  'cluster.close() site-a': { outcome: 'ok', boundMs: 2 * OP_TIMEOUT_MS + MARGIN_MS },
  'cluster.close() site-b': { outcome: 'ok', boundMs: MARGIN_MS },
};

test('a frozen site (SIGSTOP of every daemon of site-a, I/O in flight): every call settles within its bound, a forced failover reports site-a unreachable, and after the thaw the failback converges with site-b\'s writes kept', async () => {
  let names: string[] = [];
  let frozen = false;
  try {
    await scenario('frozen-site', async (counts) => {
      names = await mirroredImages('frozen', ['journal', 'snapshot'], counts);
      const cfg = {
        dist: DIST,
        confA: theLab().site('site-a').confPath,
        confB: theLab().site('site-b').confPath,
        pool: theLab().pool,
        images: names,
        opTimeoutMs: OP_TIMEOUT_MS,
        capMs: CAP_MS,
      };
      let frozenAt = 0;
      let failedOverAt = 0;
      let freezeError: unknown;
      const acked: Array<{ name: string; block: number; data: Buffer }> = [];
      let wroteOnB: Promise<void> = Promise.resolve();
      const run = await runChild('frozen-client.js', cfg, 300_000, (line, child) => {
        if (line === 'ready') {
          void theLab()
            .freezeSite('site-a')
            .then(() => {
              frozen = true;
              frozenAt = Date.now();
              counts.faults++;
              child.stdin?.end('frozen\n');
            })
            .catch((e: unknown) => {
              freezeError = e;
              child.kill('SIGKILL');
            });
        }
        if (line === 'failover settled') {
          failedOverAt = Date.now();
          // site-b took the primary role: writes there, acknowledged, while site-a is still frozen
          wroteOnB = (async () => {
            for (const name of names) for (const block of [1, 100, 300]) acked.push({ name, block, data: await ackedWrite('site-b', name, block) });
          })();
        }
      });
      await wroteOnB;
      const exitedAt = Date.now();
      if (freezeError) throw new Error(`freezing site-a failed: ${String(freezeError)}`);
      checkChild(run, counts, false);
      const resultLine = run.lines.find((l) => l.startsWith('RESULT '));
      if (!resultLine) throw new Error(`frozen-client.js gave no RESULT (exit ${run.code ?? run.signal}${run.timedOut ? ', killed: it did not exit' : ''}):\n${run.lines.join('\n')}\n${run.stderr}`);
      const r = JSON.parse(resultLine.slice('RESULT '.length)) as FrozenResult;

      // every call settled, each within its bound, as expected
      const rows = r.calls.map((c) => {
        const e = FROZEN_EXPECT[c.call];
        const outcome = c.hung ? 'hung' : c.ok ? 'ok' : c.error?.class === 'Timeout' ? 'Timeout' : 'error';
        return { call: c.call, outcome, ms: c.ms, within: !c.hung && c.ms <= (e?.boundMs ?? OP_TIMEOUT_MS + MARGIN_MS), code: c.error?.code, value: c.value };
      });
      const hung = rows.filter((x) => x.outcome === 'hung' || !x.within);
      counts.hangs += hung.length;
      const longest = Math.max(...r.calls.filter((c) => !c.hung).map((c) => c.ms), ...r.writers.map((w) => w.settledMs));
      figure(`frozen-site: ${r.calls.length} calls on the frozen site; longest answer ${longest} ms (operationTimeoutMs ${OP_TIMEOUT_MS}); ` + rows.map((x) => `${x.call} ${x.outcome}${x.code && x.outcome !== 'Timeout' ? ` ${x.code}` : ''} ${x.ms} ms`).join(', '));
      figure(`frozen-site: in-flight writes rejected after ${r.writers.map((w) => `${w.settledMs} ms (${w.error?.class} ${w.error?.code}, ${w.acked} acked before)`).join(', ')}`);
      expect(hung).toEqual([]);
      for (const x of rows) {
        const e = FROZEN_EXPECT[x.call];
        expect({ call: x.call, outcome: x.outcome }).toEqual({ call: x.call, outcome: e ? e.outcome : 'Timeout' });
      }
      expect(rows.map((x) => x.call)).toEqual(Object.keys(FROZEN_EXPECT));
      // librbd's fallback for the site name is the fsid, never a stale 'site-a'
      expect(r.calls.find((c) => c.call === 'pool.mirror.siteName()')?.value).toBe(theLab().site('site-a').fsid);
      // I/O in flight: each writer's pending write rejected with Timeout within the bound
      for (const w of r.writers) {
        expect(w.acked).toBeGreaterThan(0);
        expect(w.error).toMatchObject({ class: 'Timeout', code: 'ETIMEDOUT' });
        expect(w.settledMs).toBeLessThanOrEqual(OP_TIMEOUT_MS + MARGIN_MS);
      }
      // the pool watcher warned with Timeout (each failed poll), and reported no change while frozen
      const poolWarnings = r.warnings.filter((w) => w.image === undefined);
      expect(poolWarnings.length).toBeGreaterThan(0);
      for (const w of poolWarnings) expect(w.error).toMatchObject({ class: 'Timeout', code: 'ETIMEDOUT' });
      figure(`frozen-site: the pool watcher's first warning (Timeout) ${poolWarnings[0].ms} ms after the freeze; ${poolWarnings.length} in all; ${r.changesFrozen} changes and ${r.updatesFrozen} header updates reported while frozen`);
      expect(poolWarnings[0].ms).toBeLessThanOrEqual(3 * OP_TIMEOUT_MS + MARGIN_MS);
      expect({ changes: r.changesFrozen, updates: r.updatesFrozen }).toEqual({ changes: 0, updates: 0 });
      // the forced failover from the frozen process: done, site-a reported unreachable before and after
      expect(r.report.rejected).toBeUndefined();
      figure(`frozen-site: forced failover with site-a frozen took ${secs(r.report.ms)}: ${r.report.images.map((x) => `${x.image} ${x.outcome} [${x.actions.join(' ')}]`).join('; ')}`);
      expect(r.report.ok).toBe(true);
      for (const x of r.report.images) {
        expect({ outcome: x.outcome, before: x.before, after: x.after }).toEqual({
          outcome: 'done',
          before: { from: 'unreachable', to: 'non-primary' },
          after: { from: 'unreachable', to: 'primary' },
        });
      }
      // the child exited by itself: nothing left pending
      expect({ code: run.code, signal: run.signal, timedOut: run.timedOut }).toEqual({ code: 0, signal: null, timedOut: false });
      figure(`frozen-site: the client process exited by itself ${secs(exitedAt - frozenAt)} after the freeze (failover settled at ${secs(failedOverAt - frozenAt)})`);

      // site-b's copies, with its acknowledged writes: what the failback must bring back to site-a
      const wantB = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await hashImage('site-b', n)] as const)));

      // the thaw: site-a comes back with its copies still primary
      const t0 = Date.now();
      const thaw = await theLab().thawSite('site-a', { timeoutMs: 90_000 });
      frozen = false;
      figure(`frozen-site: site-a frozen ${secs(Date.now() - frozenAt)}, thawed in ${secs(Date.now() - t0)} (laggy PGs after the thaw: ${thaw.laggy.join(', ') || 'none'}${thaw.repeered ? ', re-peered' : ''}${thaw.markedDown ? ', OSD marked down once' : ''}; mgr serving after ${thaw.mgrMs} ms${thaw.mgrRestarted ? ', restarted' : ''})`);
      await theLab().waitForMirrorDaemons({ timeoutMs: 90_000 });
      // split brain, seen from both sites
      expect(await roles(names)).toEqual(Object.fromEntries(names.map((n) => [n, 'both'])));

      // the documented failback: demote and resync site-a's copies from site-b, then move the role back
      const fb = await bounded('the failback after the thaw', DR_TIMEOUT_MS + 60_000, failback({ from: pool('site-b'), to: pool('site-a'), images: names, timeoutMs: DR_TIMEOUT_MS, pollMs: 500 }), counts);
      figure(`frozen-site: failback after the thaw in ${secs(fb.ms)}: ${pretty(fb)}`);
      for (const x of fb.images) {
        expect({ image: x.image, outcome: x.outcome, before: x.before, after: x.after, error: x.error?.message }).toEqual({
          image: x.image,
          outcome: 'done',
          before: { from: 'primary', to: 'primary' },
          after: { from: 'non-primary', to: 'primary' },
          error: undefined,
        });
        expect(x.actions.map((a) => `${a.step}@${a.site}`)).toEqual(expect.arrayContaining(['demote@site-a', 'resync@site-a', 'demote@site-b', 'promote@site-a']));
      }
      // sha256 equal on both sites and to site-b's before the failback; every write acknowledged on site-b there
      await converged('site-a', names, counts);
      for (const n of names) {
        const [a, b] = [await hashImage('site-a', n), await hashImage('site-b', n)];
        if (a !== wantB[n] || b !== wantB[n]) counts.mismatches++;
        expect({ a, b }).toEqual({ a: wantB[n], b: wantB[n] });
      }
      for (const w of acked) {
        const got = await withImage('site-a', w.name, (i) => i.read(w.block * BLOCK, BLOCK), true);
        if (!Buffer.from(got as Buffer).equals(w.data)) counts.mismatches++;
        expect(Buffer.from(got as Buffer).equals(w.data)).toBe(true);
      }
    });
  } finally {
    if (frozen) await theLab().thawSite('site-a').catch(() => undefined);
    await dropImages(names);
  }
}, 600_000);

// ---------------------------------------------------------------- 3. faults in the middle of DR calls

/** Kill -9 rbd-mirror of `site` when the DR call reaches `phase`, start it again 3 s later. Resolves with whether it fired. */
function killMirrorAt(log: ReturnType<typeof eventLog>, phase: DrEvent['phase'], site: Site, counts: FaultCounts, done: Promise<unknown>): Promise<boolean> {
  return Promise.race([
    log.at(phase).then(async () => {
      await theLab().killDaemon(site, 'rbd-mirror', 'SIGKILL');
      counts.faults++;
      await sleep(3000);
      await theLab().startDaemon(site, 'rbd-mirror', { timeoutMs: 60_000 });
      return true;
    }),
    done.then(() => false),
  ]);
}

test('rbd-mirror of the target killed (-9) during a planned failover, then during the resync of a failback: each call (run again if it stopped) converges', async () => {
  let names: string[] = [];
  try {
    await scenario('mirror-kill-mid-dr', async (counts) => {
      names = await mirroredImages('mirror-mid', ['journal', 'snapshot'], counts);
      const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await hashImage('site-a', n)] as const)));

      // planned failover site-a → site-b, rbd-mirror of site-b killed once the demote starts
      const log = eventLog();
      const call = failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: names, timeoutMs: DR_TIMEOUT_MS, pollMs: 500, onEvent: log.onEvent });
      const fired = killMirrorAt(log, 'demote', 'site-b', counts, call.catch(() => undefined));
      let r = await bounded('the planned failover', DR_TIMEOUT_MS + 60_000, call, counts);
      expect(await fired).toBe(true);
      figure(`mirror-kill: planned failover with rbd-mirror of site-b killed at the demote: ${secs(r.ms)}, ${pretty(r)}`);
      if (!r.ok) {
        r = await failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: names, timeoutMs: DR_TIMEOUT_MS, pollMs: 500 });
        figure(`mirror-kill: planned failover run again: ${pretty(r)}`);
      }
      expect(r.ok).toBe(true);
      expect(await roles(names)).toEqual(Object.fromEntries(names.map((n) => [n, 'site-b'])));
      for (const n of names) {
        const got = await hashImage('site-b', n);
        if (got !== before[n]) counts.mismatches++;
        expect(got).toBe(before[n]); // nothing written on site-a was left behind
      }

      // split brain: site-a promoted with force too; then a failback to site-b names them: site-b's copies are
      // resynced from site-a, rbd-mirror of site-b killed while it re-creates them
      const forced = await failover({ mode: 'forced', from: null, to: pool('site-a'), images: names, timeoutMs: DR_TIMEOUT_MS, pollMs: 500 });
      expect(forced.ok).toBe(true);
      expect(await roles(names)).toEqual(Object.fromEntries(names.map((n) => [n, 'both'])));
      const blocks = await Promise.all(names.map((n) => ackedWrite('site-a', n, 7)));
      const wantA = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await hashImage('site-a', n)] as const)));
      const log2 = eventLog();
      const call2 = failback({ from: pool('site-a'), to: pool('site-b'), images: names, timeoutMs: DR_TIMEOUT_MS, pollMs: 500, onEvent: log2.onEvent });
      const fired2 = killMirrorAt(log2, 'await-resync', 'site-b', counts, call2.catch(() => undefined));
      let fb = await bounded('the failback', DR_TIMEOUT_MS + 60_000, call2, counts);
      expect(await fired2).toBe(true);
      figure(`mirror-kill: failback with rbd-mirror of site-b killed during the resync: ${secs(fb.ms)}, ${pretty(fb)}`);
      if (!fb.ok) {
        fb = await failback({ from: pool('site-a'), to: pool('site-b'), images: names, timeoutMs: DR_TIMEOUT_MS, pollMs: 500 });
        figure(`mirror-kill: failback run again: ${pretty(fb)}`);
      }
      expect(fb.ok).toBe(true);
      expect(await roles(names)).toEqual(Object.fromEntries(names.map((n) => [n, 'site-b'])));
      await converged('site-b', names, counts);
      for (const [i, n] of names.entries()) {
        const got = await hashImage('site-b', n);
        if (got !== wantA[n]) counts.mismatches++;
        expect(got).toBe(wantA[n]);
        const blk = await withImage('site-b', n, (img) => img.read(7 * BLOCK, BLOCK), true);
        expect(Buffer.from(blk as Buffer).equals(blocks[i])).toBe(true);
      }
    });
  } finally {
    await dropImages(names);
  }
}, 900_000);

/**
 * Run the DR call in a child, kill it (-9) at the first event of `phase`, then run the same call
 * from a fresh process: returns the two runs. The kill counts as a fault.
 */
async function killedAndRerun(cfg: Record<string, unknown>, phase: string, counts: FaultCounts): Promise<{ killed: boolean; rerun: ChildReport; killedRun: ChildRun }> {
  let killed = false;
  const first = await runChild('dr-child.js', cfg, DR_TIMEOUT_MS + 60_000, (line, child) => {
    if (killed || !line.startsWith('EVENT ')) return;
    const e = JSON.parse(line.slice('EVENT '.length)) as DrEvent;
    if (e.phase === phase) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  checkChild(first, counts, killed);
  if (killed) {
    counts.faults++;
    expect(first.signal).toBe('SIGKILL');
  }
  const second = await runChild('dr-child.js', cfg, DR_TIMEOUT_MS + 60_000);
  checkChild(second, counts, false);
  const rerun = reportOf(second);
  if (!rerun) throw new Error(`the rerun gave no report (exit ${second.code ?? second.signal}): ${second.lines.join('\n')}\n${second.stderr}`);
  return { killed, rerun, killedRun: first };
}

/**
 * The steps the orchestrator is killed at. Every one by default (`npm run test:faults`); .ci/run sets
 * XRBD_DR_FAULTS_KILL_POINTS=ci, one step of each call (the one that leaves the most half-done: the failover
 * killed after its demote, the failback while the stale copies resync), to keep CI under its time limit.
 */
const KILL_POINTS =
  process.env.XRBD_DR_FAULTS_KILL_POINTS === 'ci'
    ? { failover: ['demote'], failback: ['await-resync'] }
    : { failover: ['demote', 'await-demotion'], failback: ['resync', 'await-resync', 'await-replication'] };

test('the orchestrating process killed (-9) at each step of a planned failover and of a failback: the same call from a fresh process converges, and nothing unnamed is resynced', async () => {
  let names: string[] = [];
  let bystander: string[] = [];
  try {
    await scenario('orchestrator-kill', async (counts) => {
      names = await mirroredImages('orch', ['journal', 'snapshot'], counts);
      bystander = await mirroredImages('orch-by', ['journal'], counts); // mirrored, never named
      const byIds = { a: await imageId('site-a', bystander[0]), b: await imageId('site-b', bystander[0]) };
      const byHash = await hashImage('site-a', bystander[0]);
      const conf = (s: Site) => theLab().site(s).confPath;
      const base = { dist: DIST, pool: theLab().pool, images: names, timeoutMs: DR_TIMEOUT_MS };
      let primary: Site = 'site-a';
      const resyncedUnnamed = (r: ChildReport) => r.images.filter((x) => !names.includes(x.image) && x.actions.some((a) => a.startsWith('resync')));

      // planned failover, killed at each of its steps (alternating direction: each run moves the role)
      for (const phase of KILL_POINTS.failover) {
        const to = other(primary);
        const want = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await hashImage(primary, n)] as const)));
        const { killed, rerun } = await killedAndRerun({ ...base, call: 'failover', mode: 'planned', fromConf: conf(primary), toConf: conf(to) }, phase, counts);
        figure(`orchestrator-kill: failover ${primary} -> ${to} killed at ${phase}${killed ? '' : ' (never reached: ran to the end)'}; rerun: ${pretty(rerun)}`);
        expect(rerun.ok).toBe(true);
        for (const x of rerun.images) expect({ image: x.image, after: x.after }).toEqual({ image: x.image, after: { from: 'non-primary', to: 'primary' } });
        expect(resyncedUnnamed(rerun)).toEqual([]);
        for (const x of rerun.images) expect(x.actions.filter((a) => a.startsWith('resync'))).toEqual([]);
        expect(await roles(names)).toEqual(Object.fromEntries(names.map((n) => [n, to])));
        for (const n of names) {
          const got = await hashImage(to, n);
          if (got !== want[n]) counts.mismatches++;
          expect(got).toBe(want[n]);
        }
        primary = to;
      }

      // failback after a split brain, killed at each of its steps
      for (const phase of KILL_POINTS.failback) {
        const back = other(primary); // the site that gets the role back; its copies go stale
        const forced = await failover({ mode: 'forced', from: null, to: pool(back), images: names, timeoutMs: DR_TIMEOUT_MS, pollMs: 500 });
        expect(forced.ok).toBe(true);
        // back is primary now too (split brain); `primary` keeps the data that counts: it takes one more write
        await Promise.all(names.map((n) => ackedWrite(primary, n, 9)));
        const want = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await hashImage(primary, n)] as const)));
        const { killed, rerun } = await killedAndRerun({ ...base, call: 'failback', fromConf: conf(primary), toConf: conf(back) }, phase, counts);
        figure(`orchestrator-kill: failback ${primary} -> ${back} killed at ${phase}${killed ? '' : ' (never reached: ran to the end)'}; rerun: ${pretty(rerun)}`);
        expect(rerun.ok).toBe(true);
        for (const x of rerun.images) expect({ image: x.image, after: x.after }).toEqual({ image: x.image, after: { from: 'non-primary', to: 'primary' } });
        expect(resyncedUnnamed(rerun)).toEqual([]);
        expect(await roles(names)).toEqual(Object.fromEntries(names.map((n) => [n, back])));
        await converged(back, names, counts);
        for (const n of names) {
          const got = await hashImage(back, n);
          if (got !== want[n]) counts.mismatches++;
          expect(got).toBe(want[n]);
        }
        primary = back;
      }

      // the bystander was never touched: same image ids (a resync re-creates the copy under a new id), same data
      expect({ a: await imageId('site-a', bystander[0]), b: await imageId('site-b', bystander[0]) }).toEqual(byIds);
      expect(await roles(bystander)).toEqual({ [bystander[0]]: 'site-a' });
      expect(await hashImage('site-b', bystander[0])).toBe(byHash);
    });
  } finally {
    await dropImages([...names, ...bystander]);
  }
}, 1_500_000);
