/**
 * Pool-mode mirroring: every image with the journaling feature is mirrored
 * without an explicit enable. Runs on a pool of its own on both sites, peered
 * through a bootstrap token, so the shared pool's settings stay untouched.
 * Also: journal settings given at image creation, as `rbd journal info` reports them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Cluster, type Pool } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';
import { waitFor } from '../../setup/wait';

let lab: Lab;
let a: Cluster;
let b: Cluster;
let poolA: Pool;
let poolB: Pool;
const POOL = `pm-${process.pid}`;
const sha = (x: Uint8Array) => createHash('sha256').update(x).digest('hex');

beforeAll(async () => {
  lab = await getLab();
  a = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  b = await Cluster.connect({ confPath: lab.site('site-b').confPath });
  for (const c of [a, b]) await c.createPool(POOL);
  poolA = await a.openPool(POOL);
  poolB = await b.openPool(POOL);
  for (const p of [poolA, poolB]) await p.init();
  await poolA.mirror.enable('pool');
  await poolB.mirror.enable('pool');
  await poolB.mirror.importBootstrapToken(await poolA.mirror.createBootstrapToken(), { direction: 'rx-tx' });
}, 120_000);

afterAll(async () => {
  await a.close();
  await b.close();
  for (const c of ['site-a', 'site-b']) {
    await lab.ceph(c, ['osd', 'pool', 'rm', POOL, POOL, '--yes-i-really-really-mean-it']);
  }
}, 120_000);

test('in pool mode an image created with journaling is mirrored with no explicit enable, data included', async () => {
  const name = 'journaled';
  await poolA.createImage(name, 4 * 1024 * 1024, { features: ['layering', 'exclusive-lock', 'journaling'] });
  const data = randomBytes(256 * 1024);
  {
    await using image = await poolA.openImage(name);
    const info = await image.mirror.info();
    expect(info.state).toBe('enabled');
    expect(info.primary).toBe(true);
    expect(await image.mirror.mode()).toBe('journal');
    await image.write(data, 1024 * 1024);
    await image.flush();
  }
  const copy = await waitFor('the copy on site-b holds the data', async () => {
    await using remote = await poolB.openImage(name, { readOnly: true });
    const info = await remote.mirror.info();
    const bytes = await remote.read(1024 * 1024, data.length);
    return info.primary === false && sha(bytes) === sha(data) ? info : undefined;
  }, 90_000);
  expect(copy.state).toBe('enabled');
  const cli = JSON.parse(await lab.rbd('site-b', ['info', '--format', 'json', `${POOL}/${name}`])) as {
    mirroring: { state: string; primary: boolean; mode: string };
  };
  expect(cli.mirroring).toMatchObject({ state: 'enabled', primary: false, mode: 'journal' });
});

test('in pool mode an image without journaling is not mirrored', async () => {
  const name = 'plain';
  await poolA.createImage(name, 1024 * 1024, { features: ['layering', 'exclusive-lock'] });
  await using image = await poolA.openImage(name);
  expect((await image.mirror.info()).state).toBe('disabled');
});

test('journal settings given at creation are what `rbd journal info` reports', async () => {
  const name = 'journal-opts';
  await poolA.createImage(name, 1024 * 1024, {
    features: ['layering', 'exclusive-lock', 'journaling'],
    journal: { objectSize: 1024 * 1024, splayWidth: 2 },
  });
  const info = JSON.parse(await lab.rbd('site-a', ['journal', 'info', '--format', 'json', '--image', name, '--pool', POOL])) as {
    order: number;
    splay_width: number;
  };
  expect(info.order).toBe(20);
  expect(info.splay_width).toBe(2);
  await using image = await poolA.openImage(name);
  const js = await image.mirror.journalStatus();
  expect(js.order).toBe(20);
  expect(js.splayWidth).toBe(2);
  await expect(poolA.createImage('bad', 1024, { journal: { objectSize: 3000 } })).rejects.toThrow(RangeError);
  await expect(poolA.createImage('bad', 1024, { journal: { splayWidth: 0 } })).rejects.toThrow(RangeError);
});
