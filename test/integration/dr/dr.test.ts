/**
 * failover() / failback() on the live two-site lab, for named images (the lab
 * pool is shared with other suites, so nothing here acts pool-wide; the
 * pool-wide and site-loss cases are in dr-site-loss.test.ts on a lab of its
 * own). Data is checked by sha256 through the SDK on both sites and, at the
 * end of each workflow, by `rbd export` (the oracle).
 *
 * The tests of each describe block run in order and build on each other.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import {
  Cluster,
  type DrEvent,
  type DrImageReport,
  type DrReport,
  failback,
  failover,
  type Image,
  MirrorStateError,
  type Pool,
} from '../../../lib';
import { getLab } from '../../setup/lab-env';
import { waitFor } from '../../setup/wait';

type Lab = Awaited<ReturnType<typeof getLab>>;
type Site = 'site-a' | 'site-b';

let lab: Lab;
const clusters: Partial<Record<Site, Cluster>> = {};
const pools: Partial<Record<Site, Pool>> = {};
const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const made: string[] = [];
const pool = (site: Site): Pool => pools[site] as Pool;

beforeAll(async () => {
  lab = await getLab();
  for (const site of ['site-a', 'site-b'] as const) {
    clusters[site] = await Cluster.connect({ confPath: lab.site(site).confPath });
    pools[site] = await clusters[site].openPool(lab.pool);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(made.map((name) => cleanup(name)));
  for (const site of ['site-b', 'site-a'] as const) await clusters[site]?.close();
}, 300_000);

// ---------------------------------------------------------------- helpers

async function withImage<T>(site: Site, name: string, fn: (image: Image) => Promise<T>, readOnly = false): Promise<T> {
  const image = await pool(site).openImage(name, { readOnly });
  try {
    return await fn(image);
  } finally {
    await image.close();
  }
}

async function sha(site: Site, name: string): Promise<string> {
  return withImage(site, name, async (image) => {
    const h = createHash('sha256');
    const size = Number((await image.stat()).size);
    for (let off = 0; off < size; off += MiB) h.update(await image.read(off, Math.min(MiB, size - off)));
    return h.digest('hex');
  }, true); // read-only: librbd refuses I/O (EROFS) on a non-primary journal-mode image opened read-write
}

/** The oracle: `rbd export` to a file, hashed. */
async function exportSha(site: Site, name: string): Promise<string> {
  const file = path.join(tmpdir(), `xrbd-dr-${process.pid}-${++seq}`);
  try {
    await lab.rbd(site, ['export', '--no-progress', `${lab.pool}/${name}`, file], { timeoutMs: 60_000 });
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } finally {
    await rm(file, { force: true });
  }
}

/** Write `blocks` random 64 KiB blocks at random offsets on the primary copy on `site`. */
async function scribble(site: Site, name: string, blocks = 16): Promise<void> {
  await withImage(site, name, async (image) => {
    for (let i = 0; i < blocks; i++) {
      const off = Math.floor(Math.random() * (SIZE / 65536)) * 65536;
      await image.write(randomBytes(65536), off);
    }
    await image.flush();
  });
}

async function state(site: Site, name: string): Promise<string> {
  return withImage(site, name, async (image) => {
    const i = await image.mirror.info();
    return i.state === 'disabled' ? 'not-mirrored' : i.primary ? 'primary' : 'non-primary';
  });
}

/** A mirrored image made on site-a, with data, replicated (and data-identical) on site-b. */
async function mirrored(mode: 'journal' | 'snapshot'): Promise<string> {
  const name = uniq(`dr-${mode[0]}`);
  made.push(name);
  await pool('site-a').createImage(name, SIZE, { features: ['layering', 'exclusive-lock'] });
  await withImage('site-a', name, (image) => image.mirror.enable(mode));
  await scribble('site-a', name);
  await waitFor(`${name} on site-b`, async () => ((await state('site-b', name)) === 'non-primary' ? true : undefined));
  await replicated('site-a', name);
  return name;
}

/** Wait until the copy on the other site has everything written on `primary` (SDK wait), then compare checksums. */
async function replicated(primary: Site, name: string): Promise<string> {
  const other: Site = primary === 'site-a' ? 'site-b' : 'site-a';
  await withImage(primary, name, async (image) => {
    if ((await image.mirror.mode()) === 'snapshot') await image.mirror.createSnapshot();
  });
  return waitFor(`${name}: same data on both sites`, async () => {
    const [p, o] = await Promise.all([sha(primary, name), sha(other, name).catch(() => 'absent')]);
    return p === o ? p : undefined;
  }, 180_000);
}

function only(report: DrReport, name: string): DrImageReport {
  const r = report.images.find((i) => i.image === name);
  if (!r) throw new Error(`no report for ${name} in ${JSON.stringify(report)}`);
  return r;
}

/** Fails showing the whole report when it is not ok. */
function expectOk(report: DrReport): void {
  expect({ ok: report.ok, images: brief(report) }).toEqual({ ok: true, images: brief(report) });
}

function brief(report: DrReport): string {
  return JSON.stringify(
    report.images.map((i) => ({ image: i.image, outcome: i.outcome, before: i.before, after: i.after, steps: i.actions.map((a) => `${a.step}@${a.site}`), error: i.error?.message, hint: i.hint })),
  );
}

async function cleanup(name: string): Promise<void> {
  for (const site of ['site-a', 'site-b'] as const) {
    const s = await state(site, name).catch(() => 'missing');
    if (s !== 'primary') continue;
    await lab.rbd(site, ['mirror', 'image', 'disable', '--force', `${lab.pool}/${name}`]).catch(() => undefined);
    await lab.rbd(site, ['rm', '--no-progress', `${lab.pool}/${name}`]).catch(() => undefined);
  }
  for (const site of ['site-a', 'site-b'] as const) {
    await waitFor(`${name} gone from ${site}`, async () => ((await pool(site).listImages()).includes(name) ? undefined : true), 60_000).catch(
      async () => {
        await lab.rbd(site, ['mirror', 'image', 'disable', '--force', `${lab.pool}/${name}`]).catch(() => undefined);
        await lab.rbd(site, ['rm', '--no-progress', `${lab.pool}/${name}`]).catch(() => undefined);
      },
    );
  }
}

// ---------------------------------------------------------------- argument checks

describe('arguments', () => {
  test('bad options are TypeErrors/RangeErrors before anything is touched', async () => {
    await expect(failover(undefined as never)).rejects.toThrow(TypeError);
    await expect(failover({ mode: 'sideways' as never, from: pool('site-a'), to: pool('site-b') })).rejects.toThrow(/mode/);
    await expect(failover({ mode: 'planned', to: pool('site-b') })).rejects.toThrow(/needs from/);
    await expect(failover({ mode: 'planned', from: pool('site-a'), to: {} as never })).rejects.toThrow(TypeError);
    await expect(failover({ mode: 'planned', from: pool('site-a'), to: pool('site-a') })).rejects.toThrow(RangeError);
    await expect(failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: 'x' as never })).rejects.toThrow(/array/);
    await expect(failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: ['a\0b'] })).rejects.toThrow(RangeError);
    await expect(failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), timeoutMs: -1 })).rejects.toThrow(RangeError);
    await expect(failback({ from: pool('site-a'), to: null as never })).rejects.toThrow(TypeError);
    // Two handles on the same cluster are not two sites: a failback would demote and resync the only copy.
    await using again = await Cluster.connect({ confPath: lab.site('site-a').confPath });
    await using samePool = await again.openPool(lab.pool);
    await expect(failover({ mode: 'planned', from: pool('site-a'), to: samePool })).rejects.toThrow(/same cluster/);
    await expect(failback({ from: samePool, to: pool('site-a') })).rejects.toThrow(RangeError);
  });

  test('an image that does not exist is reported failed (missing), the call itself resolves', async () => {
    const report = await failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: ['no-such-dr-image'] });
    expect(report.ok).toBe(false);
    expect(only(report, 'no-such-dr-image')).toMatchObject({ outcome: 'failed', before: { from: 'missing', to: 'missing' } });
    expect(only(report, 'no-such-dr-image').error).toBeInstanceOf(MirrorStateError);
  });
});

// ---------------------------------------------------------------- planned failover and failback

describe('planned failover to site-b and failback to site-a (journal + snapshot)', () => {
  let j: string;
  let s: string;
  let hashes: Record<string, string>;

  beforeAll(async () => {
    [j, s] = await Promise.all([mirrored('journal'), mirrored('snapshot')]);
  }, 300_000);

  test('failover planned: demote on site-a, promote on site-b, data identical, report says what was done', async () => {
    // Last writes right before the failover: they must be on site-b afterwards.
    await Promise.all([scribble('site-a', j, 8), scribble('site-a', s, 8)]);
    hashes = { [j]: await sha('site-a', j), [s]: await sha('site-a', s) };
    const events: DrEvent[] = [];
    const report = await failover({
      mode: 'planned',
      from: pool('site-a'),
      to: pool('site-b'),
      images: [j, s],
      timeoutMs: 180_000,
      onEvent: (e) => events.push(e),
    });
    expectOk(report);
    expect(report).toMatchObject({ operation: 'failover', mode: 'planned', from: 'site-a', to: 'site-b' });
    for (const name of [j, s]) {
      const r = only(report, name);
      expect(r).toMatchObject({
        outcome: 'done',
        before: { from: 'primary', to: 'non-primary' },
        after: { from: 'non-primary', to: 'primary' },
      });
      expect(r.actions.map((a) => `${a.step}@${a.site}`)).toEqual(
        expect.arrayContaining(['demote@site-a', 'promote@site-b']),
      );
      expect(await sha('site-b', name)).toBe(hashes[name]);
      expect(await exportSha('site-b', name)).toBe(hashes[name]);
    }
    expect(events.filter((e) => e.phase === 'done').map((e) => e.image).sort()).toEqual([j, s].sort());
    expect(await state('site-a', j)).toBe('non-primary');
    expect(await state('site-b', j)).toBe('primary');
  }, 300_000);

  test('the same call again converges: outcome already, nothing done', async () => {
    const report = await failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: [j, s] });
    expectOk(report);
    for (const name of [j, s]) expect(only(report, name)).toMatchObject({ outcome: 'already', actions: [] });
  }, 300_000);

  test('writes on site-b replicate back to site-a', async () => {
    await Promise.all([scribble('site-b', j), scribble('site-b', s)]);
    for (const name of [j, s]) hashes[name] = await replicated('site-b', name);
  }, 300_000);

  test('failback (no stale copies): the primary role moves back to site-a with the data written on site-b', async () => {
    const report = await failback({ from: pool('site-b'), to: pool('site-a'), images: [j, s], timeoutMs: 180_000 });
    expectOk(report);
    for (const name of [j, s]) {
      const r = only(report, name);
      expect(r).toMatchObject({ outcome: 'done', after: { from: 'non-primary', to: 'primary' } });
      expect(r.actions.map((a) => a.step)).not.toContain('resync');
      expect(await sha('site-a', name)).toBe(hashes[name]);
    }
  }, 300_000);
});

// ---------------------------------------------------------------- forced failover, split brain, failback with resync

describe('forced failover with site-a still up (split brain), then failback with resync', () => {
  let j: string;
  let s: string;
  let onB: Record<string, string>;

  beforeAll(async () => {
    [j, s] = await Promise.all([mirrored('journal'), mirrored('snapshot')]);
  }, 300_000);

  test('failover forced without from: promoted with force on site-b, the report warns about a split brain', async () => {
    const report = await failover({ mode: 'forced', from: null, to: pool('site-b'), images: [j, s], timeoutMs: 180_000 });
    expectOk(report);
    expect(report).toMatchObject({ mode: 'forced', from: null, to: 'site-b' });
    for (const name of [j, s]) {
      const r = only(report, name);
      expect(r).toMatchObject({ outcome: 'done', before: { from: 'unknown', to: 'non-primary' }, after: { to: 'primary' } });
      // Journal mode waits for rbd-mirror on site-b to stop replaying the copy (and promotes again if it took it back).
      const steps = r.actions.map((a) => a.step);
      expect(steps[0]).toBe('force-promote');
      if (name === s) expect(steps).toEqual(['force-promote']);
      else expect(steps.filter((x) => !['await-promotion', 'force-promote-again'].includes(x))).toEqual(['force-promote']);
      expect(r.hint).toMatch(/split brain/);
      // Both copies primary now.
      expect(await state('site-a', name)).toBe('primary');
      expect(await state('site-b', name)).toBe('primary');
    }
  }, 300_000);

  test('a planned failover refuses to touch a split brain and says how to repair it', async () => {
    const report = await failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: [j] });
    expect(report.ok).toBe(false);
    const r = only(report, j);
    expect(r).toMatchObject({ outcome: 'failed', actions: [], before: { from: 'primary', to: 'primary' } });
    expect(r.hint).toMatch(/failback/);
  }, 300_000);

  test('site-b diverges: writes there only', async () => {
    await Promise.all([scribble('site-b', j), scribble('site-b', s)]);
    onB = { [j]: await sha('site-b', j), [s]: await sha('site-b', s) };
    expect(await sha('site-a', j)).not.toBe(onB[j]);
  }, 300_000);

  // (The snapshot-mode resync is in the DR demo, test/faults/dr-site-loss.test.ts: ~60 s more here.)
  test('failback naming one image resyncs only that one; the other stays as it was', async () => {
    const report = await failback({ from: pool('site-b'), to: pool('site-a'), images: [j], timeoutMs: 240_000 });
    expectOk(report);
    const r = only(report, j);
    const steps = r.actions.map((a) => `${a.step}@${a.site}`);
    // The stale primary on site-a is demoted and resynced from site-b before site-b gives up the role.
    for (const [first, then] of [
      ['demote@site-a', 'resync@site-a'],
      ['resync@site-a', 'await-resync@site-a'],
      ['await-resync@site-a', 'demote@site-b'],
      ['demote@site-b', 'promote@site-a'],
    ]) {
      expect(steps.indexOf(first)).toBeGreaterThanOrEqual(0);
      expect(steps.indexOf(first)).toBeLessThan(steps.indexOf(then));
    }
    expect(r.actions.map((a) => a.step)).toEqual(expect.arrayContaining(['demote', 'resync', 'promote']));
    expect(r).toMatchObject({ outcome: 'done', before: { from: 'primary', to: 'primary' }, after: { from: 'non-primary', to: 'primary' } });
    // site-a got site-b's data (the divergent writes on site-b won), and is primary again.
    expect(await sha('site-a', j)).toBe(onB[j]);
    expect(await exportSha('site-a', j)).toBe(onB[j]);
    // s was not named: untouched, still primary on both sites.
    expect(await state('site-a', s)).toBe('primary');
    expect(await state('site-b', s)).toBe('primary');
  }, 300_000);
});

// ---------------------------------------------------------------- demote/promote cycle, then failover

describe('a demote/promote cycle on site-a just before a planned failover (journal mode)', () => {
  let j: string;

  beforeAll(async () => {
    j = await mirrored('journal');
  }, 300_000);

  test('site-b gets the writes made after the cycle: the failover waits for the journal, not just for an orphan tag', async () => {
    // After demote + promote on site-a, site-b's copy is owned by the "orphan" tag of that demotion until it
    // replays the promotion: librbd would accept a non-forced promote there before site-b has the new writes.
    await withImage('site-a', j, (image) => image.mirror.demote());
    await withImage('site-a', j, (image) => image.mirror.promote());
    await scribble('site-a', j, 16);
    const expected = await sha('site-a', j);
    const report = await failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: [j], timeoutMs: 240_000 });
    expectOk(report);
    expect(only(report, j).actions.map((a) => a.step)).toContain('await-demotion');
    expect(await sha('site-b', j)).toBe(expected);
    // And the old primary replays from the new one (no split brain).
    await waitFor(`${j} replaying on site-a`, async () => {
      const st = await withImage('site-a', j, (image) => image.mirror.status(), true);
      if (/split-brain/.test(st.local?.description ?? '')) throw new Error(`split brain: ${st.local?.description}`);
      return st.local?.state === 'replaying' ? true : undefined;
    }, 180_000);
  }, 300_000);
});

// ---------------------------------------------------------------- interrupted failover

describe('a planned failover interrupted by kill -9, run again, converges', () => {
  const names: string[] = [];
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    names.push(...(await Promise.all([mirrored('journal'), mirrored('snapshot')])));
  }, 300_000);

  afterAll(() => {
    child?.kill('SIGKILL');
  });

  test('kill the failing-over process after its first demote; a second run finishes the job with no data lost', async () => {
    await Promise.all(names.map((n) => scribble('site-a', n, 8)));
    const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await sha('site-a', n)] as const)));
    const script = `
      const { Cluster, failover } = require(${JSON.stringify(path.resolve(__dirname, '../../../dist'))});
      (async () => {
        const [a, b] = await Promise.all([${JSON.stringify(lab.site('site-a').confPath)}, ${JSON.stringify(lab.site('site-b').confPath)}]
          .map((confPath) => Cluster.connect({ confPath })));
        const [pa, pb] = await Promise.all([a.openPool(${JSON.stringify(lab.pool)}), b.openPool(${JSON.stringify(lab.pool)})]);
        await failover({ mode: 'planned', from: pa, to: pb, images: ${JSON.stringify(names)}, concurrency: 1,
          onEvent: (e) => console.log(JSON.stringify(e)) });
        console.log('"finished"');
      })();
    `;
    child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const killedAfter = await new Promise<DrEvent>((resolve, reject) => {
      const rl = readline.createInterface({ input: child!.stdout! });
      rl.on('line', (line) => {
        const e = JSON.parse(line) as DrEvent | string;
        if (typeof e === 'object' && e.phase === 'demote') {
          child!.kill('SIGKILL');
          resolve(e);
        }
        if (e === 'finished') reject(new Error('the failover finished before it could be interrupted'));
      });
      child!.on('exit', (code, sig) => {
        if (sig !== 'SIGKILL') reject(new Error(`child exited early: ${code} ${sig}`));
      });
    });
    expect(killedAfter.image).toBe(names[0]);
    await new Promise((r) => child!.once('exit', r));
    // Interrupted: the first image is somewhere between demoted-on-a and promoted-on-b, the second untouched.
    expect(await state('site-a', names[1])).toBe('primary');

    const report = await failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: names, timeoutMs: 180_000 });
    expectOk(report);
    for (const n of names) {
      expect(only(report, n).after).toEqual({ from: 'non-primary', to: 'primary' });
      expect(await sha('site-b', n)).toBe(before[n]);
    }
    // And once more: everything already done.
    const again = await failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), images: names });
    expect(again.images.map((i) => i.outcome)).toEqual(names.map(() => 'already'));
  }, 300_000);
});
