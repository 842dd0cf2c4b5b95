/**
 * image.mirror.waitForReplication / waitForState and pool.mirror.watch /
 * image.mirror.watch on the live two-site lab. Data is written on site-a with
 * the SDK; after the wait, site-b (a fresh read-only handle) has the same bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Cluster, type Image, InvalidArgument, type MirrorStatusChange, type Pool, RbdError, Timeout } from '../../../lib';
import { getLab } from '../../setup/lab-env';
import { waitFor } from '../../setup/wait';

type Lab = Awaited<ReturnType<typeof getLab>>;
type Site = 'site-a' | 'site-b';

let lab: Lab;
const clusters: Partial<Record<Site, Cluster>> = {};
const pools: Partial<Record<Site, Pool>> = {};
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
const made: string[] = [];
const pool = (site: Site): Pool => pools[site] as Pool;
const spec = (name: string) => `${lab.pool}/${name}`;

beforeAll(async () => {
  lab = await getLab();
  for (const site of ['site-a', 'site-b'] as const) {
    clusters[site] = await Cluster.connect({ confPath: lab.site(site).confPath });
    pools[site] = await clusters[site].openPool(lab.pool);
  }
}, 120_000);

afterAll(async () => {
  for (const name of made) await cleanup(name);
  for (const site of ['site-b', 'site-a'] as const) await clusters[site]?.close();
}, 240_000);

async function openWhenThere(site: Site, name: string): Promise<Image> {
  const image = await waitFor(`${name} on ${site}`, () => pool(site).openImage(name));
  await waitFor(`${name} on ${site} enabled`, async () => ((await image.mirror.info()).state === 'enabled' ? true : undefined));
  return image;
}

async function cleanup(name: string): Promise<void> {
  await lab.rbd('site-a', ['mirror', 'image', 'disable', '--force', spec(name)]).catch(() => undefined);
  await lab.rbd('site-a', ['rm', '--no-progress', spec(name)]).catch(() => undefined);
  await waitFor(
    `${name} gone from site-b`,
    async () => ((await lab.rbd('site-b', ['ls', lab.pool])).split('\n').includes(name) ? undefined : true),
    60_000,
  ).catch(async () => {
    await lab.rbd('site-b', ['mirror', 'image', 'disable', '--force', spec(name)]).catch(() => undefined);
    await lab.rbd('site-b', ['rm', '--no-progress', spec(name)]).catch(() => undefined);
  });
}

/** sha256 of the whole image, read through a fresh read-only handle on `site`. */
async function hash(site: Site, name: string): Promise<string> {
  const img = await pool(site).openImage(name, { readOnly: true });
  try {
    return createHash('sha256').update(await img.read(0, SIZE)).digest('hex');
  } finally {
    await img.close();
  }
}

/** 1 MiB of random 4 KiB blocks at random places. */
async function writeRandom(image: Image): Promise<void> {
  for (let i = 0; i < 256; i++) {
    const block = Math.floor(Math.random() * (SIZE / 4096));
    await image.write(randomBytes(4096), block * 4096);
  }
  await image.flush();
}

async function mirrored(mode: 'journal' | 'snapshot'): Promise<{ name: string; a: Image; b: Image }> {
  const name = uniq(`mwait-${mode[0]}`);
  made.push(name);
  await pool('site-a').createImage(name, SIZE, { features: ['layering', 'exclusive-lock'] });
  const a = await pool('site-a').openImage(name);
  await a.mirror.enable(mode);
  const b = await openWhenThere('site-b', name);
  return { name, a, b };
}

describe.each(['journal', 'snapshot'] as const)('%s mode: waitForReplication', (mode) => {
  let name: string;
  let a: Image;
  let b: Image;

  beforeAll(async () => {
    ({ name, a, b } = await mirrored(mode));
  }, 120_000);

  afterAll(async () => {
    await a?.close().catch(() => undefined);
    await b?.close().catch(() => undefined);
  });

  // Runs first, on a fresh image: rbd-mirror's 30 s flush task is not armed yet. Before the wait flushed,
  // journal mode never resolved here (the peer's commit position stayed short of the target).
  test('covers writes the caller did not flush: after the wait, site-b has them', async () => {
    await a.write(randomBytes(256 * 1024), 1 * MiB);
    // Journal mode: well under rbd-mirror's 30 s flush task, which the old wait depended on at best.
    await a.mirror.waitForReplication({ timeoutMs: mode === 'journal' ? 15_000 : 110_000, ...(mode === 'snapshot' ? { peer: b } : {}) });
    expect(await hash('site-b', name)).toBe(await hash('site-a', name));
  }, 150_000);

  test('after the wait, site-b has the data written before it', async () => {
    await writeRandom(a);
    const t0 = Date.now();
    const r = await a.mirror.waitForReplication({ timeoutMs: 110_000, peer: b, pollMs: 500 });
    const took = Date.now() - t0;
    expect(await hash('site-b', name)).toBe(await hash('site-a', name));
    expect(r.mode).toBe(mode);
    if (mode === 'snapshot') {
      // Read on the peer copy: it holds a complete non-primary copy of the snapshot the wait took.
      expect(r).toMatchObject({ source: 'peer-snapshot', target: null });
      const copies = (await b.snapshots.list()).filter((s) => s.mirror?.state === 'non-primary' && s.mirror.complete);
      expect(copies.map((s) => s.mirror?.primarySnapId)).toContain(r.snapshotId);
    } else {
      expect(r).toMatchObject({ source: 'journal', snapshotId: null });
      expect(r.target).not.toBeNull();
    }
    // Second round: another batch of writes, another wait.
    await writeRandom(a);
    const r2 = await a.mirror.waitForReplication({ timeoutMs: 110_000, pollMs: 500 });
    expect(await hash('site-b', name)).toBe(await hash('site-a', name));
    expect(r2.source).toBe(mode === 'snapshot' ? 'status' : 'journal');
    expect(took).toBeGreaterThanOrEqual(0);
  }, 240_000);

  test('on the non-primary copy: InvalidArgument that says so', async () => {
    const err = await b.mirror.waitForReplication({ timeoutMs: 1000 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as Error).message).toMatch(/not primary/);
  });

  test('timeoutMs 1 on a busy image: Timeout (ETIMEDOUT) carrying lastStatus', async () => {
    await writeRandom(a);
    const err = await a.mirror.waitForReplication({ timeoutMs: 1 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Timeout);
    expect(err).toBeInstanceOf(RbdError);
    expect((err as Timeout).code).toBe('ETIMEDOUT');
    expect((err as Error).message).toMatch(/timed out after 1 ms waiting for the peers to/);
    const last = (err as Timeout & { lastStatus: unknown }).lastStatus as { name: string; info: { primary: boolean } };
    expect(last).toMatchObject({ name, info: { primary: true } });
  }, 60_000);

  test('abort: rejects promptly with an AbortError', async () => {
    const ac = new AbortController();
    const p = a.mirror.waitForReplication({ signal: ac.signal, timeoutMs: 100_000 });
    setTimeout(() => ac.abort(), 300);
    const t0 = Date.now();
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'AbortError' });
    expect(Date.now() - t0).toBeLessThan(2_000);
    // Already aborted: rejects without waiting.
    await expect(a.mirror.waitForReplication({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  }, 30_000);

  test('waitForState: site-b replaying, and the primary stopped', async () => {
    const sb = await b.mirror.waitForState({ local: 'replaying', up: true }, { timeoutMs: 90_000 });
    expect(sb.local?.state).toBe('replaying');
    const sa = await a.mirror.waitForState((s) => s.local?.state === 'stopped', { timeoutMs: 90_000 });
    expect(sa.info.primary).toBe(true);
    await expect(a.mirror.waitForState({ local: 'error' }, { timeoutMs: 300, pollMs: 100 })).rejects.toBeInstanceOf(Timeout);
  }, 200_000);
});

describe('watch', () => {
  test('pool.mirror.watch emits a change when mirroring is enabled; no poll once the consumer leaves', async () => {
    const name = uniq('mwait-w');
    made.push(name);
    await pool('site-a').createImage(name, SIZE, { features: ['layering', 'exclusive-lock'] });
    const w = pool('site-a').mirror.watch({ intervalMs: 300 });
    const iw = (await pool('site-a').openImage(name)).mirror.watch({ intervalMs: 300 });
    expect(w.polling).toBe(false);
    const seen: MirrorStatusChange[] = [];
    const onChange = (c: MirrorStatusChange) => seen.push(c);
    w.on('change', onChange);
    expect(w.polling).toBe(true);
    // The first poll is the baseline.
    await new Promise((r) => setTimeout(r, 1500));
    const it = iw[Symbol.asyncIterator]();
    const firstForImage = it.next();
    await pool('site-a').openImage(name).then(async (img) => {
      await img.mirror.enable('snapshot');
      await img.close();
    });
    const c = await waitFor(`a change for ${name}`, async () => seen.find((x) => x.image === name));
    expect(c.previous).toBeNull();
    expect(c.current).toMatchObject({ name, info: { state: 'enabled', primary: true } });
    const viaImage = await firstForImage;
    expect(viaImage.done).toBe(false);
    expect(viaImage.value).toMatchObject({ image: name });
    await it.return?.();
    expect(w.polling).toBe(true); // the pool listener is still there
    w.off('change', onChange);
    expect(w.polling).toBe(false);
    expect(iw.polling).toBe(false);
    // No further changes: disabling mirroring is not reported to nobody.
    const count = seen.length;
    await lab.rbd('site-a', ['mirror', 'image', 'disable', '--force', spec(name)]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen.length).toBe(count);
    expect(w.polling).toBe(false);
    // for await over the pool watcher, leaving the loop ends the subscription. (Other suites run alongside on the
    // same pool: changes of their images come first at times.)
    const it2 = (async () => {
      for await (const x of w) if (x.image === name) return x;
      return null;
    })();
    expect(w.polling).toBe(true);
    await lab.rbd('site-a', ['mirror', 'image', 'enable', spec(name), 'snapshot']);
    const got = await it2;
    expect(got).toMatchObject({ image: name });
    expect(w.polling).toBe(false);
  }, 180_000);

  test('closing the pool stops the poll and ends the watchers', async () => {
    const own = await (clusters['site-a'] as Cluster).openPool(lab.pool);
    const w = own.mirror.watch({ intervalMs: 200 });
    const ended = new Promise<void>((r) => w.once('end', () => r()));
    const warnings: unknown[] = [];
    w.on('warning', (e: unknown) => warnings.push(e));
    const iteration = (async () => {
      const got: MirrorStatusChange[] = [];
      for await (const c of w) got.push(c);
      return got;
    })();
    w.on('change', () => undefined);
    expect(w.polling).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    await own.close();
    await ended;
    await expect(iteration).resolves.toEqual(expect.any(Array));
    expect(w.polling).toBe(false);
    expect(w.closed).toBe(true);
    expect(warnings).toEqual([]);
    // Watching a closed pool is refused like any other call on it.
    expect(() => own.mirror.watch({ intervalMs: 200 })).toThrow(expect.objectContaining({ code: 'EBADF' }));
  }, 30_000);
});
