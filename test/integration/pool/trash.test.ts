/**
 * pool.trash against the live lab: move / list / get / restore / remove /
 * purge, checked against `rbd trash ls --format json`, and its error paths.
 * purge() runs in a private namespace so it never touches anybody else's trash.
 */
import { Cluster, HandleClosed, ImageNotFound, PermissionDenied, type Pool, RbdError, type TrashEntry } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;

interface CliTrashEntry {
  id: string;
  name: string;
  source?: string;
}

async function cliTrash(ns?: string): Promise<CliTrashEntry[]> {
  const args = ['trash', 'ls', '--all', '--long', '--format', 'json', lab.pool];
  if (ns) args.push('--namespace', ns);
  return JSON.parse(await lab.rbd('site-a', args)) as CliTrashEntry[];
}

/** Create an image and move it to the trash; return its trash entry. */
async function trashed(p: Pool, what: string, delaySeconds = 0): Promise<TrashEntry> {
  const name = uniq(what);
  await p.createImage(name, 4 * MiB);
  await p.trash.move(name, { delaySeconds });
  const e = (await p.trash.list()).find((x) => x.name === name);
  if (!e) throw new Error(`${name} is not in the trash`);
  return e;
}

// Whatever a test leaves in the trash (ids), removed at the end.
const leftovers = new Set<string>();

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
});

afterAll(async () => {
  for (const id of leftovers) await pool.trash.remove(id, { force: true }).catch(() => undefined);
  await cluster?.close();
});

describe('pool.trash.move and list', () => {
  test('a moved image leaves the image list and shows in the trash as the CLI lists it', async () => {
    const name = uniq('trash-mv');
    await pool.createImage(name, 4 * MiB);
    const before = Date.now();
    await pool.trash.move(name);
    const entry = (await pool.trash.list()).find((e) => e.name === name);
    expect(entry).toBeDefined();
    leftovers.add(entry!.id);
    expect(await pool.listImages()).not.toContain(name);
    expect(entry!.source).toBe('user');
    expect(entry!.deferredAt.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 5000);
    expect(entry!.deferredAt.getTime()).toBeLessThanOrEqual(Date.now() + 5000);
    expect(entry!.deferredUntil.getTime()).toBe(entry!.deferredAt.getTime());
    const cli = (await cliTrash()).find((e) => e.id === entry!.id);
    expect(cli).toBeDefined();
    expect(cli!.name).toBe(name);
    expect(cli!.source).toBe('USER');
  });

  test('delaySeconds sets deferredUntil that far after deferredAt', async () => {
    const e = await trashed(pool, 'trash-delay', 3600);
    leftovers.add(e.id);
    expect(e.deferredUntil.getTime() - e.deferredAt.getTime()).toBe(3600 * 1000);
  });

  test('an image the CLI moves to the trash reads back through the SDK', async () => {
    const name = uniq('trash-cli');
    await lab.rbd('site-a', ['create', '--size', '4M', `${lab.pool}/${name}`]);
    await lab.rbd('site-a', ['trash', 'mv', `${lab.pool}/${name}`]);
    const cli = (await cliTrash()).find((e) => e.name === name);
    expect(cli).toBeDefined();
    leftovers.add(cli!.id);
    const entry = await pool.trash.get(cli!.id);
    expect(entry.id).toBe(cli!.id);
    expect(entry.name).toBe(name);
    expect(entry.source).toBe('user');
  });

  test('moving an image that does not exist rejects with ImageNotFound', async () => {
    const name = uniq('trash-none');
    const err = await pool.trash.move(name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFound);
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).op).toBe('trash.move');
    expect((err as RbdError).image).toBe(name);
    expect((err as RbdError).pool).toBe(lab.pool);
  });
});

describe('pool.trash.get', () => {
  test('returns the same entry list() has', async () => {
    const e = await trashed(pool, 'trash-get', 60);
    leftovers.add(e.id);
    expect(await pool.trash.get(e.id)).toEqual(e);
  });

  test('an unknown id rejects with ImageNotFound', async () => {
    const err = await pool.trash.get('0123456789abcd').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFound);
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).image).toBe('0123456789abcd');
  });
});

describe('pool.trash.restore', () => {
  test('restores under the original name by default, with the same id', async () => {
    const e = await trashed(pool, 'trash-restore');
    await pool.trash.restore(e.id);
    expect(await pool.listImageSpecs()).toContainEqual({ id: e.id, name: e.name });
    expect((await pool.trash.list()).map((x) => x.id)).not.toContain(e.id);
    const cliLs = JSON.parse(await lab.rbd('site-a', ['ls', '--format', 'json', lab.pool])) as string[];
    expect(cliLs).toContain(e.name);
    await pool.removeImage(e.name);
  });

  test('restores under a new name', async () => {
    const e = await trashed(pool, 'trash-restore-as');
    const newName = uniq('trash-restored');
    await pool.trash.restore(e.id, newName);
    const images = await pool.listImages();
    expect(images).toContain(newName);
    expect(images).not.toContain(e.name);
    await pool.removeImage(newName);
  });

  test('an unknown id rejects with ImageNotFound', async () => {
    const err = await pool.trash.restore('0123456789abcd').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFound);
    expect((err as RbdError).code).toBe('ENOENT');
  });
});

describe('pool.trash.remove', () => {
  test('removes an expired entry for good, reporting progress', async () => {
    const e = await trashed(pool, 'trash-rm');
    const ticks: Array<[number, number]> = [];
    await pool.trash.remove(e.id, { onProgress: (done, total) => ticks.push([done, total]) });
    expect((await pool.trash.list()).map((x) => x.id)).not.toContain(e.id);
    expect((await cliTrash()).map((x) => x.id)).not.toContain(e.id);
    expect(ticks.length).toBeGreaterThan(0);
    for (const [done, total] of ticks) {
      expect(total).toBeGreaterThan(0);
      expect(done).toBeLessThanOrEqual(total);
    }
  });

  test('before the deferment ends it is refused with PermissionDenied (EPERM), and force removes it', async () => {
    const e = await trashed(pool, 'trash-rm-deferred', 3600);
    leftovers.add(e.id);
    const err = await pool.trash.remove(e.id).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(PermissionDenied);
    expect((err as RbdError).code).toBe('EPERM');
    expect((err as RbdError).op).toBe('trash.remove');
    expect((await pool.trash.get(e.id)).name).toBe(e.name);
    await pool.trash.remove(e.id, { force: true });
    leftovers.delete(e.id);
    expect((await pool.trash.list()).map((x) => x.id)).not.toContain(e.id);
  });

  test('an unknown id rejects with ImageNotFound', async () => {
    const err = await pool.trash.remove('0123456789abcd', { force: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFound);
    expect((err as RbdError).code).toBe('ENOENT');
  });

  test('a throwing onProgress neither fails the removal nor escapes', async () => {
    const e = await trashed(pool, 'trash-rm-throw');
    await pool.trash.remove(e.id, {
      onProgress: () => {
        throw new Error('boom');
      },
    });
    expect((await pool.trash.list()).map((x) => x.id)).not.toContain(e.id);
  });
});

describe('pool.trash.purge (in a namespace of its own)', () => {
  let ns: string;
  let nsPool: Pool;

  beforeAll(async () => {
    ns = uniq('trash-ns');
    await lab.rbd('site-a', ['namespace', 'create', `${lab.pool}/${ns}`]);
    nsPool = await cluster.openPool(lab.pool, { namespace: ns });
  });

  afterAll(async () => {
    if (!nsPool) return;
    for (const e of await nsPool.trash.list()) await nsPool.trash.remove(e.id, { force: true });
    for (const name of await nsPool.listImages()) await nsPool.removeImage(name);
    await nsPool.close();
    await lab.rbd('site-a', ['namespace', 'remove', `${lab.pool}/${ns}`]);
  });

  test('the namespace has its own trash: entries there are not in the default one', async () => {
    const e = await trashed(nsPool, 'trash-ns-own', 3600);
    expect((await pool.trash.list()).map((x) => x.id)).not.toContain(e.id);
    expect((await cliTrash(ns)).map((x) => x.id)).toContain(e.id);
    await nsPool.trash.remove(e.id, { force: true });
  });

  test('expiredBefore keeps entries that expire after it; a plain purge removes expired ones but not deferred ones', async () => {
    const expired = await trashed(nsPool, 'trash-purge-expired');
    const deferred = await trashed(nsPool, 'trash-purge-deferred', 3600);
    await nsPool.trash.purge({ expiredBefore: new Date(Date.now() - 3600 * 1000) });
    expect((await nsPool.trash.list()).map((x) => x.id).sort()).toEqual([expired.id, deferred.id].sort());
    const ticks: number[] = [];
    await nsPool.trash.purge({ onProgress: (done) => ticks.push(done) });
    const left = (await nsPool.trash.list()).map((x) => x.id);
    expect(left).toEqual([deferred.id]);
    expect((await cliTrash(ns)).map((x) => x.id)).toEqual([deferred.id]);
  });

  test('expiredBefore in the future also purges entries whose deferment ends before it', async () => {
    const deferred = await trashed(nsPool, 'trash-purge-future', 60);
    await nsPool.trash.purge({ expiredBefore: new Date(Date.now() + 3600 * 1000) });
    expect((await nsPool.trash.list()).map((x) => x.id)).not.toContain(deferred.id);
  });
});

describe('argument checks and lifecycle', () => {
  test('bad arguments throw TypeError / RangeError before any call', async () => {
    await expect(pool.trash.move('')).rejects.toThrow(RangeError);
    await expect(pool.trash.move(1 as unknown as string)).rejects.toThrow(TypeError);
    await expect(pool.trash.move('x', { delaySeconds: -1 })).rejects.toThrow(RangeError);
    await expect(pool.trash.move('x', { delaySeconds: 1.5 })).rejects.toThrow(RangeError);
    await expect(pool.trash.move('x', 'soon' as never)).rejects.toThrow(TypeError);
    await expect(pool.trash.get('')).rejects.toThrow(RangeError);
    await expect(pool.trash.restore('abc', '')).rejects.toThrow(RangeError);
    await expect(pool.trash.remove('abc', { force: 'yes' as never })).rejects.toThrow(TypeError);
    await expect(pool.trash.remove('abc', { onProgress: 5 as never })).rejects.toThrow(TypeError);
    await expect(pool.trash.purge({ threshold: 2 })).rejects.toThrow(RangeError);
    await expect(pool.trash.purge({ threshold: '0.5' as never })).rejects.toThrow(TypeError);
    await expect(pool.trash.purge({ expiredBefore: '2020-01-01' as never })).rejects.toThrow(TypeError);
    await expect(pool.trash.purge({ expiredBefore: new Date(NaN) })).rejects.toThrow(RangeError);
  });

  test('calls on a closed pool reject with HandleClosed', async () => {
    const p = await cluster.openPool(lab.pool);
    await p.close();
    const err = await p.trash.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandleClosed);
    expect((err as RbdError).code).toBe('EBADF');
  });
});
