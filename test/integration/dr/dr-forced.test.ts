/**
 * A forced failover of a journal-mode image that lands while rbd-mirror on
 * the target site is still bootstrapping the copy (issue 12). On librbd /
 * rbd-mirror 20.2 such a promote was overrun: rbd-mirror allocated a
 * remote-owned journal tag on top of the promotion and went on replaying, so
 * the copy read non-primary again seconds after failover() reported it done.
 * failover() must not report done until rbd-mirror on the target has stopped
 * replaying the copy (promoting again with force when it was overrun).
 *
 * Each case: a journal image made on site-a and written to continuously; as
 * soon as its copy appears on site-b (before rbd-mirror replays it), a forced
 * failover to site-b. Then site-b must stay primary once its rbd-mirror
 * reports the copy stopped, and take writes.
 */
import { randomBytes } from 'node:crypto';

import { Cluster, type DrReport, failover, type Image, type Pool } from '../../../lib';
import { getLab } from '../../setup/lab-env';
import { waitFor } from '../../setup/wait';

type Lab = Awaited<ReturnType<typeof getLab>>;
type Site = 'site-a' | 'site-b';

let lab: Lab;
const clusters: Partial<Record<Site, Cluster>> = {};
const pools: Partial<Record<Site, Pool>> = {};
const MiB = 1024 * 1024;
const SIZE = 16 * MiB;
let seq = 0;
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
  for (const name of made) {
    for (const site of ['site-a', 'site-b'] as const) {
      await lab.rbd(site, ['mirror', 'image', 'disable', '--force', `${lab.pool}/${name}`]).catch(() => undefined);
      await lab.rbd(site, ['rm', '--no-progress', `${lab.pool}/${name}`]).catch(() => undefined);
    }
  }
  for (const site of ['site-b', 'site-a'] as const) await clusters[site]?.close();
}, 300_000);

async function withImage<T>(site: Site, name: string, fn: (image: Image) => Promise<T>): Promise<T> {
  const image = await pool(site).openImage(name);
  try {
    return await fn(image);
  } finally {
    await image.close();
  }
}

async function state(site: Site, name: string): Promise<string> {
  return withImage(site, name, async (image) => {
    const i = await image.mirror.info();
    return i.state === 'disabled' ? 'not-mirrored' : i.primary ? 'primary' : 'non-primary';
  });
}

/** site-b's own status of its copy, as "up+state: description". */
async function localStatus(name: string): Promise<string> {
  const l = (await withImage('site-b', name, (image) => image.mirror.status())).local;
  return l ? `${l.up ? 'up' : 'down'}+${l.state}: ${l.description}` : 'none';
}

function brief(report: DrReport): string {
  return JSON.stringify(
    report.images.map((i) => ({ image: i.image, outcome: i.outcome, after: i.after, steps: i.actions.map((a) => `${a.step}@${a.site}`), error: i.error?.message })),
  );
}

describe('forced failover of a journal image while rbd-mirror on site-b is still bootstrapping its copy', () => {
  test.each([1, 2, 3])('case %i: site-b stays primary once its rbd-mirror has stopped replaying, and takes writes', async () => {
    const name = `dr-ff-${process.pid}-${++seq}`;
    made.push(name);
    await pool('site-a').createImage(name, SIZE, { features: ['layering', 'exclusive-lock'] });
    await withImage('site-a', name, (image) => image.mirror.enable('journal'));

    // Keep site-a's journal busy (as `rbd bench` does in the CLI reproduction) until the failover has run.
    let writing = true;
    const writer = withImage('site-a', name, async (image) => {
      while (writing) {
        for (let i = 0; i < 8; i++) await image.write(randomBytes(4096), Math.floor(Math.random() * (SIZE / 4096)) * 4096);
        await image.flush();
      }
    });
    try {
      // As soon as the copy exists on site-b: rbd-mirror there is still bootstrapping it.
      const appeared = Date.now() + 90_000;
      while ((await state('site-b', name).catch(() => 'missing')) !== 'non-primary') {
        if (Date.now() > appeared) throw new Error(`${name} did not appear on site-b`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const report = await failover({ mode: 'forced', from: null, to: pool('site-b'), images: [name], timeoutMs: 180_000, pollMs: 500 });
      expect({ ok: report.ok, images: brief(report) }).toEqual({ ok: true, images: brief(report) });
      const r = report.images[0];
      expect(r).toMatchObject({ outcome: 'done', before: { from: 'unknown', to: 'non-primary' }, after: { to: 'primary' } });
      expect(r.actions[0].step).toBe('force-promote');
      process.stderr.write(`[dr-forced] ${name}: ${r.actions.map((x) => `${x.step} ${x.ms} ms`).join(', ')}\n`);
    } finally {
      writing = false;
      await writer.catch(() => undefined);
    }

    // rbd-mirror on site-b has stopped replaying the copy, and the copy is still primary.
    const seen = await waitFor(
      `${name}: site-b's rbd-mirror reports the copy stopped`,
      async () => {
        const s = await localStatus(name);
        if (s.startsWith('up+stopped')) return s;
        throw new Error(`the copy is ${await state('site-b', name)}, its status ${s}`); // waitFor's "last"
      },
      90_000,
    );
    expect({ state: await state('site-b', name), status: seen }).toEqual({ state: 'primary', status: seen });
    // ...and stays so.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      expect({ i, state: await state('site-b', name), status: await localStatus(name) }).toMatchObject({ i, state: 'primary' });
    }
    // Writes on site-b are taken and read back.
    const data = randomBytes(65536);
    await withImage('site-b', name, async (image) => {
      await image.write(data, 3 * MiB);
      await image.flush();
    });
    expect(Buffer.compare(await withImage('site-b', name, (image) => image.read(3 * MiB, data.length)), data)).toBe(0);
    expect(await state('site-b', name)).toBe('primary');
  }, 400_000);
});
