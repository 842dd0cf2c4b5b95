/**
 * image.locks: the managed exclusive lock (acquire, release, owners, break with fencing) and the advisory locks
 * of `rbd lock add/ls/rm`, each checked against the rbd / ceph CLI.
 */
import { Cluster, ImageBusy, InvalidArgument, NotFound, type Image, type Pool } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
});
afterAll(async () => {
  await cluster.close();
});

async function withImage<T>(features: string[], fn: (image: Image, name: string) => Promise<T>): Promise<T> {
  const name = uniq('lock');
  await pool.createImage(name, 8 * MiB, { features });
  try {
    const image = await pool.openImage(name);
    try {
      return await fn(image, name);
    } finally {
      await image.close();
    }
  } finally {
    await pool.removeImage(name);
  }
}

interface CliLock {
  id: string;
  locker: string;
  address: string;
}
/** `rbd lock ls --format json`: an array on newer releases, an object keyed by lock id on 16.2. */
async function rbdLocks(name: string): Promise<CliLock[]> {
  const out = JSON.parse(await lab.rbd('site-a', ['lock', 'ls', '--format', 'json', `${lab.pool}/${name}`])) as
    | CliLock[]
    | Record<string, { locker: string; address: string }>;
  if (Array.isArray(out)) return out.map((l) => ({ id: l.id, locker: l.locker, address: l.address }));
  return Object.entries(out).map(([id, l]) => ({ id, locker: l.locker, address: l.address }));
}

async function blocklist(): Promise<string> {
  // 'blocklist' from Pacific on; the command prints the entries on stdout or stderr depending on the release.
  return lab.ceph('site-a', ['osd', 'blocklist', 'ls', '--format', 'json']);
}

describe('managed lock', () => {
  test('nobody holds it: mode null, no owners; acquire, then owners() names this client; release', async () => {
    await withImage(['layering', 'exclusive-lock'], async (image, name) => {
      expect(await image.lockOwners()).toEqual({ mode: null, owners: [], isOwner: false });
      expect(await image.locks.isOwner()).toBe(false);

      await image.locks.acquire();
      expect(await image.locks.isOwner()).toBe(true);
      const held = await image.locks.owners();
      expect(held.mode).toBe('exclusive');
      expect(held.isOwner).toBe(true);
      expect(held.owners).toHaveLength(1);
      // rbd lock ls shows the managed lock too: its locker is this client.
      const cli = await rbdLocks(name);
      expect(cli).toHaveLength(1);
      expect(cli[0]!.locker).toBe(`client.${cluster.instanceId()}`);

      await image.locks.release();
      expect(await image.locks.isOwner()).toBe(false);
      expect(await image.locks.owners()).toEqual({ mode: null, owners: [], isOwner: false });
      expect(await rbdLocks(name)).toEqual([]);
    });
  });

  test('acquire without the exclusive-lock feature is an InvalidArgument; shared mode is refused too', async () => {
    await withImage(['layering'], async (image) => {
      await expect(image.locks.acquire()).rejects.toBeInstanceOf(InvalidArgument);
    });
    await withImage(['layering', 'exclusive-lock'], async (image) => {
      // librbd's managed lock is exclusive only (rbd_lock_acquire: EOPNOTSUPP for shared).
      await expect(image.locks.acquire({ mode: 'shared' })).rejects.toMatchObject({ op: 'acquireLock' });
    });
  });

  test('breakOwner fences the owner: a second client is blocklisted and its writes fail after the break', async () => {
    await withImage(['layering', 'exclusive-lock'], async (image, name) => {
      const other = await Cluster.connect({ confPath: lab.site('site-a').confPath });
      let victim: Image | undefined;
      try {
        const otherPool = await other.openPool(lab.pool);
        victim = await otherPool.openImage(name);
        await victim.write(Buffer.alloc(4096, 1), 0); // takes the managed lock
        expect(await victim.locks.isOwner()).toBe(true);

        const owners = await image.locks.owners();
        expect(owners).toMatchObject({ mode: 'exclusive', isOwner: false });
        expect(owners.owners).toHaveLength(1);
        const victimAddress = (await image.watchers()).find((w) => w.id === other.instanceId())!.address;

        await image.locks.breakOwner(owners.owners[0]!);

        // The ceph CLI lists the victim's address on the OSD blocklist (rbd_blocklist_on_break_lock's default).
        expect(await blocklist()).toContain(victimAddress.replace(/^v\d:/, ''));
        // Its next write fails: the OSDs refuse a blocklisted client (ESHUTDOWN / EBLOCKLISTED, 108).
        await expect(victim.write(Buffer.alloc(4096, 2), 4096)).rejects.toMatchObject({ errno: 108 });

        // This client can take the lock and write; the fenced write never landed.
        await image.write(Buffer.alloc(4096, 3), 8192);
        expect(await image.locks.isOwner()).toBe(true);
        expect((await image.read(4096, 4096)).equals(Buffer.alloc(4096, 0))).toBe(true);
        expect((await image.read(0, 4096)).equals(Buffer.alloc(4096, 1))).toBe(true);
      } finally {
        await victim?.close().catch(() => undefined);
        await other.close().catch(() => undefined);
        await lab.ceph('site-a', ['osd', 'blocklist', 'clear']).catch(() => undefined);
      }
    });
  }, 120_000);
});

describe('advisory locks (rbd lock add/ls/rm)', () => {
  test('an exclusive lock: listed like rbd lock ls; a second add is refused; remove releases it', async () => {
    await withImage(['layering'], async (image, name) => {
      expect(await image.locks.list()).toEqual({ mode: null, tag: '', locks: [] });
      await image.locks.add('backup-job');
      const mine = await image.locks.list();
      expect(mine.mode).toBe('exclusive');
      expect(mine.locks).toHaveLength(1);
      expect(mine.locks[0]).toMatchObject({ id: 'backup-job', locker: `client.${cluster.instanceId()}` });
      expect(await rbdLocks(name)).toEqual(mine.locks);

      // Another lock id while one is held exclusively: EBUSY.
      await expect(image.locks.add('other')).rejects.toBeInstanceOf(ImageBusy);

      await image.locks.remove('backup-job');
      expect(await rbdLocks(name)).toEqual([]);
      await expect(image.locks.remove('backup-job')).rejects.toBeInstanceOf(NotFound);
    });
  });

  test('shared locks with a tag from two clients; rbd lock add by the CLI shows up; remove with locker breaks it', async () => {
    await withImage(['layering'], async (image, name) => {
      await image.locks.add('a', { shared: 'grp' });
      await lab.rbd('site-a', ['lock', 'add', '--shared', 'grp', `${lab.pool}/${name}`, 'b']);
      const l = await image.locks.list();
      expect(l.mode).toBe('shared');
      expect(l.tag).toBe('grp');
      expect(l.locks.map((x) => x.id).sort()).toEqual(['a', 'b']);
      expect((await rbdLocks(name)).sort((x, y) => x.id.localeCompare(y.id))).toEqual(
        [...l.locks].sort((x, y) => x.id.localeCompare(y.id)),
      );
      // A shared lock with another tag is refused.
      await expect(image.locks.add('c', { shared: 'other' })).rejects.toBeInstanceOf(ImageBusy);

      // Break the CLI's lock (another client: rbd's own connection, long gone).
      const b = l.locks.find((x) => x.id === 'b')!;
      await image.locks.remove('b', { locker: b.locker });
      expect((await rbdLocks(name)).map((x) => x.id)).toEqual(['a']);
      await image.locks.remove('a');
      expect(await image.locks.list()).toEqual({ mode: null, tag: '', locks: [] });
    });
  });

  test('a lock the CLI removes (rbd lock rm) is gone for the SDK, and its holder is blocklisted', async () => {
    await withImage(['layering'], async (image, name) => {
      // Held by a client of its own: rbd lock rm blocklists the locker (rbd_blocklist_on_break_lock).
      const other = await Cluster.connect({ confPath: lab.site('site-a').confPath });
      try {
        const otherImage = await (await other.openPool(lab.pool)).openImage(name);
        await otherImage.locks.add('maint');
        const [l] = (await image.locks.list()).locks;
        expect(l!.locker).toBe(`client.${other.instanceId()}`);
        await lab.rbd('site-a', ['lock', 'rm', `${lab.pool}/${name}`, 'maint', l!.locker]);
        expect(await image.locks.list()).toEqual({ mode: null, tag: '', locks: [] });
        expect(await blocklist()).toContain(l!.address.replace(/^v\d:/, ''));
      } finally {
        await other.close().catch(() => undefined);
        await lab.ceph('site-a', ['osd', 'blocklist', 'clear']).catch(() => undefined);
      }
    });
  }, 60_000);
});
