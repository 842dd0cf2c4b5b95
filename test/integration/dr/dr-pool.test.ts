/**
 * failover() / failback() pool-wide (no `images` list) on a pool of this
 * file's own, mirrored between the lab's two sites with a bootstrap token made
 * and imported through the SDK: every mirrored image of that pool is handled
 * and nothing else; a failback never resyncs a stale copy it was not given by
 * name. The pools are deleted at the end.
 */
import { createHash, randomBytes } from 'node:crypto';

import { Cluster, type DrReport, failback, failover, type Image, type Pool } from '../../../lib';
import { getLab } from '../../setup/lab-env';
import { waitFor } from '../../setup/wait';

type Lab = Awaited<ReturnType<typeof getLab>>;
type Site = 'site-a' | 'site-b';

let lab: Lab;
const clusters: Partial<Record<Site, Cluster>> = {};
const pools: Partial<Record<Site, Pool>> = {};
const poolName = `dr-pool-${process.pid}`;
const MiB = 1024 * 1024;
const pool = (site: Site): Pool => pools[site] as Pool;
const images = { journal: 'vol-j', snapshot: 'vol-s' } as const;
const names = [images.journal, images.snapshot].sort();

async function withImage<T>(site: Site, name: string, fn: (image: Image) => Promise<T>, readOnly = false): Promise<T> {
  const image = await pool(site).openImage(name, { readOnly });
  try {
    return await fn(image);
  } finally {
    await image.close();
  }
}

async function sha(site: Site, name: string): Promise<string> {
  return withImage(
    site,
    name,
    async (image) => createHash('sha256').update(await image.read(0, Number((await image.stat()).size))).digest('hex'),
    true,
  );
}

async function state(site: Site, name: string): Promise<string> {
  return withImage(site, name, async (image) => ((await image.mirror.info()).primary ? 'primary' : 'non-primary'), true);
}

function summary(report: DrReport): Array<{ image: string; outcome: string; after: object; steps: string[] }> {
  return report.images.map((i) => ({ image: i.image, outcome: i.outcome, after: i.after, steps: i.actions.map((a) => `${a.step}@${a.site}`) }));
}

beforeAll(async () => {
  lab = await getLab();
  for (const site of ['site-a', 'site-b'] as const) {
    clusters[site] = await Cluster.connect({ confPath: lab.site(site).confPath });
    await clusters[site].createPool(poolName);
    pools[site] = await clusters[site].openPool(poolName);
    await pool(site).init();
    await pool(site).mirror.enable('image', { siteName: site });
  }
  await pool('site-b').mirror.importBootstrapToken(await pool('site-a').mirror.createBootstrapToken(), { direction: 'rx-tx' });
  for (const [mode, name] of Object.entries(images) as Array<['journal' | 'snapshot', string]>) {
    await pool('site-a').createImage(name, 4 * MiB, { features: ['layering', 'exclusive-lock'] });
    await withImage('site-a', name, async (image) => {
      await image.mirror.enable(mode);
      await image.write(randomBytes(MiB), MiB);
    });
  }
  // rbd-mirror notices a new pool on its next refresh (up to 30 s), then bootstraps the images.
  for (const name of names) {
    await waitFor(`${poolName}/${name} replaying on site-b`, async () => {
      const s = await withImage('site-b', name, (image) => image.mirror.status(), true);
      return s.local?.up && s.local.state === 'replaying' ? true : undefined;
    }, 180_000);
  }
  // An image of the pool that is not mirrored: pool-wide calls must leave it out.
  await pool('site-a').createImage('plain', MiB);
}, 300_000);

afterAll(async () => {
  for (const site of ['site-a', 'site-b'] as const) {
    await pools[site]?.close();
    await clusters[site]?.deletePool(poolName).catch(() => undefined);
    await clusters[site]?.close();
  }
}, 120_000);

test('pool-wide planned failover handles exactly the mirrored images of the pool', async () => {
  await withImage('site-a', images.snapshot, (image) => image.write(randomBytes(4096), 0));
  const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await sha('site-a', n)] as const)));
  const report = await failover({ mode: 'planned', from: pool('site-a'), to: pool('site-b'), timeoutMs: 180_000 });
  expect(summary(report).map((i) => ({ image: i.image, outcome: i.outcome, after: i.after }))).toEqual(
    names.map((image) => ({ image, outcome: 'done', after: { from: 'non-primary', to: 'primary' } })),
  );
  expect(report.ok).toBe(true);
  for (const n of names) expect(await sha('site-b', n)).toBe(before[n]);
  expect(await withImage('site-a', 'plain', async (image) => (await image.mirror.info()).state)).toBe('disabled');
}, 300_000);

test('pool-wide forced failover back to site-a while site-b is up: both copies primary', async () => {
  const report = await failover({ mode: 'forced', from: pool('site-b'), to: pool('site-a'), timeoutMs: 180_000 });
  // Journal mode also waits for rbd-mirror on site-a to stop replaying the copy (and promotes again if it took it back).
  const journalExtra = (step: string): boolean => ['await-promotion@site-a', 'force-promote-again@site-a'].includes(step);
  expect(summary(report).map((i) => [i.image, i.outcome, i.image === images.journal ? i.steps.filter((x) => !journalExtra(x)) : i.steps])).toEqual(
    names.map((n) => [n, 'done', ['force-promote@site-a']]),
  );
  for (const n of names) {
    expect(await state('site-a', n)).toBe('primary');
    expect(await state('site-b', n)).toBe('primary');
    expect(report.images.find((i) => i.image === n)?.hint).toMatch(/split brain/);
  }
}, 300_000);

test('pool-wide failback resyncs nothing it was not given by name: the stale copies stay as they are, reported', async () => {
  const onA = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await sha('site-a', n)] as const)));
  // site-a holds the primary role now; "fail back" to site-b, whose copies are the stale primaries.
  const report = await failback({ from: pool('site-a'), to: pool('site-b'), timeoutMs: 60_000 });
  expect(report.ok).toBe(false);
  for (const r of report.images) {
    expect(r).toMatchObject({ outcome: 'failed', actions: [], after: { from: 'primary', to: 'primary' } });
    expect(r.hint).toMatch(/only done for images named/);
  }
  expect(report.images.map((r) => r.image)).toEqual(names);
  for (const n of names) {
    expect(await state('site-b', n)).toBe('primary');
    expect(await sha('site-a', n)).toBe(onA[n]);
  }
}, 300_000);
