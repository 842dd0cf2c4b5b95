/** Image operations beyond open/stat: resize, features, copy, flatten, parent, locks, watchers, metadata. */
import { Cluster, ImageNotFound, InvalidArgument, NotFound, type Image, type Pool } from '../../../lib';
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

async function withImage<T>(features: string[], size: number, fn: (image: Image, name: string) => Promise<T>): Promise<T> {
  const name = uniq('img');
  await pool.createImage(name, size, { features });
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

async function rbdInfo(name: string): Promise<{ size: number; features: string[]; parent?: { image: string; snapshot: string } }> {
  return JSON.parse(await lab.rbd('site-a', ['info', '--format', 'json', `${lab.pool}/${name}`]));
}

describe('resize', () => {
  test('grows an image, reporting progress; rbd info agrees', async () => {
    await withImage(['layering'], 8 * MiB, async (image, name) => {
      const calls: Array<[number, number]> = [];
      await image.resize(32 * MiB, { onProgress: (d, t) => calls.push([d, t]) });
      expect((await image.stat()).size).toBe(32 * MiB);
      expect((await rbdInfo(name)).size).toBe(32 * MiB);
      for (const [d, t] of calls) expect(d).toBeLessThanOrEqual(t);
    });
  });

  test('refuses to shrink unless allowShrink, then shrinks', async () => {
    await withImage(['layering'], 16 * MiB, async (image) => {
      await expect(image.resize(4 * MiB)).rejects.toThrow(/allowShrink/);
      expect((await image.stat()).size).toBe(16 * MiB);
      await image.resize(4 * MiB, { allowShrink: true });
      expect((await image.stat()).size).toBe(4 * MiB);
    });
  });

  test('a read-only image cannot be resized', async () => {
    await withImage(['layering'], 4 * MiB, async (_image, name) => {
      await using ro = await pool.openImage(name, { readOnly: true });
      await expect(ro.resize(8 * MiB)).rejects.toMatchObject({ code: 'EROFS', name: 'ReadOnlyImage' });
    });
  });
});

describe('features', () => {
  test('enable and disable exclusive-lock and journaling by name; rbd info agrees', async () => {
    await withImage(['layering'], 4 * MiB, async (image, name) => {
      await image.enableFeatures(['exclusive-lock', 'journaling']);
      expect(await image.features()).toEqual(['layering', 'exclusive-lock', 'journaling']);
      expect((await rbdInfo(name)).features).toEqual(['layering', 'exclusive-lock', 'journaling']);
      await image.disableFeatures('journaling');
      expect(await image.features()).toEqual(['layering', 'exclusive-lock']);
      expect((await rbdInfo(name)).features).toEqual(['layering', 'exclusive-lock']);
    });
  });

  test('journaling without exclusive-lock is an InvalidArgument that says what to do', async () => {
    await withImage(['layering'], 4 * MiB, async (image) => {
      const err = await image.enableFeatures('journaling').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as Error).message).toMatch(/journaling requires the exclusive-lock feature/);
      expect(await image.features()).toEqual(['layering']);
    });
  });

  test('an unknown feature name is a TypeError', async () => {
    await withImage(['layering'], 4 * MiB, async (image) => {
      await expect(image.enableFeatures('journalling' as 'journaling')).rejects.toThrow(TypeError);
      await expect(image.enableFeatures([])).rejects.toThrow(TypeError);
    });
  });
});

describe('copy, parent and flatten', () => {
  test('copy makes a new image of the same size and features', async () => {
    await withImage(['layering', 'exclusive-lock'], 8 * MiB, async (image) => {
      const dest = uniq('copy');
      const calls: number[] = [];
      await image.copy(pool, dest, { onProgress: (d) => calls.push(d) });
      try {
        const info = await rbdInfo(dest);
        expect(info.size).toBe(8 * MiB);
        expect(info.features).toEqual(expect.arrayContaining(['layering', 'exclusive-lock']));
        expect(await image.parent()).toBeNull();
      } finally {
        await pool.removeImage(dest);
      }
    });
  });

  test('a clone made by the CLI reports its parent, and flatten detaches it', async () => {
    await withImage(['layering'], 8 * MiB, async (_image, name) => {
      const child = uniq('child');
      await lab.rbd('site-a', ['snap', 'create', `${lab.pool}/${name}@base`]);
      await lab.rbd('site-a', ['snap', 'protect', `${lab.pool}/${name}@base`]);
      await lab.rbd('site-a', ['clone', `${lab.pool}/${name}@base`, `${lab.pool}/${child}`]);
      try {
        await using clone = await pool.openImage(child);
        const parent = await clone.parent();
        expect(parent).toMatchObject({ pool: lab.pool, image: name, snapshot: 'base', inTrash: false, overlap: 8 * MiB });
        expect((await rbdInfo(child)).parent).toMatchObject({ image: name, snapshot: 'base' });
        await clone.flatten();
        expect(await clone.parent()).toBeNull();
        expect((await rbdInfo(child)).parent).toBeUndefined();
      } finally {
        await lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${child}`]);
        await lab.rbd('site-a', ['snap', 'unprotect', `${lab.pool}/${name}@base`]);
        await lab.rbd('site-a', ['snap', 'rm', '--no-progress', `${lab.pool}/${name}@base`]);
      }
    });
  });

  test('copy to a missing destination pool handle is a TypeError', async () => {
    await withImage(['layering'], 1 * MiB, async (image) => {
      await expect(image.copy({} as Pool, 'x')).rejects.toThrow(TypeError);
    });
  });
});

describe('locks and watchers', () => {
  test('watchers list this client, as `rbd status` does', async () => {
    await withImage(['layering', 'exclusive-lock'], 4 * MiB, async (image, name) => {
      const watchers = await image.watchers();
      const status = JSON.parse(await lab.rbd('site-a', ['status', '--format', 'json', `${lab.pool}/${name}`])) as {
        watchers: Array<{ address: string; client: number; cookie: number }>;
      };
      expect(watchers.map((w) => w.id).sort()).toEqual(status.watchers.map((w) => w.client).sort());
      expect(watchers.map((w) => w.id)).toContain(cluster.instanceId());
    });
  });

  test('lockOwners: nobody before the first write, so no mode', async () => {
    await withImage(['layering', 'exclusive-lock'], 4 * MiB, async (image) => {
      const l = await image.lockOwners();
      expect(l.mode).toBeNull();
      expect(l.isOwner).toBe(false);
      expect(l.owners).toEqual([]);
    });
  });

  test('lockOwners names the holder once the lock is taken (enabling journaling takes it)', async () => {
    await withImage(['layering', 'exclusive-lock'], 4 * MiB, async (image, name) => {
      // A feature update acquires the exclusive lock on this handle.
      await image.enableFeatures('object-map');
      const l = await image.lockOwners();
      const cli = JSON.parse(await lab.rbd('site-a', ['lock', 'ls', '--format', 'json', `${lab.pool}/${name}`])) as unknown;
      expect(l.isOwner).toBe(true);
      expect(l.owners.length).toBe(1);
      expect(JSON.stringify(cli)).toContain('auto');
    });
  });
});

describe('metadata', () => {
  test('set, get, list and remove; the CLI sees the same', async () => {
    await withImage(['layering'], 1 * MiB, async (image, name) => {
      await image.metadata.set('owner', 'team-a');
      await image.metadata.set('conf_rbd_cache', 'false');
      expect(await image.metadata.get('owner')).toBe('team-a');
      expect(await image.metadata.list()).toEqual({ conf_rbd_cache: 'false', owner: 'team-a' });
      const cli = JSON.parse(await lab.rbd('site-a', ['image-meta', 'list', '--format', 'json', `${lab.pool}/${name}`]));
      expect(cli).toEqual({ conf_rbd_cache: 'false', owner: 'team-a' });
      await image.metadata.remove('owner');
      expect(await image.metadata.get('owner')).toBeUndefined();
      await expect(image.metadata.remove('owner')).rejects.toBeInstanceOf(NotFound);
    });
  });

  test('what the CLI sets reads back, including long values and many keys', async () => {
    await withImage(['layering'], 1 * MiB, async (image, name) => {
      const long = 'v'.repeat(5000);
      await lab.rbd('site-a', ['image-meta', 'set', `${lab.pool}/${name}`, 'long', long]);
      expect(await image.metadata.get('long')).toBe(long);
      for (let i = 0; i < 70; i++) await image.metadata.set(`k${String(i).padStart(3, '0')}`, String(i));
      const all = await image.metadata.list();
      expect(Object.keys(all)).toHaveLength(71);
      expect(all.k069).toBe('69');
      expect(all.long).toBe(long);
    });
  });

  test('bad keys are rejected before the native call', async () => {
    await withImage(['layering'], 1 * MiB, async (image) => {
      await expect(image.metadata.set('', 'x')).rejects.toThrow(RangeError);
      await expect(image.metadata.set('k', 5 as unknown as string)).rejects.toThrow(TypeError);
    });
  });
});

describe('pool image management', () => {
  test('renameImage renames; the old name is gone', async () => {
    const a = uniq('ren');
    const b = uniq('ren');
    await pool.createImage(a, MiB);
    await pool.renameImage(a, b);
    const ls = await pool.listImages();
    expect(ls).toContain(b);
    expect(ls).not.toContain(a);
    await expect(pool.renameImage(a, b)).rejects.toBeInstanceOf(ImageNotFound);
    await pool.removeImage(b);
  });

  test('removeImage reports progress over the image\'s objects', async () => {
    const name = uniq('rm');
    await pool.createImage(name, 8 * MiB, { order: 20 });
    const calls: Array<[number, number]> = [];
    await pool.removeImage(name, { onProgress: (d, t) => calls.push([d, t]) });
    expect(calls.length).toBeGreaterThan(0);
    // librbd counts the 8 objects of 1 MiB; the done count never decreases.
    for (const [d, t] of calls) expect([d <= t, t]).toEqual([true, 8]);
    expect(calls.map(([d]) => d)).toEqual([...calls.map(([d]) => d)].sort((a, b) => a - b));
    expect(await pool.listImages()).not.toContain(name);
  });

  test('a throwing progress callback does not break the operation', async () => {
    const name = uniq('rm');
    await pool.createImage(name, 2 * MiB, { order: 20 });
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await pool.removeImage(name, {
        onProgress: () => {
          throw new Error('boom');
        },
      });
      expect(warn).toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
    expect(await pool.listImages()).not.toContain(name);
  });
});
