/**
 * A partitioned site (issue 16, item 2), on a two-site lab of this suite's own (.lab-partition, memstore,
 * base port XRBD_LAB_BASE_PORT + 200 — dr-faults' numbers: the faults project runs one suite at a time, and in
 * the netns form the ports are bound in the lab's own namespaces, not on 127.0.0.1).
 *
 * The lab puts each site in a network namespace of its own (Lab.start({ netns: true }), lib/lab/netns.ts):
 * veth pairs it creates, addresses 10.x.y.0/24 from the base port, traffic only to those and loopback. A cut is
 * a silent drop of every packet on a link (the daemons keep running, nothing is told). Two cuts:
 *
 * - 'all': site-a cut from everybody — the clients in the root namespace (this process, the orchestrator of
 *   the failover) and site-b (its rbd-mirror): a real partition of the primary site, which the orchestrator
 *   meets as an unreachable `from`;
 * - 'peer': only the site-to-site link (what rbd-mirror uses); the orchestrator still reaches both sites.
 *
 * For each cut, a planned failover site-a → site-b is cut at each of its steps: before the demote (at the
 * 'demote' event, before the request goes out), between demote and promote (at 'await-demotion': the demote
 * acknowledged, the wait not begun) and during the wait (0.4 s into 'await-demotion'), then healed. While the
 * call runs, a writer per site keeps writing (distinct blocks, flushed) to each image. Asserted each time: the
 * call settles within its bound with every image in the report, each in a known state ('failed' ones with the
 * error why), the roles read after the heal agree with the report; no image is primary on both sites unless
 * the report says split brain, and no two sites both took writes unless it does; rerunning the failover
 * converges (every image primary on site-b); sha256 of each image equal on both sites; every write
 * acknowledged on either site is found on the new primary, and writes acknowledged there afterwards reach site-a.
 *
 * Where network namespaces cannot be had (not root, `ip netns add` fails) or XRBD_PARTITION_FROZEN=1, the
 * suite says so loudly and runs the frozen-site form of the same steps instead (for 'all': SIGSTOP of every
 * daemon of site-a as the cut, thawSite() as the heal; for 'peer': SIGSTOP of both rbd-mirror daemons, the
 * site-to-site traffic, SIGCONT as the heal) — never a silent skip.
 */
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';

import { Cluster, type DrEvent, type DrReport, failover, type Pool } from '../../lib';
import { Lab, findLabDaemons, netnsUnavailable, run, type LabDaemon } from '../../lib/lab';
import { BLOCK, SIZE, type Site, bounded, eventLog, imageHelpers, pretty, scenario, secs, sleep } from './dr-helpers';
import { holdLabDir, type HeldLabDir } from './lab-dir-lock';
import type { FaultCounts } from './tally';
import { LAB_BASE_PORT } from '../setup/ports';

const ROOT = path.resolve(__dirname, '..', '..');
const LAB_DIR = path.join(ROOT, '.lab-partition');
const BASE_PORT = LAB_BASE_PORT + 200;
const OP_TIMEOUT_MS = 5000;
/** The cut call's own bound: a wait that cannot end while the link is cut gives up after this. */
const CUT_CALL_MS = 40_000;
const DR_TIMEOUT_MS = 180_000;
const LOCK_WAIT_MS = 240_000;
const KNOWN = ['primary', 'non-primary', 'not-mirrored', 'missing', 'unreachable', 'unknown'];

/** The netns cuts, and their frozen forms: every daemon of site-a stopped; both rbd-mirror daemons stopped. */
type Cut = 'all' | 'peer' | 'frozen' | 'frozen-peer';
type Step = 'before-demote' | 'between' | 'during-wait';
const STEPS: Step[] = ['before-demote', 'between', 'during-wait'];

let lab: Lab | undefined;
let form: 'netns' | 'frozen' = 'netns';
let whyFrozen: string | null = null;
const clusters: Partial<Record<Site, Cluster>> = {};
const pools: Partial<Record<Site, Pool>> = {};
const figures: string[] = [];
let held: HeldLabDir | undefined;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const pool = (site: Site): Pool => pools[site] as Pool;
const theLab = (): Lab => {
  if (!lab) throw new Error(`the partition lab in ${LAB_DIR} did not start (see beforeAll)`);
  return lab;
};
const figure = (line: string) => {
  figures.push(line);
  if (process.env.XRBD_LAB_VERBOSE === '1') process.stderr.write(`[dr-partition] ${line}\n`);
};
const { withImage, hashImage, isPrimary, ackedWrite, converged, mirroredImages, dropImages } = imageHelpers(pool, theLab, uniq);

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('no SDK build in dist: run npm run build:ts');
  whyFrozen = process.env.XRBD_PARTITION_FROZEN === '1' ? 'XRBD_PARTITION_FROZEN=1' : await netnsUnavailable();
  if (whyFrozen) {
    form = 'frozen';
    const banner = [
      '!'.repeat(100),
      `!!! dr-partition: NO NETWORK NAMESPACES HERE (${whyFrozen}).`,
      '!!! The partitioned-site scenarios do NOT run; the frozen-site form of the same steps runs instead',
      "!!! ('all': SIGSTOP of every daemon of site-a as the cut, thawSite() as the heal; 'peer': both rbd-mirror daemons stopped).",
      '!'.repeat(100),
    ].join('\n');
    process.stderr.write(`${banner}\n`);
    console.warn(banner);
  }
  held = await holdLabDir(LAB_DIR, 'dr-partition', LOCK_WAIT_MS);
  const t0 = Date.now();
  lab = await Lab.start({
    dir: LAB_DIR,
    basePort: BASE_PORT,
    netns: form === 'netns',
    timeoutMs: 150_000,
    log: (l) => {
      if (process.env.XRBD_LAB_VERBOSE === '1') process.stderr.write(`[dr-partition] ${l}\n`);
    },
  });
  figure(`lab (${form === 'netns' ? `netns, ${lab.network?.subnet}` : 'frozen-site form, 127.0.0.1'}, mons on ${BASE_PORT}/${BASE_PORT + 100}) started in ${secs(Date.now() - t0)}`);
  for (const site of ['site-a', 'site-b'] as const) {
    clusters[site] = await Cluster.connect({ confPath: lab.site(site).confPath, timeoutMs: 20_000, operationTimeoutMs: OP_TIMEOUT_MS });
    pools[site] = await clusters[site].openPool(lab.pool);
  }
}, LOCK_WAIT_MS + 200_000);

afterAll(async () => {
  for (const site of ['site-b', 'site-a'] as const) {
    await bounded(`closing the ${site} cluster`, 30_000, clusters[site]?.close() ?? Promise.resolve()).catch(() => undefined);
  }
  if (!held) return;
  process.stderr.write(figures.map((f) => `[dr-partition] ${f}\n`).join(''));
  try {
    const running = lab ?? (await Lab.open(LAB_DIR));
    if (running) {
      await running.heal().catch(() => undefined);
      if (form === 'frozen') await running.thawSite('site-a').catch(() => undefined);
      await running.stop({ purge: true });
      // the lab's namespaces and veths are gone with it
      if (running.network) expect(await leftovers(running.network.basePort)).toEqual([]);
    }
    expect((await findLabDaemons(LAB_DIR)).map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);
  } finally {
    await held.release();
    await fsp.rmdir(LAB_DIR).catch(() => undefined);
  }
}, 180_000);

/** Namespaces and links named for `basePort` still present. */
async function leftovers(basePort: number): Promise<string[]> {
  const ns = (await run('ip', ['netns', 'list'], { timeoutMs: 10_000 })).stdout.split('\n').map((l) => l.split(' ')[0]);
  const links = (await run('ip', ['-o', 'link', 'show'], { timeoutMs: 10_000 })).stdout.split('\n').map((l) => (l.split(': ')[1] ?? '').split('@')[0]);
  return [...ns, ...links].filter((n) => n.startsWith(`xrbd${basePort}-`) || new RegExp(`^xr${basePort}[rsp]\\d$`).test(n));
}

// ---------------------------------------------------------------- the writers

interface Ack {
  site: Site;
  image: string;
  block: number;
  data: Buffer;
  at: number;
}

/**
 * One writer per site and image: open, write a block of its own (never written before), flush, close, again,
 * until stopped. Only writes whose flush resolved count (`acks`); a refused or timed-out one does not.
 */
function writers(names: string[]): { acks: Ack[]; refused: Record<Site, number>; stop: () => Promise<void> } {
  const acks: Ack[] = [];
  const refused: Record<Site, number> = { 'site-a': 0, 'site-b': 0 };
  // blocks of its own per site (after the 2 MiB the image was made with): site-a 128..319, site-b 320..511
  const next = new Map(names.flatMap((n) => [[`${n} site-a`, SIZE / BLOCK / 4], [`${n} site-b`, (5 * SIZE) / BLOCK / 8]] as const));
  const end = { 'site-a': (5 * SIZE) / BLOCK / 8, 'site-b': SIZE / BLOCK };
  let stopped = false;
  const loops = names.flatMap((image) =>
    (['site-a', 'site-b'] as const).map(async (site) => {
      while (!stopped) {
        const block = next.get(`${image} ${site}`) as number;
        if (block >= end[site]) return;
        next.set(`${image} ${site}`, block + 1);
        try {
          const data = await ackedWrite(site, image, block);
          acks.push({ site, image, block, data, at: Date.now() });
          await sleep(300);
        } catch {
          refused[site]++;
          await sleep(1000);
        }
      }
    }),
  );
  return {
    acks,
    refused,
    stop: async () => {
      stopped = true;
      await bounded('the writers', 4 * OP_TIMEOUT_MS + 10_000, Promise.all(loops));
    },
  };
}

// ---------------------------------------------------------------- cut and heal

/** What cuts site-a, synchronously (called from the DR call's event handler, before its next request). */
async function cutter(cut: Cut): Promise<() => void> {
  if (cut === 'all' || cut === 'peer') return () => theLab().cutSite('site-a', cut);
  // freezeSite()'s order, by pid (read now: the cut itself must not wait)
  const order: Array<[Site, LabDaemon]> =
    cut === 'frozen' ? (['rbd-mirror', 'osd', 'mgr', 'mon'] as const).map((d) => ['site-a', d]) : [['site-a', 'rbd-mirror'], ['site-b', 'rbd-mirror']];
  const pids = await Promise.all(order.map(async ([s, d]) => (await theLab().daemonPid(s, d)) ?? Promise.reject(new Error(`${d} of ${s} is not running`))));
  return () => {
    for (const p of pids) process.kill(p, 'SIGSTOP');
  };
}

async function heal(cut: Cut): Promise<string> {
  if (cut === 'all' || cut === 'peer') {
    await theLab().heal();
    return 'healed';
  }
  if (cut === 'frozen-peer') {
    for (const s of ['site-a', 'site-b'] as const) await theLab().killDaemon(s, 'rbd-mirror', 'SIGCONT');
    return 'both rbd-mirror daemons continued';
  }
  const t = await theLab().thawSite('site-a', { timeoutMs: 90_000 });
  return `thawed (laggy PGs: ${t.laggy.join(', ') || 'none'}${t.repeered ? ', re-peered' : ''}${t.markedDown ? ', OSD marked down once' : ''}; mgr serving after ${t.mgrMs} ms${t.mgrRestarted ? ', restarted' : ''})`;
}

/** Until this process and site-b's rbd-mirror reach site-a again (bounded). */
async function reachable(names: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      for (const n of names) await isPrimary('site-a', n);
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`site-a does not answer 120 s after the heal: ${String(e)}`);
      await sleep(1000);
    }
  }
  await theLab().waitForMirrorDaemons({ timeoutMs: 120_000 });
}

// ---------------------------------------------------------------- the scenarios

/** The event at which `step` cuts (the journal image's: the snapshot image has no 'await-demotion'), and after how long. */
const TRIGGER: Record<Step, { phase: DrEvent['phase']; delayMs: number }> = {
  'before-demote': { phase: 'demote', delayMs: 0 },
  between: { phase: 'await-demotion', delayMs: 0 },
  'during-wait': { phase: 'await-demotion', delayMs: 400 },
};

async function cutDuringFailover(cut: Cut, step: Step, counts: FaultCounts): Promise<void> {
  const names = await mirroredImages(`part-${cut[0]}${STEPS.indexOf(step)}`, ['journal', 'snapshot'], counts);
  let healed = true;
  try {
    const journalImage = names[0];
    const doCut = await cutter(cut);
    const log = eventLog();
    let cutAt = -1; // index in the event log at which the cut landed
    let timer: NodeJS.Timeout | undefined;
    const fire = () => {
      if (cutAt >= 0) return;
      doCut();
      healed = false;
      cutAt = log.events.length;
      counts.faults++;
    };
    const w = writers(names);
    await sleep(1000); // acknowledged writes on site-a before the call
    const t0 = Date.now();
    const call = failover({
      mode: 'planned',
      from: pool('site-a'),
      to: pool('site-b'),
      images: names,
      timeoutMs: CUT_CALL_MS,
      pollMs: 500,
      onEvent: (e) => {
        log.onEvent(e);
        const t = TRIGGER[step];
        if (cutAt >= 0 || timer || e.image !== journalImage || e.phase !== t.phase) return;
        if (t.delayMs === 0) fire();
        else timer = setTimeout(fire, t.delayMs);
      },
    });
    let r: DrReport;
    try {
      r = await bounded('the failover with the cut', CUT_CALL_MS + 4 * OP_TIMEOUT_MS + 60_000, call, counts);
    } finally {
      clearTimeout(timer);
    }
    const landed = cutAt < 0 ? 'never (the call ended first)' : `after ${log.events.slice(0, cutAt).filter((e) => e.image === journalImage).map((e) => e.phase).join(' > ')}`;
    figure(`${cut}/${step}: cut landed ${landed}; the call settled in ${secs(Date.now() - t0)}: ${pretty(r)}`);
    expect(cutAt).toBeGreaterThanOrEqual(0);

    // every image reported, each in a known state; a failed one says why
    expect(r.images.map((x) => x.image).sort()).toEqual([...names].sort());
    for (const x of r.images) {
      expect(['done', 'already', 'failed']).toContain(x.outcome);
      expect(KNOWN).toContain(x.after.from);
      expect(KNOWN).toContain(x.after.to);
      if (x.outcome === 'failed') expect(x.error?.message).toEqual(expect.any(String));
      // done: promoted on site-b; site-a's copy read again at the end may be out of reach by then (cut after its demote)
      else expect({ to: x.after.to, fromKnown: ['non-primary', 'unreachable'].includes(x.after.from) }).toEqual({ to: 'primary', fromKnown: true });
    }
    expect(r.ok).toBe(r.images.every((x) => x.outcome !== 'failed'));
    const splitBrainSaid = (image: string) => /split brain/i.test(`${r.images.find((x) => x.image === image)?.hint ?? ''} ${r.images.find((x) => x.image === image)?.error?.message ?? ''}`);

    await sleep(2000); // the writers meet the cut too
    figure(`${cut}/${step}: ${await heal(cut)} after ${secs(Date.now() - t0)}`);
    healed = true;
    await reachable(names);
    await w.stop();

    // the roles after the heal: as reported (where the report could read them), never two primaries unsaid
    for (const x of r.images) {
      const [a, b] = [await isPrimary('site-a', x.image), await isPrimary('site-b', x.image)];
      if (x.after.from === 'primary' || x.after.from === 'non-primary') expect({ image: x.image, a }).toEqual({ image: x.image, a: x.after.from === 'primary' });
      if (x.after.to === 'primary' || x.after.to === 'non-primary') expect({ image: x.image, b }).toEqual({ image: x.image, b: x.after.to === 'primary' });
      if (a && b && !splitBrainSaid(x.image)) throw new Error(`${x.image}: primary on both sites and the report does not say split brain: ${pretty(r)}`);
    }
    // no two sites took writes at once: every site-a acknowledgement before every site-b one, unless split brain said
    for (const n of names) {
      const lastA = Math.max(0, ...w.acks.filter((k) => k.image === n && k.site === 'site-a').map((k) => k.at));
      const firstB = Math.min(Infinity, ...w.acks.filter((k) => k.image === n && k.site === 'site-b').map((k) => k.at));
      if (lastA > firstB && !splitBrainSaid(n)) throw new Error(`${n}: both sites acknowledged writes while both were primary, the report does not say split brain`);
    }
    figure(`${cut}/${step}: writes acknowledged on site-a ${w.acks.filter((k) => k.site === 'site-a').length}, on site-b ${w.acks.filter((k) => k.site === 'site-b').length}; refused or timed out ${w.refused['site-a']} / ${w.refused['site-b']}`);

    // the same call again converges
    let rerun = r;
    for (let i = 1; i <= 2; i++) {
      // An rbd-mirror that died meanwhile (a Ceph daemon crash: 20.2's aborted once in librbd::Journal::close after
      // its SIGCONT in the frozen-peer form; with-cores prints its core) is started again, as an operator would:
      // without a replayer no failover can finish. Said loudly, never silently.
      for (const s of ['site-a', 'site-b'] as const) {
        if ((await theLab().daemonPid(s, 'rbd-mirror')) !== null) continue;
        process.stderr.write(`!!! dr-partition: ${cut}/${step}: the rbd-mirror of ${s} is gone (a daemon crash, not this process): started again\n`);
        figure(`${cut}/${step}: rbd-mirror of ${s} had died before rerun ${i}: started again`);
        await theLab().startDaemon(s, 'rbd-mirror');
      }
      rerun = await bounded('the rerun', DR_TIMEOUT_MS + 60_000, failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: names, timeoutMs: DR_TIMEOUT_MS, pollMs: 500 }), counts);
      figure(`${cut}/${step}: rerun ${i} (${secs(rerun.ms)}): ${pretty(rerun)}`);
      if (rerun.ok) break;
    }
    expect(rerun.ok).toBe(true);
    for (const x of rerun.images) expect({ image: x.image, after: x.after }).toEqual({ image: x.image, after: { from: 'non-primary', to: 'primary' } });

    // every acknowledged write is on the new primary; the copies agree; new writes there reach site-a
    for (const k of w.acks) {
      const got = Buffer.from((await withImage('site-b', k.image, (i) => i.read(k.block * BLOCK, BLOCK), true)) as Buffer);
      if (!got.equals(k.data)) counts.mismatches++;
      expect({ image: k.image, site: k.site, block: k.block, kept: got.equals(k.data) }).toEqual({ image: k.image, site: k.site, block: k.block, kept: true });
    }
    const after = await Promise.all(names.map(async (n) => ({ n, data: await ackedWrite('site-b', n, 1) })));
    await converged('site-b', names, counts);
    for (const { n, data } of after) {
      const got = Buffer.from((await withImage('site-a', n, (i) => i.read(BLOCK, BLOCK), true)) as Buffer);
      if (!got.equals(data)) counts.mismatches++;
      expect(got.equals(data)).toBe(true);
      const [a, b] = [await hashImage('site-a', n), await hashImage('site-b', n)];
      if (a !== b) counts.mismatches++;
      expect(a).toBe(b);
    }
  } finally {
    if (!healed) await heal(cut).catch(() => undefined);
    await dropImages(names);
  }
}

describe.each(['all', 'peer'] as const)('a planned failover site-a → site-b, the %s cut', (kind) => {
  test.each(STEPS)(`cut %s, healed: every image in a reported state, the rerun converges, sha256 equal, every acknowledged write kept, no unsaid split brain`, async (step) => {
    const cut: Cut = form === 'netns' ? kind : kind === 'all' ? 'frozen' : 'frozen-peer';
    if (form === 'frozen') process.stderr.write(`!!! dr-partition: ${kind} cut at ${step}: the FROZEN form (${cut}) runs, not a partition: ${whyFrozen}\n`);
    await scenario('dr-partition', form === 'netns' ? `netns-${cut}` : `frozen-fallback-${kind}`, (counts) => cutDuringFailover(cut, step, counts));
  }, 900_000);
});
