/**
 * pool.mirror against the live two-site lab, checked against `rbd mirror pool
 * info|status`, `rbd mirror pool peer ...` and `rbd mirror snapshot schedule
 * ...`. Read-only checks use the lab's pool; everything that changes pool-level
 * state runs on pools of this file's own, made on both sites and deleted at the end.
 */
import { CapabilityUnavailable, Cluster, InvalidArgument, MgrModuleUnavailable, NotFound, type Pool, RbdError, capabilities } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';
import { waitFor } from '../../setup/wait';

let lab: Lab;
let a: Cluster;
let b: Cluster;
let labPoolA: Pool;
const tag = `${process.pid}-${Date.now() % 100000}`;
/** A pool mirrored between the sites by bootstrap tokens. */
const PAIR = `mpool-pair-${tag}`;
/** A pool on site-a only, for mode and peer changes. */
const SOLO = `mpool-solo-${tag}`;
/** A pool on site-b only, for a failing token import. */
const LONE = `mpool-lone-${tag}`;
const poolsA: string[] = [];
const poolsB: string[] = [];
let pairA: Pool;
let pairB: Pool;
let solo: Pool;
let token: string;
const IMAGE = 'mirrored-1';
const IMAGE2 = 'mirrored-2';

interface CliPeer {
  uuid: string;
  direction: string;
  site_name: string;
  mirror_uuid: string;
  client_name: string;
  mon_host?: string;
  key?: string;
}
interface CliInfo {
  mode: string;
  site_name?: string;
  peers?: CliPeer[];
}
interface CliSite {
  site_name: string;
  mirror_uuids: string;
  state: string;
  description: string;
}
interface CliStatus {
  summary: { health: string; daemon_health: string; image_health: string; states: Record<string, number> };
  daemons?: Array<{ service_id: string; instance_id: string; client_id: string; leader: boolean; health: string }>;
  images?: Array<{ name: string; global_id: string; state: string; description: string; peer_sites?: CliSite[] }>;
}

async function cli<T>(site: string, args: string[]): Promise<T> {
  return JSON.parse(await lab.rbd(site, [...args, '--format', 'json'])) as T;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

async function newPool(c: Cluster, name: string, list: string[]): Promise<Pool> {
  await c.createPool(name);
  list.push(name);
  const p = await c.openPool(name);
  await p.init();
  return p;
}

beforeAll(async () => {
  lab = await getLab();
  a = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  b = await Cluster.connect({ confPath: lab.site('site-b').confPath });
  labPoolA = await a.openPool(lab.pool);
  [pairA, pairB, solo] = await Promise.all([
    newPool(a, PAIR, poolsA),
    newPool(b, PAIR, poolsB),
    newPool(a, SOLO, poolsA),
  ]);
});

afterAll(async () => {
  // Unregister the peers first (that drops their config-key secrets too), then the pools.
  for (const p of [pairA, pairB, solo]) {
    if (!p || p.closed) continue;
    for (const peer of await p.mirror.listPeers().catch(() => [])) await p.mirror.removePeer(peer.uuid).catch(() => undefined);
  }
  await Promise.allSettled(poolsA.map((n) => a.deletePool(n)));
  await Promise.allSettled(poolsB.map((n) => b.deletePool(n)));
  await Promise.allSettled([a?.close(), b?.close()]);
});

describe('read-only, on the lab pool', () => {
  test('mode() and siteName() match `rbd mirror pool info`', async () => {
    const info = await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', lab.pool]);
    expect(await labPoolA.mirror.mode()).toBe(info.mode);
    expect(await labPoolA.mirror.siteName()).toBe(info.site_name);
  });

  test('listPeers() matches the CLI peers, and uuid() is what the other site knows this pool by', async () => {
    const info = await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', lab.pool]);
    const peers = await labPoolA.mirror.listPeers();
    expect(peers.map((p) => ({ uuid: p.uuid, direction: p.direction, site_name: p.siteName, mirror_uuid: p.mirrorUuid, client_name: p.clientName }))).toEqual(info.peers);
    const onB = await cli<CliInfo>('site-b', ['mirror', 'pool', 'info', lab.pool]);
    const bSeesA = onB.peers?.find((p) => p.site_name === 'site-a');
    expect(await labPoolA.mirror.uuid()).toBe(bSeesA?.mirror_uuid);
  });

  test('peerAttributes() gives the monitors and key that `rbd mirror pool info --all` shows', async () => {
    const info = await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', '--all', lab.pool]);
    const cliPeer = info.peers![0];
    const attrs = await labPoolA.mirror.peerAttributes(cliPeer.uuid);
    expect(attrs.monHost).toBe(cliPeer.mon_host);
    // A secret: compared without printing it.
    expect(attrs.key === cliPeer.key && typeof attrs.key === 'string').toBe(true);
  });

  test('status() reports the daemons and their health as `rbd mirror pool status --verbose` does', async () => {
    const [mine, theirs] = await Promise.all([
      labPoolA.mirror.status({ verbose: true }),
      cli<CliStatus>('site-a', ['mirror', 'pool', 'status', '--verbose', lab.pool]),
    ]);
    expect(mine.daemonHealth).toBe(theirs.summary.daemon_health);
    expect(
      mine.daemons!.map((d) => ({ service_id: d.serviceId, instance_id: d.instanceId, client_id: d.clientId, leader: d.leader, health: d.health })),
    ).toEqual(theirs.daemons!.map(({ service_id, instance_id, client_id, leader, health }) => ({ service_id, instance_id, client_id, leader, health })));
  });

  test('setSiteName() to the current name keeps the site name the CLI shows', async () => {
    const name = await labPoolA.mirror.siteName();
    await labPoolA.mirror.setSiteName(name);
    const info = await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', lab.pool]);
    expect(info.site_name).toBe('site-a');
  });
});

describe('mode, on a pool of our own', () => {
  test('a new pool has mirroring disabled', async () => {
    expect(await solo.mirror.mode()).toBe('disabled');
  });

  test('enable("pool") and setMode("image") are what `rbd mirror pool info` then shows', async () => {
    await solo.mirror.enable('pool');
    expect((await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', SOLO])).mode).toBe('pool');
    await solo.mirror.setMode('image');
    expect((await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', SOLO])).mode).toBe('image');
    expect(await solo.mirror.mode()).toBe('image');
  });

  test('disable() turns mirroring off', async () => {
    await solo.mirror.disable();
    expect((await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', SOLO])).mode).toBe('disabled');
    await solo.mirror.enable('image');
  });

  test('uuid() of a disabled pool rejects with NotFound', async () => {
    const pool = await newPool(a, `mpool-off-${tag}`, poolsA);
    const err = await rejection(pool.mirror.uuid());
    expect(err).toBeInstanceOf(NotFound);
    expect((err as RbdError).code).toBe('ENOENT');
  });

  test('a mode that is not one of disabled/image/pool is a TypeError', async () => {
    await expect(solo.mirror.setMode('everything' as 'pool')).rejects.toThrow(TypeError);
    await expect(solo.mirror.enable('disabled' as 'pool')).rejects.toThrow(TypeError);
  });
});

describe('peers, on a pool of our own', () => {
  let uuid: string;

  test('addPeer() registers a peer that `rbd mirror pool info --all` shows with its monitors', async () => {
    uuid = await solo.mirror.addPeer({ siteName: 'faraway', clientName: 'client.faraway', monHost: '127.0.0.1:1', key: 'AQBfakefakefakefakefakefakefakefakefake==' });
    const info = await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', '--all', SOLO]);
    expect(info.peers).toEqual([
      expect.objectContaining({ uuid, direction: 'rx-tx', site_name: 'faraway', client_name: 'client.faraway', mon_host: '127.0.0.1:1' }),
    ]);
  });

  test('listPeers() lists it, never seen', async () => {
    expect(await solo.mirror.listPeers()).toEqual([
      { uuid, siteName: 'faraway', mirrorUuid: '', clientName: 'client.faraway', direction: 'rx-tx', lastSeen: null },
    ]);
  });

  test('setPeerSiteName(), setPeerClient() and setPeerDirection() are what the CLI then shows', async () => {
    await solo.mirror.setPeerSiteName(uuid, 'nearby');
    await solo.mirror.setPeerClient(uuid, 'client.nearby');
    await solo.mirror.setPeerDirection(uuid, 'rx-only');
    const info = await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', SOLO]);
    expect(info.peers).toEqual([expect.objectContaining({ uuid, direction: 'rx-only', site_name: 'nearby', client_name: 'client.nearby' })]);
  });

  test('setPeerAttributes() replaces the given attribute and keeps the other', async () => {
    await solo.mirror.setPeerAttributes(uuid, { monHost: '127.0.0.2:2' });
    const attrs = await solo.mirror.peerAttributes(uuid);
    expect(attrs.monHost).toBe('127.0.0.2:2');
    expect(attrs.key).toBe('AQBfakefakefakefakefakefakefakefakefake==');
    const info = await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', '--all', SOLO]);
    expect(info.peers![0].mon_host).toBe('127.0.0.2:2');
  });

  test("setPeerAttributes() with '' removes that attribute", async () => {
    await solo.mirror.setPeerAttributes(uuid, { key: '' });
    expect(await solo.mirror.peerAttributes(uuid)).toEqual({ monHost: '127.0.0.2:2' });
  });

  test('a peer direction that is not rx-only/tx-only/rx-tx is a TypeError', async () => {
    await expect(solo.mirror.setPeerDirection(uuid, 'sideways' as 'rx-only')).rejects.toThrow(TypeError);
    await expect(solo.mirror.addPeer({ siteName: 'x', direction: 'both' as 'rx-tx' })).rejects.toThrow(TypeError);
  });

  test("addPeer() refuses 'tx-only' before calling librbd", async () => {
    await expect(solo.mirror.addPeer({ siteName: 'x', direction: 'tx-only' as 'rx-tx' })).rejects.toThrow(TypeError);
    expect(await solo.mirror.listPeers()).toHaveLength(1);
  });

  test('a malformed peer uuid is a RangeError', async () => {
    await expect(solo.mirror.removePeer('not-a-uuid')).rejects.toThrow(RangeError);
  });

  test('removePeer() of an unknown uuid rejects with NotFound', async () => {
    const err = await rejection(solo.mirror.removePeer('00000000-0000-4000-8000-000000000000'));
    expect(err).toBeInstanceOf(NotFound);
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).pool).toBe(SOLO);
  });

  test('setPeerSiteName() of an unknown uuid rejects with NotFound', async () => {
    await expect(solo.mirror.setPeerSiteName('00000000-0000-4000-8000-000000000000', 'x')).rejects.toBeInstanceOf(NotFound);
  });

  test('peerAttributes() of an unknown uuid rejects with NotFound', async () => {
    await expect(solo.mirror.peerAttributes('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFound);
  });

  test('setMode("disabled") while a peer is registered rejects with EBUSY', async () => {
    const err = await rejection(solo.mirror.setMode('disabled'));
    expect((err as RbdError).code).toBe('EBUSY');
  });

  test('removePeer() unregisters it', async () => {
    await solo.mirror.removePeer(uuid);
    expect((await cli<CliInfo>('site-a', ['mirror', 'pool', 'info', SOLO])).peers).toEqual([]);
    expect(await solo.mirror.listPeers()).toEqual([]);
  });
});

describe('bootstrap between two fresh pools', () => {
  test('createBootstrapToken() on a pool with mirroring disabled rejects with InvalidArgument', async () => {
    await expect(pairA.mirror.createBootstrapToken()).rejects.toBeInstanceOf(InvalidArgument);
  });

  test('createBootstrapToken() gives a token naming site-a', async () => {
    await pairA.mirror.enable('image');
    await pairB.mirror.enable('image');
    token = await pairA.mirror.createBootstrapToken();
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString()) as { fsid: string; client_id: string };
    expect(decoded.fsid).toBe(a.fsid());
    expect(decoded.client_id).toBe('rbd-mirror-peer');
  });

  test("importBootstrapToken() with direction 'tx-only' is a TypeError that does not show the token", async () => {
    const err = await rejection(pairB.mirror.importBootstrapToken(token, { direction: 'tx-only' as 'rx-tx' }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).not.toContain(token);
  });

  test('importBootstrapToken() of a garbled token rejects with InvalidArgument without showing it', async () => {
    const garbled = token.slice(0, 40) + 'x' + token.slice(41, 120);
    const err = await rejection(pairB.mirror.importBootstrapToken(garbled));
    expect(err).toBeInstanceOf(InvalidArgument);
    expect(err.message).not.toContain(garbled);
    expect(err.message).not.toContain(token.slice(0, 40));
  });

  test('importBootstrapToken() into a pool the token site lacks rejects without showing the token', async () => {
    const lone = await newPool(b, LONE, poolsB);
    await lone.mirror.enable('image');
    const err = await rejection(lone.mirror.importBootstrapToken(token));
    expect(err).toBeInstanceOf(RbdError);
    expect(err.message).not.toContain(token);
    expect(JSON.stringify(err)).not.toContain(token);
  });

  test('importBootstrapToken() on site-b makes each site a peer of the other', async () => {
    await pairB.mirror.importBootstrapToken(token, { direction: 'rx-tx' });
    const [infoA, infoB] = await Promise.all([
      cli<CliInfo>('site-a', ['mirror', 'pool', 'info', PAIR]),
      cli<CliInfo>('site-b', ['mirror', 'pool', 'info', PAIR]),
    ]);
    expect(infoB.peers).toEqual([expect.objectContaining({ site_name: 'site-a', direction: 'rx-tx', client_name: 'client.rbd-mirror-peer' })]);
    expect(infoA.peers).toEqual([expect.objectContaining({ site_name: 'site-b' })]);
    expect((await pairA.mirror.listPeers()).map((p) => p.siteName)).toEqual(['site-b']);
  });

  test("once the rbd-mirror daemons have met, each peer carries the other pool's mirror uuid", async () => {
    const uuidA = await pairA.mirror.uuid();
    const uuidB = await pairB.mirror.uuid();
    const met = await waitFor('the peers to register', async () => {
      const [pa, pb] = await Promise.all([pairA.mirror.listPeers(), pairB.mirror.listPeers()]);
      return pa[0]?.mirrorUuid && pb[0]?.mirrorUuid ? { a: pa[0].mirrorUuid, b: pb[0].mirrorUuid } : undefined;
    }, 60_000);
    expect(met).toEqual({ a: uuidB, b: uuidA });
    const infoB = await cli<CliInfo>('site-b', ['mirror', 'pool', 'info', PAIR]);
    expect(infoB.peers![0].mirror_uuid).toBe(uuidA);
  });

  test('images enabled for snapshot mirroring on site-a appear on site-b', async () => {
    for (const name of [IMAGE, IMAGE2]) {
      await pairA.createImage(name, 8 * 1024 * 1024, { features: ['layering', 'exclusive-lock'] });
      await lab.rbd('site-a', ['mirror', 'image', 'enable', `${PAIR}/${name}`, 'snapshot']);
    }
    const names = await waitFor('the images on site-b', async () => {
      const n = await pairB.listImages();
      return n.length === 2 ? n : undefined;
    }, 90_000);
    expect(names).toEqual([IMAGE, IMAGE2]);
  });

  test('imageInfos() lists the image as a primary snapshot-mode image, like `rbd mirror image status`', async () => {
    const infos = await pairA.mirror.imageInfos();
    const expected = [];
    for (const spec of await pairA.listImageSpecs()) {
      const st = await cli<{ global_id: string }>('site-a', ['mirror', 'image', 'status', `${PAIR}/${spec.name}`]);
      expected.push({ id: spec.id, mode: 'snapshot', globalId: st.global_id, state: 'enabled', primary: true });
    }
    const byId = (x: { id: string }, y: { id: string }) => (x.id < y.id ? -1 : 1);
    expect([...infos].sort(byId)).toEqual(expected.sort(byId));
    expect(await pairA.mirror.imageInfos({ mode: 'journal' })).toEqual([]);
  });

  test('findImageByGlobalId() on site-b finds the mirrored copy', async () => {
    const [spec] = (await pairA.listImageSpecs()).filter((x) => x.name === IMAGE);
    const info = (await pairA.mirror.imageInfos()).find((i) => i.id === spec.id)!;
    // rbd-mirror registers the copy's global id just after creating it: bounded wait.
    const found = await waitFor('the copy registered', async () => (await pairB.mirror.findImageByGlobalId(info.globalId)) ?? undefined, 30_000);
    const [specB] = (await pairB.listImageSpecs()).filter((x) => x.name === IMAGE);
    expect(found).toEqual({ id: specB.id, name: IMAGE });
    expect(await pairB.mirror.findImageByGlobalId('00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  test('globalStatuses() pages through the same images, peers named, as `rbd mirror pool status --verbose`', async () => {
    const seen: string[] = [];
    for await (const s of pairA.mirror.globalStatuses({ pageSize: 1 })) seen.push(`${s.name} ${s.info.globalId} ${s.info.primary}`);
    const theirs = await cli<CliStatus>('site-a', ['mirror', 'pool', 'status', '--verbose', PAIR]);
    expect(seen.sort()).toEqual(theirs.images!.map((i) => `${i.name} ${i.global_id} true`));
    expect(seen).toHaveLength(2);
  });

  test('status({ verbose }) agrees with the CLI on health, states and per-image states', async () => {
    const show = (s: { state: string; up: boolean }) => `${s.up ? 'up' : 'down'}+${s.state}`;
    const agreed = await waitFor('status agreement', async () => {
      const [mine, theirs] = await Promise.all([
        pairA.mirror.status({ verbose: true }),
        cli<CliStatus>('site-a', ['mirror', 'pool', 'status', '--verbose', PAIR]),
      ]);
      const m = {
        health: mine.health,
        daemon_health: mine.daemonHealth,
        image_health: mine.imageHealth,
        states: mine.states,
        images: mine.images!.map((i) => ({
          name: i.name,
          global_id: i.info.globalId,
          state: i.local ? show(i.local) : '',
          peers: i.peers.map((p) => `${p.siteName} ${show(p)}`),
        })),
      };
      const t = {
        ...theirs.summary,
        images: theirs.images!.map((i) => ({
          name: i.name,
          global_id: i.global_id,
          state: i.state,
          peers: (i.peer_sites ?? []).map((p) => `${p.site_name} ${p.state}`),
        })),
      };
      return JSON.stringify(m) === JSON.stringify(t) ? m : undefined;
    }, 60_000);
    expect(agreed.images.map((i) => i.name)).toEqual([IMAGE, IMAGE2]);
  });

  test("globalStatuses() parses a replaying peer site's description into a snapshot replay status", async () => {
    const site = await waitFor('a replaying peer site', async () => {
      for await (const st of pairA.mirror.globalStatuses()) {
        const p = st.peers.find((x) => x.state === 'replaying');
        if (p) return p;
      }
      return undefined;
    }, 60_000);
    expect(site.siteName).toBe('site-b');
    expect(site.description.startsWith('replaying, {')).toBe(true);
    expect(site.replay?.kind).toBe('snapshot');
  });

  test('instanceIds() maps each mirrored image to an rbd-mirror instance the CLI lists', async () => {
    const ids = await waitFor('both images assigned', async () => {
      const m = await pairA.mirror.instanceIds();
      return m.size === 2 ? m : undefined;
    }, 60_000);
    expect([...ids.keys()].sort()).toEqual((await pairA.listImageSpecs()).map((x) => x.id).sort());
    // Both views are read again until they agree (bounded): an image moves to another
    // instance when rbd-mirror's leader reshuffles, between our read and the CLI's.
    let last = '';
    const agreed = await waitFor('instances the CLI lists', async () => {
      const [now, status] = await Promise.all([
        pairA.mirror.instanceIds(),
        cli<CliStatus>('site-a', ['mirror', 'pool', 'status', '--verbose', PAIR]),
      ]);
      const instances = new Set(status.daemons!.map((d) => d.instance_id));
      last = `sdk ${JSON.stringify([...now.values()])}, cli ${JSON.stringify([...instances])}`;
      return now.size === 2 && [...now.values()].every((i) => instances.has(i)) ? now : undefined;
    }, 60_000).catch((e: Error) => {
      throw new Error(`${e.message} (last: ${last})`);
    });
    expect(agreed.size).toBe(2);
  });

  test('summary() counts the image under its local state', async () => {
    const summary = await pairA.mirror.summary();
    expect(Object.values(summary).reduce<number>((x, y) => x + (y ?? 0), 0)).toBe(2);
  });
});

describe('mirror-snapshot schedules', () => {
  // Whether site-a's manager serves rbd_support, by the rbd CLI as the oracle:
  // Debian 13's ceph-mgr 18.2.7 loads no Python module, and there every
  // schedule call must reject with MgrModuleUnavailable instead.
  let served = true;
  beforeAll(async () => {
    const err = await lab.rbd('site-a', ['mirror', 'snapshot', 'schedule', 'ls', '--pool', PAIR]).then(
      () => undefined,
      (e: Error) => e,
    );
    served = !/No handler found/.test(err?.message ?? '');
    if (!served) process.stderr.write('[mirror-pool] site-a\'s mgr serves no rbd_support: schedule calls must reject with MgrModuleUnavailable\n');
  });
  const unserved = async (call: Promise<unknown>, prefix: string) => {
    const err = await call.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MgrModuleUnavailable);
    expect(err).toMatchObject({ code: 'EINVAL', errno: 22, command: prefix });
    expect((err as Error).message).toMatch(/module that serves it is not loaded/);
  };

  test('addSnapshotSchedule() on the pool is what `rbd mirror snapshot schedule ls` lists', async () => {
    if (!served) return unserved(pairA.mirror.addSnapshotSchedule('1h'), 'rbd mirror snapshot schedule add');
    await pairA.mirror.addSnapshotSchedule('1h');
    const theirs = await cli<Array<{ interval: string; start_time: string }>>('site-a', ['mirror', 'snapshot', 'schedule', 'ls', '--pool', PAIR]);
    expect(theirs).toEqual([{ interval: '1h', start_time: '' }]);
    expect(await pairA.mirror.listSnapshotSchedules()).toEqual([
      { pool: PAIR, namespace: null, image: null, schedules: [{ interval: '1h', startTime: null }] },
    ]);
  });

  test('an image schedule with a start time shows up in the recursive list, as in `ls -R`', async () => {
    if (!served) return unserved(pairA.mirror.listSnapshotSchedules({ recursive: true }), 'rbd mirror snapshot schedule list');
    await pairA.mirror.addSnapshotSchedule('30m', { image: IMAGE, startTime: '14:00' });
    const theirs = await cli<Array<{ pool: string; namespace: string; image: string; items: Array<{ interval: string; start_time: string }> }>>(
      'site-a',
      ['mirror', 'snapshot', 'schedule', 'ls', '--pool', PAIR, '-R'],
    );
    const mine = await pairA.mirror.listSnapshotSchedules({ recursive: true });
    expect(
      mine.map((l) => ({
        pool: l.pool ?? '-',
        namespace: l.namespace ?? '-',
        image: l.image ?? '-',
        items: l.schedules.map((s) => ({ interval: s.interval, start_time: s.startTime ?? '' })),
      })),
    ).toEqual(theirs);
    expect(mine.find((l) => l.image === IMAGE)?.schedules).toEqual([{ interval: '30m', startTime: '14:00:00' }]);
  });

  test('snapshotScheduleStatus() lists the scheduled images as `rbd mirror snapshot schedule status` does', async () => {
    if (!served) return unserved(pairA.mirror.snapshotScheduleStatus(), 'rbd mirror snapshot schedule status');
    // The manager picks up newly mirrored images on its own refresh (about a minute): bounded wait.
    const mine = await waitFor('scheduled images', async () => {
      const [m, theirs] = await Promise.all([
        pairA.mirror.snapshotScheduleStatus(),
        cli<Array<{ schedule_time: string; image: string }>>('site-a', ['mirror', 'snapshot', 'schedule', 'status', '--pool', PAIR]),
      ]);
      const same = JSON.stringify(m.map((x) => ({ schedule_time: x.scheduleTime, image: x.image }))) === JSON.stringify(theirs);
      return m.length > 0 && same ? m : undefined;
    }, 75_000);
    for (const s of mine) {
      expect([`${PAIR}/${IMAGE}`, `${PAIR}/${IMAGE2}`]).toContain(s.image);
      expect(s.scheduleTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:00$/);
    }
  });

  test('removeSnapshotSchedule() removes one schedule, and without an interval every one of the level', async () => {
    if (!served) return unserved(pairA.mirror.removeSnapshotSchedule(), 'rbd mirror snapshot schedule remove');
    await pairA.mirror.removeSnapshotSchedule('30m', { image: IMAGE, startTime: '14:00' });
    expect(await pairA.mirror.listSnapshotSchedules({ image: IMAGE })).toEqual([]);
    await pairA.mirror.removeSnapshotSchedule();
    expect(await pairA.mirror.listSnapshotSchedules({ recursive: true })).toEqual([]);
    const err = await rejection(lab.rbd('site-a', ['mirror', 'snapshot', 'schedule', 'ls', '--pool', PAIR, '--format', 'json']));
    expect(err.message).toBeDefined();
  });

  test('a bad interval is a RangeError and a startTime without interval a TypeError', async () => {
    await expect(pairA.mirror.addSnapshotSchedule('1w')).rejects.toThrow(RangeError);
    await expect(pairA.mirror.addSnapshotSchedule('0m')).rejects.toThrow(RangeError);
    await expect(pairA.mirror.removeSnapshotSchedule(undefined, { startTime: '14:00' })).rejects.toThrow(TypeError);
  });

  test('a schedule for an image that does not exist rejects with InvalidArgument from the manager', async () => {
    if (!served) return unserved(pairA.mirror.addSnapshotSchedule('1h', { image: 'no-such-image' }), 'rbd mirror snapshot schedule add');
    await expect(pairA.mirror.addSnapshotSchedule('1h', { image: 'no-such-image' })).rejects.toBeInstanceOf(InvalidArgument);
  });
});

describe('pool-wide demote and promote', () => {
  test('promote() of a non-primary copy while the peer is primary reports the failure per image', async () => {
    const report = await pairB.mirror.promote();
    expect(report.map((r) => r.image)).toEqual([IMAGE, IMAGE2]);
    expect(report.map((r) => r.ok)).toEqual([false, false]);
    expect(report[0].error).toBeInstanceOf(RbdError);
    expect(report[0].error!.image).toBe(IMAGE);
    expect(report[1].error!.image).toBe(IMAGE2);
    expect(report[0].error!.message).toContain(`image '${IMAGE}'`);
  });

  test('demote() demotes every primary image and reports it', async () => {
    const report = await pairA.mirror.demote({ concurrency: 1 });
    expect(report).toEqual([
      { image: IMAGE, ok: true },
      { image: IMAGE2, ok: true },
    ]);
    for (const name of [IMAGE, IMAGE2]) {
      const info = await cli<{ mirroring?: { primary: boolean } }>('site-a', ['info', `${PAIR}/${name}`]);
      expect(info.mirroring?.primary).toBe(false);
    }
  });

  test('demote() again has nothing to do', async () => {
    expect(await pairA.mirror.demote()).toEqual([]);
  });

  test('promote() promotes the demoted image back and reports it', async () => {
    const report = await pairA.mirror.promote();
    expect(report).toEqual([
      { image: IMAGE, ok: true },
      { image: IMAGE2, ok: true },
    ]);
    expect((await pairA.mirror.imageInfos()).map((i) => i.primary)).toEqual([true, true]);
  });

  test('concurrency must be a positive integer', async () => {
    await expect(pairA.mirror.promote({ concurrency: 0 })).rejects.toThrow(RangeError);
  });
});

// rbd_mirror_remote_namespace_get/set exist from librbd 1.20 (Ceph 20.2) on: on an older build the
// methods refuse with CapabilityUnavailable before any librbd call; on 20.2 they round-trip.
describe('remote namespace, on a namespace of a pool of our own', () => {
  const has = capabilities().features.mirrorRemoteNamespace;
  const NS = 'rns-local';
  let nsPool: Pool;

  beforeAll(async () => {
    await solo.namespaces.create(NS);
    nsPool = await a.openPool(SOLO, { namespace: NS });
  });
  afterAll(async () => {
    await nsPool?.mirror.disable().catch(() => undefined);
    await nsPool?.close().catch(() => undefined);
  });

  test(`capabilities() reports it exactly for librbd 1.20 and later (this build: ${has})`, () => {
    const minor = (v: string) => Number(v.split('.')[1]);
    const { librbdHeader, librbd } = capabilities();
    expect(has).toBe(minor(librbdHeader) >= 20 && minor(librbd) >= minor(librbdHeader));
  });

  if (!has) {
    test.each([
      ['remoteNamespace', (p: Pool) => p.mirror.remoteNamespace()],
      ['setRemoteNamespace', (p: Pool) => p.mirror.setRemoteNamespace('rns-remote')],
      ['enable', (p: Pool) => p.mirror.enable('image', { remoteNamespace: 'rns-remote' })],
    ] as const)('%s rejects with CapabilityUnavailable (ENOSYS) naming mirrorRemoteNamespace', async (op, call) => {
      const err = await call(nsPool).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CapabilityUnavailable);
      expect(err).toMatchObject({ code: 'ENOSYS', capability: 'mirrorRemoteNamespace', op: `mirror.${op}`, pool: SOLO, namespace: NS });
      expect((err as Error).message).toMatch(/librbd 1\.20 \(Ceph 20\.2 Tentacle\)/);
    });

    test('enable() with a remote namespace refused so changes nothing: mirroring stays disabled', async () => {
      expect(await nsPool.mirror.mode()).toBe('disabled');
    });
  } else {
    test("remoteNamespace() of a namespace never set is the namespace's own name", async () => {
      expect(await nsPool.mirror.remoteNamespace()).toBe(NS);
    });

    test('setRemoteNamespace() then remoteNamespace() round-trips', async () => {
      await nsPool.mirror.setRemoteNamespace('rns-remote');
      expect(await nsPool.mirror.remoteNamespace()).toBe('rns-remote');
    });

    test("enable('image', { remoteNamespace }) sets it before enabling, as the CLI's --remote-namespace does", async () => {
      await nsPool.mirror.enable('image', { remoteNamespace: 'rns-other' });
      expect(await nsPool.mirror.mode()).toBe('image');
      expect(await nsPool.mirror.remoteNamespace()).toBe('rns-other');
    });

    test('disable() resets it to the namespace itself', async () => {
      await nsPool.mirror.disable();
      expect(await nsPool.mirror.remoteNamespace()).toBe(NS);
    });

    test('the default namespace cannot mirror to another namespace: InvalidArgument that says so', async () => {
      const err = await solo.mirror.setRemoteNamespace('rns-remote').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as Error).message).toMatch(/the default namespace can only be mirrored to the default namespace/);
    });
  }

  test('a remote namespace that is not a string is a TypeError before any native call', async () => {
    await expect(nsPool.mirror.setRemoteNamespace(7 as unknown as string)).rejects.toThrow(TypeError);
    await expect(nsPool.mirror.enable('image', { remoteNamespace: 7 as unknown as string })).rejects.toThrow(TypeError);
  });
});
