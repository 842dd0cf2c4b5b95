/**
 * pool.config, image.config, pool.metadata and pool.trash's purge schedules
 * against the live lab, with `rbd config pool|image ...`, python-rbd
 * (pool_metadata_*) and `rbd trash purge schedule ...` as the oracles. Config
 * overrides are set on images and a namespace of this file's own; the pool-level
 * overrides it sets are removed again at once.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster, InvalidArgument, NotFound, type Pool } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

const run = promisify(execFile);
let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let nsPool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const ns = `cfg-${process.pid}`;
const MiB = 1024 * 1024;

async function py(code: string, ...args: string[]): Promise<unknown> {
  const prelude = [
    'import json, sys, rados, rbd',
    `c = rados.Rados(conffile=${JSON.stringify(lab.site('site-a').confPath)}); c.connect()`,
    `io = c.open_ioctx(${JSON.stringify(lab.pool)})`,
  ].join('\n');
  const { stdout } = await run('/usr/bin/python3', ['-c', `${prelude}\n${code}`, ...args], { timeout: 60_000 });
  return JSON.parse(stdout) as unknown;
}

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
  await pool.namespaces.create(ns);
  nsPool = await cluster.openPool(lab.pool, { namespace: ns });
});

afterAll(async () => {
  await nsPool?.trash.removePurgeSchedule().catch(() => undefined);
  await nsPool?.mirror.removeSnapshotSchedule().catch(() => undefined);
  await nsPool?.mirror.setMode('disabled').catch(() => undefined);
  for (const name of (await nsPool?.listImages().catch(() => [] as string[])) ?? []) await nsPool.removeImage(name).catch(() => undefined);
  await nsPool?.close();
  await pool?.namespaces.remove(ns).catch(() => undefined);
  await cluster?.close();
});

describe('pool.config (rbd config pool ...)', () => {
  test('set, get, list and remove agree with the CLI', async () => {
    await pool.config.set('rbd_readahead_max_bytes', 1048576);
    try {
      expect(await pool.config.get('rbd_readahead_max_bytes')).toBe('1048576');
      expect((await lab.rbd('site-a', ['config', 'pool', 'get', lab.pool, 'rbd_readahead_max_bytes'])).trim()).toBe('1048576');
      const cli = JSON.parse(await lab.rbd('site-a', ['config', 'pool', 'list', lab.pool, '--format', 'json'])) as Array<{
        name: string;
        value: string;
        source: string;
      }>;
      const ours = await pool.config.list();
      expect(ours.map((o) => o.name)).toEqual(cli.map((o) => o.name).sort());
      expect(ours.find((o) => o.name === 'rbd_readahead_max_bytes')).toEqual({ name: 'rbd_readahead_max_bytes', value: '1048576', source: 'pool' });
      expect(cli.find((o) => o.name === 'rbd_readahead_max_bytes')).toMatchObject({ value: '1048576', source: 'pool' });
      expect(ours.find((o) => o.name === 'rbd_cache')?.source).toBe('config');
    } finally {
      await pool.config.remove('rbd_readahead_max_bytes');
    }
    expect(await pool.config.get('rbd_readahead_max_bytes')).toBeUndefined();
    await expect(lab.rbd('site-a', ['config', 'pool', 'get', lab.pool, 'rbd_readahead_max_bytes'])).rejects.toThrow(/not set/);
    await expect(pool.config.remove('rbd_readahead_max_bytes')).rejects.toBeInstanceOf(NotFound);
  });

  test('an unknown librbd option is refused by librbd, a non-rbd_ name before any call', async () => {
    const err = await pool.config.set('rbd_no_such_option_xyz', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect(err).toMatchObject({ code: 'EINVAL', op: 'config.set', nativeOp: 'rbd_pool_metadata_set', pool: lab.pool });
    await expect(pool.config.set('osd_pool_default_size', '3')).rejects.toBeInstanceOf(RangeError);
    await expect(pool.config.get('osd_pool_default_size')).rejects.toBeInstanceOf(RangeError);
  });

  test('the same option set by the CLI is read back', async () => {
    await lab.rbd('site-a', ['config', 'pool', 'set', lab.pool, 'rbd_cache_max_dirty_age', '2']);
    try {
      expect(await pool.config.get('rbd_cache_max_dirty_age')).toBe('2');
    } finally {
      await lab.rbd('site-a', ['config', 'pool', 'remove', lab.pool, 'rbd_cache_max_dirty_age']);
    }
    expect(await pool.config.get('rbd_cache_max_dirty_age')).toBeUndefined();
  });
});

describe('image.config (rbd config image ...)', () => {
  test('an image override: set, get and list (on a handle opened afterwards) agree with the CLI; remove', async () => {
    const name = uniq('cfg-img');
    await nsPool.createImage(name, 4 * MiB);
    const spec = `${lab.pool}/${ns}/${name}`;
    {
      await using img = await nsPool.openImage(name);
      await img.config.set('rbd_cache', false);
      expect(await img.config.get('rbd_cache')).toBe('false');
      expect(await img.config.get('rbd_readahead_trigger_requests')).toBeUndefined();
    }
    expect((await lab.rbd('site-a', ['config', 'image', 'get', spec, 'rbd_cache'])).trim()).toBe('false');
    {
      await using img = await nsPool.openImage(name);
      const ours = await img.config.list();
      const cli = JSON.parse(await lab.rbd('site-a', ['config', 'image', 'list', spec, '--format', 'json'])) as Array<{
        name: string;
        value: string;
        source: string;
      }>;
      // the same options; the overridden ones (not the two clients' own config) with the same values
      expect(ours.map((o) => o.name)).toEqual(cli.map((o) => o.name).sort());
      const overridden = (rows: Array<{ name: string; value: string; source: string }>) =>
        rows.filter((o) => o.source !== 'config').map((o) => [o.name, o.value, o.source]).sort();
      expect(overridden(ours)).toEqual(overridden(cli));
      expect(ours.find((o) => o.name === 'rbd_cache')).toEqual({ name: 'rbd_cache', value: 'false', source: 'image' });
      await img.config.remove('rbd_cache');
      expect(await img.config.get('rbd_cache')).toBeUndefined();
      await expect(img.config.remove('rbd_cache')).rejects.toBeInstanceOf(NotFound);
      await expect(img.config.set('rbd_no_such_option_xyz', 1)).rejects.toBeInstanceOf(InvalidArgument);
    }
    await expect(lab.rbd('site-a', ['config', 'image', 'get', spec, 'rbd_cache'])).rejects.toThrow(/not set/);
  });
});

describe('pool.metadata (rbd_pool_metadata_*)', () => {
  test('set, get, list and remove agree with python-rbd', async () => {
    const key = `xrbd-test-${process.pid}`;
    await pool.metadata.set(key, 'v1');
    try {
      expect(await pool.metadata.get(key)).toBe('v1');
      expect(await py('print(json.dumps(rbd.RBD().pool_metadata_get(io, sys.argv[1])))', key)).toBe('v1');
      await py('rbd.RBD().pool_metadata_set(io, sys.argv[1], sys.argv[2]); print("null")', key, 'v2');
      expect(await pool.metadata.get(key)).toBe('v2');
      const ours = await pool.metadata.list();
      const theirs = Object.fromEntries((await py('print(json.dumps(list(rbd.RBD().pool_metadata_list(io))))')) as Array<[string, string]>);
      expect(ours).toEqual(theirs);
      expect(ours[key]).toBe('v2');
    } finally {
      await pool.metadata.remove(key);
    }
    expect(await pool.metadata.get(key)).toBeUndefined();
    await expect(pool.metadata.remove(key)).rejects.toBeInstanceOf(NotFound);
    expect(Object.keys(await pool.metadata.list())).not.toContain(key);
  });

  test('more keys than one page are all listed', async () => {
    const keys = Array.from({ length: 150 }, (_, i) => `xrbd-page-${process.pid}-${String(i).padStart(3, '0')}`);
    try {
      for (const k of keys) await pool.metadata.set(k, k.repeat(3));
      const all = await pool.metadata.list();
      for (const k of keys) expect(all[k]).toBe(k.repeat(3));
    } finally {
      for (const k of keys) await pool.metadata.remove(k).catch(() => undefined);
    }
  });
});

describe('pool.trash purge schedules, next to mirror snapshot schedules (rbd trash purge schedule ...)', () => {
  const cliLs = async (): Promise<unknown> => {
    const out = await lab.rbd('site-a', ['trash', 'purge', 'schedule', 'ls', '-p', lab.pool, '--namespace', ns, '--format', 'json']).catch(() => '[]');
    return JSON.parse(out) as unknown;
  };

  test('add, list, status and remove agree with the CLI; the mirror snapshot schedules of the level are separate', async () => {
    expect(await nsPool.trash.listPurgeSchedules()).toEqual([]);
    await nsPool.trash.addPurgeSchedule('1d');
    await nsPool.trash.addPurgeSchedule('12h', { startTime: '14:00' });
    await nsPool.mirror.setMode('image'); // a mirror snapshot schedule needs a mirrored namespace
    await nsPool.mirror.addSnapshotSchedule('2h');
    const levels = await nsPool.trash.listPurgeSchedules();
    expect(levels).toHaveLength(1);
    expect(levels[0]).toMatchObject({ pool: lab.pool, namespace: ns });
    expect(levels[0].schedules.map((s) => s.interval)).toEqual(['12h', '1d']);
    expect(levels[0].schedules.find((s) => s.interval === '12h')?.startTime).toMatch(/14:00/);
    const cli = (await cliLs()) as Array<{ interval: string; start_time: string }>;
    expect(cli.map((s) => s.interval).sort()).toEqual(['12h', '1d']);
    // side by side: each kind lists only its own
    const mirror = await nsPool.mirror.listSnapshotSchedules();
    expect(mirror.flatMap((l) => l.schedules.map((s) => s.interval))).toEqual(['2h']);
    // status: the manager schedules the namespace (it may take a moment to pick the new schedule up)
    const cliStatus = async (): Promise<Array<{ pool?: string; pool_name?: string; namespace: string }>> =>
      JSON.parse(
        await lab.rbd('site-a', ['trash', 'purge', 'schedule', 'status', '-p', lab.pool, '--namespace', ns, '--format', 'json']),
      ) as Array<{ pool?: string; pool_name?: string; namespace: string }>;
    let status = await nsPool.trash.purgeScheduleStatus();
    for (let i = 0; i < 60 && status.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      status = await nsPool.trash.purgeScheduleStatus();
    }
    expect(status).toHaveLength(1);
    expect(status[0]).toMatchObject({ pool: lab.pool, namespace: ns });
    expect(status[0].scheduleTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const theirs = await cliStatus();
    expect(theirs.map((s) => [s.pool ?? s.pool_name, s.namespace])).toEqual([[lab.pool, ns]]);

    await nsPool.trash.removePurgeSchedule('12h', { startTime: '14:00' });
    expect((await nsPool.trash.listPurgeSchedules())[0].schedules.map((s) => s.interval)).toEqual(['1d']);
    await nsPool.trash.removePurgeSchedule();
    expect(await nsPool.trash.listPurgeSchedules()).toEqual([]);
    expect(await cliLs()).toEqual([]);
    // the mirror snapshot schedule is still there
    expect((await nsPool.mirror.listSnapshotSchedules()).flatMap((l) => l.schedules.map((s) => s.interval))).toEqual(['2h']);
    await nsPool.mirror.removeSnapshotSchedule();
    await nsPool.mirror.setMode('disabled');
  });

  test('bad intervals are refused before the manager is asked; a closed pool rejects with HandleClosed', async () => {
    await expect(nsPool.trash.addPurgeSchedule('0h')).rejects.toBeInstanceOf(RangeError);
    await expect(nsPool.trash.addPurgeSchedule('soon')).rejects.toBeInstanceOf(RangeError);
    await expect(nsPool.trash.removePurgeSchedule(undefined, { startTime: '14:00' })).rejects.toBeInstanceOf(TypeError);
    const p = await cluster.openPool(lab.pool, { namespace: ns });
    await p.close();
    await expect(p.trash.listPurgeSchedules()).rejects.toMatchObject({ code: 'EBADF' });
  });
});
