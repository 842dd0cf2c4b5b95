/**
 * pool.groups against the live lab: groups, their images and group snapshots,
 * checked against `rbd group ls / image ls / snap ls --format json`, a group
 * snapshot rollback (seen through the image size), and the error paths.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Cluster,
  GroupNotFound,
  capabilities,
  HandleClosed,
  ImageNotFound,
  type Pool,
  RbdError,
  SnapshotNotFound,
} from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;
const groupsMade = new Set<string>();
const imagesMade = new Set<string>();

async function cli<T>(args: string[]): Promise<T> {
  return JSON.parse(await lab.rbd('site-a', [...args, '--format', 'json'])) as T;
}

interface CliGroupImage {
  image: string;
  pool: string;
  namespace?: string;
  state: number | string;
}
interface CliGroupSnap {
  snapshot: string;
  state: string;
}

/** `rbd group image ls` prints the state as a number; `rbd group snap ls` says 'ok' for complete. */
const cliImageState = (s: number | string) => (s === 0 ? 'attached' : s === 1 ? 'incomplete' : String(s));
const cliSnapState = (s: string) => (s === 'ok' ? 'complete' : s);

/** `rados -p <pool> args...` on site-a (the group's omap, which no rbd command shows for a trashed member). */
function rados(args: string[]): string {
  return execFileSync('rados', ['-c', lab.site('site-a').confPath, '-p', lab.pool, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function newGroup(what: string): Promise<string> {
  const g = uniq(what);
  await pool.groups.create(g);
  groupsMade.add(g);
  return g;
}

async function newImage(what: string, size = 4 * MiB): Promise<string> {
  const name = uniq(what);
  await pool.createImage(name, size, { features: ['layering', 'exclusive-lock'] });
  imagesMade.add(name);
  return name;
}

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
});

afterAll(async () => {
  // Removing a group takes its images out of it and drops its snapshots.
  for (const g of groupsMade) await pool.groups.remove(g).catch(() => undefined);
  for (const name of imagesMade) {
    await lab.rbd('site-a', ['snap', 'purge', `${lab.pool}/${name}`]).catch(() => undefined);
    await pool.removeImage(name).catch(() => undefined);
  }
  await cluster?.close();
});

describe('groups', () => {
  test('create makes a group that list and rbd group ls both show', async () => {
    const g = await newGroup('grp-create');
    expect(await pool.groups.list()).toContain(g);
    expect(await cli<string[]>(['group', 'ls', lab.pool])).toContain(g);
  });

  test('list is sorted', async () => {
    const b = await newGroup('grp-sort-b');
    const a = await newGroup('grp-sort-a');
    const list = await pool.groups.list();
    expect(list).toEqual([...list].sort());
    expect(list.filter((x) => x === a || x === b)).toEqual([a, b]);
  });

  test('a group the CLI creates reads back through the SDK', async () => {
    const g = uniq('grp-cli');
    await lab.rbd('site-a', ['group', 'create', `${lab.pool}/${g}`]);
    groupsMade.add(g);
    expect(await pool.groups.list()).toContain(g);
    expect(await pool.groups.listImages(g)).toEqual([]);
  });

  test('rename moves the group to the new name', async () => {
    const g = await newGroup('grp-rename');
    const to = uniq('grp-renamed');
    await pool.groups.rename(g, to);
    groupsMade.delete(g);
    groupsMade.add(to);
    const list = await pool.groups.list();
    expect(list).toContain(to);
    expect(list).not.toContain(g);
    const cliList = await cli<string[]>(['group', 'ls', lab.pool]);
    expect(cliList).toContain(to);
    expect(cliList).not.toContain(g);
  });

  test('remove deletes the group', async () => {
    const g = await newGroup('grp-rm');
    await pool.groups.remove(g);
    groupsMade.delete(g);
    expect(await pool.groups.list()).not.toContain(g);
    expect(await cli<string[]>(['group', 'ls', lab.pool])).not.toContain(g);
  });

  test('renaming a group that does not exist rejects with GroupNotFound', async () => {
    const g = uniq('grp-missing');
    const err = await pool.groups.rename(g, uniq('grp-x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GroupNotFound);
    expect((err as RbdError).name).toBe('GroupNotFound');
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).op).toBe('groups.rename');
    expect((err as RbdError).group).toBe(g);
    expect((err as RbdError).pool).toBe(lab.pool);
  });

  test('removing a group that does not exist succeeds, as it does for librbd and rbd group rm', async () => {
    const g = uniq('grp-gone');
    await expect(pool.groups.remove(g)).resolves.toBeUndefined();
    await expect(lab.rbd('site-a', ['group', 'rm', `${lab.pool}/${g}`])).resolves.toBeDefined();
  });

  test('renaming onto an existing group rejects with EEXIST and keeps both', async () => {
    const a = await newGroup('grp-clash-a');
    const b = await newGroup('grp-clash-b');
    const err = await pool.groups.rename(a, b).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RbdError);
    expect((err as RbdError).code).toBe('EEXIST');
    expect(await pool.groups.list()).toEqual(expect.arrayContaining([a, b]));
  });

  test('creating a group that exists rejects with EEXIST', async () => {
    const g = await newGroup('grp-twice');
    const err = await pool.groups.create(g).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RbdError);
    expect((err as RbdError).code).toBe('EEXIST');
    expect((err as RbdError).op).toBe('groups.create');
  });
});

describe('group images', () => {
  test('addImage puts images in the group as rbd group image ls shows them', async () => {
    const g = await newGroup('grp-img');
    const i1 = await newImage('grp-img-a');
    const i2 = await newImage('grp-img-b');
    await pool.groups.addImage(g, pool, i1);
    await pool.groups.addImage(g, pool, i2);
    const images = await pool.groups.listImages(g);
    const byName = [...images].sort((x, y) => (x.name < y.name ? -1 : 1));
    expect(byName).toEqual([
      { name: i1, pool: lab.pool, poolId: pool.id(), state: 'attached' },
      { name: i2, pool: lab.pool, poolId: pool.id(), state: 'attached' },
    ]);
    // The CLI prints the state as librbd's enum number.
    const cliRows = await cli<CliGroupImage[]>(['group', 'image', 'ls', `${lab.pool}/${g}`]);
    expect(cliRows.map((r) => [r.image, r.pool, cliImageState(r.state)]).sort()).toEqual(
      byName.map((r) => [r.name, r.pool, r.state]),
    );
  });

  test('an image can be added through another handle on its pool', async () => {
    const g = await newGroup('grp-img-other');
    const name = await newImage('grp-img-other');
    const other = await cluster.openPool(lab.pool);
    try {
      await pool.groups.addImage(g, other, name);
    } finally {
      await other.close();
    }
    expect((await pool.groups.listImages(g)).map((r) => r.name)).toEqual([name]);
  });

  test('removeImage takes the image out of the group and leaves the image', async () => {
    const g = await newGroup('grp-img-rm');
    const name = await newImage('grp-img-rm');
    await pool.groups.addImage(g, pool, name);
    await pool.groups.removeImage(g, pool, name);
    expect(await pool.groups.listImages(g)).toEqual([]);
    expect(await cli<CliGroupImage[]>(['group', 'image', 'ls', `${lab.pool}/${g}`])).toEqual([]);
    expect(await pool.listImages()).toContain(name);
  });

  test('removeImageById takes the image out by its id, as rbd group image ls and rbd info show', async () => {
    const g = await newGroup('grp-img-rmid');
    const name = await newImage('grp-img-rmid');
    const keep = await newImage('grp-img-rmid-keep');
    await pool.groups.addImage(g, pool, name);
    await pool.groups.addImage(g, pool, keep);
    const info = await cli<{ id: string; group?: string }>(['info', `${lab.pool}/${name}`]);
    expect(info.group).toBe(`${lab.pool}/${g}`);
    await pool.groups.removeImageById(g, pool, info.id);
    const rows = await cli<CliGroupImage[]>(['group', 'image', 'ls', `${lab.pool}/${g}`]);
    expect(rows.map((r) => r.image)).toEqual([keep]);
    expect((await pool.groups.listImages(g)).map((r) => r.name)).toEqual([keep]);
    expect((await cli<{ group?: string }>(['info', `${lab.pool}/${name}`])).group).toBeUndefined();
    expect(await pool.listImages()).toContain(name);
  });

  // librbd 18.2.7 and 20.2 refuse to move a group member to the trash (EMLINK: ceph PR 62921 and its reef/squid
  // backports); 16.2 moves it, and the group keeps the trashed member, which only removeImageById reaches.
  test('a member moved to the trash: refused with EMLINK by librbd 18.2.7+; on 16.2 only removeImageById reaches it', async () => {
    if (Number(capabilities().librbd.split('.')[1]) >= 18) await trashRefusesMember();
    else await trashedMember();
  });

  async function trashRefusesMember(): Promise<void> {
    const g = await newGroup('grp-img-trash-refused');
    const name = await newImage('grp-img-trash-refused');
    await pool.groups.addImage(g, pool, name);
    const err = await pool.trash.move(name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RbdError);
    expect(err).toMatchObject({ code: 'EMLINK', image: name });
    // The oracle agrees, and the image stays where it was.
    await expect(lab.rbd('site-a', ['trash', 'mv', `${lab.pool}/${name}`])).rejects.toThrow(/belongs to a group/);
    expect((await cli<CliGroupImage[]>(['group', 'image', 'ls', `${lab.pool}/${g}`])).map((r) => r.image)).toEqual([name]);
    expect((await pool.trash.list()).map((e) => e.name)).not.toContain(name);
    // By id, a member in place is removed as by name.
    const id = (await cli<{ id: string }>(['info', `${lab.pool}/${name}`])).id;
    await pool.groups.removeImageById(g, pool, id);
    expect(await cli<CliGroupImage[]>(['group', 'image', 'ls', `${lab.pool}/${g}`])).toEqual([]);
  }

  async function trashedMember(): Promise<void> {
    const g = await newGroup('grp-img-trash');
    const name = await newImage('grp-img-trash');
    await pool.groups.addImage(g, pool, name);
    await lab.rbd('site-a', ['trash', 'mv', `${lab.pool}/${name}`]);
    const id = (await pool.trash.list()).find((e) => e.name === name)?.id as string;
    expect(id).toEqual(expect.any(String));
    try {
      // The group still holds it (its header's omap), though neither the CLI nor listImages shows it.
      const key = `image_${String(pool.id()).padStart(16, '0')}_${id}`;
      // rbd_group_directory maps name_<group> to the group id, an encoded string (u32 length, bytes).
      const file = path.join(os.tmpdir(), `${uniq('grp-dir')}.bin`);
      rados(['getomapval', 'rbd_group_directory', `name_${g}`, file]);
      const raw = fs.readFileSync(file);
      fs.rmSync(file);
      const groupId = raw.subarray(4, 4 + raw.readUInt32LE(0)).toString();
      expect(groupId).toMatch(/^[0-9a-f]+$/);
      const omap = () => rados(['listomapkeys', `rbd_group_header.${groupId}`]).split('\n');
      expect(omap()).toContain(key);
      expect(await cli<CliGroupImage[]>(['group', 'image', 'ls', `${lab.pool}/${g}`])).toEqual([]);
      const err = await pool.groups.removeImage(g, pool, name).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageNotFound);
      await pool.groups.removeImageById(g, pool, id);
      expect(omap()).not.toContain(key);
    } finally {
      await pool.trash.restore(id);
    }
    // Restored, it is no longer in the group (it would have come back to it otherwise).
    expect(await cli<CliGroupImage[]>(['group', 'image', 'ls', `${lab.pool}/${g}`])).toEqual([]);
    expect((await cli<{ group?: string }>(['info', `${lab.pool}/${name}`])).group).toBeUndefined();
  }

  test('removeImageById: an id not in the group changes nothing; a missing group is GroupNotFound; bad input first', async () => {
    const g = await newGroup('grp-img-rmid-none');
    const member = await newImage('grp-img-rmid-member');
    await pool.groups.addImage(g, pool, member);
    await pool.groups.removeImageById(g, pool, 'f00dfeed1234');
    expect((await cli<CliGroupImage[]>(['group', 'image', 'ls', `${lab.pool}/${g}`])).map((r) => r.image)).toEqual([member]);
    const err = await pool.groups.removeImageById(uniq('grp-none'), pool, 'f00dfeed1234').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GroupNotFound);
    expect((err as RbdError).op).toBe('groups.removeImageById');
    await expect(pool.groups.removeImageById(g, pool, '')).rejects.toThrow(RangeError);
    await expect(pool.groups.removeImageById(g, {} as Pool, 'x')).rejects.toThrow(TypeError);
    await expect(pool.groups.removeImageById(g, pool, 7 as unknown as string)).rejects.toThrow(TypeError);
  });

  test('an image the CLI adds reads back through the SDK', async () => {
    const g = await newGroup('grp-img-cli');
    const name = await newImage('grp-img-cli');
    await lab.rbd('site-a', ['group', 'image', 'add', `${lab.pool}/${g}`, `${lab.pool}/${name}`]);
    expect(await pool.groups.listImages(g)).toEqual([
      { name, pool: lab.pool, poolId: pool.id(), state: 'attached' },
    ]);
  });

  test('adding to a group that does not exist rejects with GroupNotFound', async () => {
    const g = uniq('grp-img-nogroup');
    const name = await newImage('grp-img-nogroup');
    const err = await pool.groups.addImage(g, pool, name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GroupNotFound);
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).group).toBe(g);
    expect((err as RbdError).op).toBe('groups.addImage');
  });

  test('adding an image that does not exist rejects with ImageNotFound', async () => {
    const g = await newGroup('grp-img-noimage');
    const name = uniq('grp-img-none');
    const err = await pool.groups.addImage(g, pool, name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFound);
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).image).toBe(name);
    expect((err as RbdError).group).toBe(g);
  });

  test('removing an image that does not exist rejects with ImageNotFound', async () => {
    const g = await newGroup('grp-img-rm-none');
    const name = uniq('grp-img-rm-none');
    const err = await pool.groups.removeImage(g, pool, name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFound);
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).op).toBe('groups.removeImage');
    expect((err as RbdError).image).toBe(name);
  });

  test('removing an image that is not in the group succeeds and changes nothing, as librbd does', async () => {
    const g = await newGroup('grp-img-notin');
    const member = await newImage('grp-img-member');
    const outsider = await newImage('grp-img-notin');
    await pool.groups.addImage(g, pool, member);
    await pool.groups.removeImage(g, pool, outsider);
    expect((await pool.groups.listImages(g)).map((r) => r.name)).toEqual([member]);
  });

  test('listImages of a group that does not exist is empty, as librbd reports it', async () => {
    expect(await pool.groups.listImages(uniq('grp-img-ghost'))).toEqual([]);
  });

  test('addImage wants a Pool and names before any call', async () => {
    await expect(pool.groups.addImage('g', {} as Pool, 'i')).rejects.toThrow(TypeError);
    await expect(pool.groups.addImage('', pool, 'i')).rejects.toThrow(RangeError);
    await expect(pool.groups.removeImage('g', pool, 3 as unknown as string)).rejects.toThrow(TypeError);
  });

  test('addImage with a closed image pool rejects with HandleClosed', async () => {
    const other = await cluster.openPool(lab.pool);
    await other.close();
    const err = await pool.groups.addImage('g', other, 'i').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandleClosed);
    expect((err as RbdError).code).toBe('EBADF');
  });
});

describe('group snapshots', () => {
  test('createSnapshot makes a complete snapshot that rbd group snap ls shows', async () => {
    const g = await newGroup('grp-snap');
    await pool.groups.addImage(g, pool, await newImage('grp-snap'));
    await pool.groups.createSnapshot(g, 's1');
    await pool.groups.createSnapshot(g, 's2');
    const snaps = await pool.groups.listSnapshots(g);
    expect([...snaps].sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual([
      { name: 's1', state: 'complete' },
      { name: 's2', state: 'complete' },
    ]);
    const cliSnaps = await cli<CliGroupSnap[]>(['group', 'snap', 'ls', `${lab.pool}/${g}`]);
    expect(cliSnaps.map((s) => [s.snapshot, cliSnapState(s.state)]).sort()).toEqual([
      ['s1', 'complete'],
      ['s2', 'complete'],
    ]);
  });

  test('a snapshot of an empty group is listed too', async () => {
    const g = await newGroup('grp-snap-empty');
    await pool.groups.createSnapshot(g, 'empty');
    expect(await pool.groups.listSnapshots(g)).toEqual([{ name: 'empty', state: 'complete' }]);
  });

  test('a group snapshot the CLI makes reads back through the SDK', async () => {
    const g = await newGroup('grp-snap-cli');
    await lab.rbd('site-a', ['group', 'snap', 'create', `${lab.pool}/${g}@cli`]);
    expect(await pool.groups.listSnapshots(g)).toEqual([{ name: 'cli', state: 'complete' }]);
  });

  test('renameSnapshot and removeSnapshot', async () => {
    const g = await newGroup('grp-snap-rn');
    await pool.groups.createSnapshot(g, 'before');
    await pool.groups.renameSnapshot(g, 'before', 'after');
    expect((await pool.groups.listSnapshots(g)).map((s) => s.name)).toEqual(['after']);
    await pool.groups.removeSnapshot(g, 'after');
    expect(await pool.groups.listSnapshots(g)).toEqual([]);
    expect(await cli<CliGroupSnap[]>(['group', 'snap', 'ls', `${lab.pool}/${g}`])).toEqual([]);
  });

  test('a snapshot that does not exist rejects with SnapshotNotFound', async () => {
    const g = await newGroup('grp-snap-none');
    for (const call of [
      () => pool.groups.removeSnapshot(g, 'nope'),
      () => pool.groups.renameSnapshot(g, 'nope', 'other'),
      () => pool.groups.rollbackSnapshot(g, 'nope'),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SnapshotNotFound);
      expect((err as RbdError).code).toBe('ENOENT');
      expect((err as RbdError).snapshot).toBe('nope');
      expect((err as RbdError).group).toBe(g);
    }
  });

  test('snapshot calls on a group that does not exist reject with GroupNotFound', async () => {
    const g = uniq('grp-snap-nogroup');
    for (const call of [
      () => pool.groups.createSnapshot(g, 's'),
      () => pool.groups.removeSnapshot(g, 's'),
      () => pool.groups.renameSnapshot(g, 's', 't'),
      () => pool.groups.rollbackSnapshot(g, 's'),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GroupNotFound);
      expect((err as RbdError).code).toBe('ENOENT');
      expect((err as RbdError).group).toBe(g);
    }
  });

  test('listSnapshots of a group that does not exist is empty, as librbd reports it', async () => {
    expect(await pool.groups.listSnapshots(uniq('grp-snap-ghost'))).toEqual([]);
  });

  test('rollbackSnapshot brings every image of the group back to its size at the snapshot', async () => {
    const g = await newGroup('grp-rollback');
    const a = await newImage('grp-rb-a', 8 * MiB);
    const b = await newImage('grp-rb-b', 4 * MiB);
    await pool.groups.addImage(g, pool, a);
    await pool.groups.addImage(g, pool, b);
    await pool.groups.createSnapshot(g, 'base');
    await lab.rbd('site-a', ['resize', '--size', '16M', `${lab.pool}/${a}`]);
    await lab.rbd('site-a', ['resize', '--size', '12M', `${lab.pool}/${b}`]);
    const ticks: Array<[number, number]> = [];
    await pool.groups.rollbackSnapshot(g, 'base', { onProgress: (done, total) => ticks.push([done, total]) });
    for (const [name, size] of [
      [a, 8 * MiB],
      [b, 4 * MiB],
    ] as const) {
      const img = await pool.openImage(name);
      try {
        expect((await img.stat()).size).toBe(size);
      } finally {
        await img.close();
      }
      const info = await cli<{ size: number }>(['info', `${lab.pool}/${name}`]);
      expect(info.size).toBe(size);
    }
    expect(ticks.length).toBeGreaterThan(0);
  });

  test('bad arguments throw TypeError / RangeError before any call', async () => {
    await expect(pool.groups.create('')).rejects.toThrow(RangeError);
    await expect(pool.groups.rename('a', 5 as unknown as string)).rejects.toThrow(TypeError);
    await expect(pool.groups.createSnapshot('g', '')).rejects.toThrow(RangeError);
    await expect(pool.groups.rollbackSnapshot('g', 's', { onProgress: 'x' as never })).rejects.toThrow(TypeError);
    await expect(pool.groups.rollbackSnapshot('g', 's', 1 as never)).rejects.toThrow(TypeError);
  });

  test('calls on a closed pool reject with HandleClosed', async () => {
    const p = await cluster.openPool(lab.pool);
    await p.close();
    const err = await p.groups.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandleClosed);
  });
});
