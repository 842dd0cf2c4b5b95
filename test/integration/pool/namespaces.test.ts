/**
 * pool.namespaces against the live lab: create / list / exists / remove,
 * checked against `rbd namespace ls --format json`, images inside a namespace,
 * and the error paths.
 */
import { Cluster, HandleClosed, NamespaceNotFound, type Pool, RbdError } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const created = new Set<string>();

async function cliNamespaces(): Promise<string[]> {
  const rows = JSON.parse(await lab.rbd('site-a', ['namespace', 'ls', '--format', 'json', lab.pool])) as Array<{
    name: string;
  }>;
  return rows.map((r) => r.name);
}

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
});

afterAll(async () => {
  for (const ns of created) await pool.namespaces.remove(ns).catch(() => undefined);
  await cluster?.close();
});

async function newNamespace(what: string): Promise<string> {
  const ns = uniq(what);
  await pool.namespaces.create(ns);
  created.add(ns);
  return ns;
}

describe('pool.namespaces', () => {
  test('create makes a namespace that list, exists and the CLI all see', async () => {
    const ns = await newNamespace('ns-create');
    expect(await pool.namespaces.list()).toContain(ns);
    expect(await pool.namespaces.exists(ns)).toBe(true);
    expect(await cliNamespaces()).toContain(ns);
  });

  test('list is sorted and has what the CLI lists', async () => {
    const b = await newNamespace('ns-list-b');
    const a = await newNamespace('ns-list-a');
    const list = await pool.namespaces.list();
    expect(list).toEqual([...list].sort());
    // Others may add namespaces meanwhile: compare ours.
    expect(list.filter((n) => n === a || n === b)).toEqual([a, b]);
    expect((await cliNamespaces()).filter((n) => n === a || n === b).sort()).toEqual([a, b]);
  });

  test('exists is false for a namespace that was never created', async () => {
    expect(await pool.namespaces.exists(uniq('ns-never'))).toBe(false);
  });

  test('remove deletes it for the SDK and the CLI', async () => {
    const ns = await newNamespace('ns-remove');
    await pool.namespaces.remove(ns);
    created.delete(ns);
    expect(await pool.namespaces.exists(ns)).toBe(false);
    expect(await pool.namespaces.list()).not.toContain(ns);
    expect(await cliNamespaces()).not.toContain(ns);
  });

  test('a namespace the CLI creates reads back through the SDK', async () => {
    const ns = uniq('ns-cli');
    await lab.rbd('site-a', ['namespace', 'create', `${lab.pool}/${ns}`]);
    created.add(ns);
    expect(await pool.namespaces.exists(ns)).toBe(true);
    expect(await pool.namespaces.list()).toContain(ns);
  });

  test('an image created in a namespace is listed there only, by the SDK and by rbd ls --namespace', async () => {
    const ns = await newNamespace('ns-images');
    const name = uniq('ns-img');
    const nsPool = await cluster.openPool(lab.pool, { namespace: ns });
    try {
      await nsPool.createImage(name, 4 * 1024 * 1024);
      expect(await nsPool.listImages()).toEqual([name]);
      expect(await pool.listImages()).not.toContain(name);
      const cli = JSON.parse(
        await lab.rbd('site-a', ['ls', '--namespace', ns, '--format', 'json', lab.pool]),
      ) as string[];
      expect(cli).toEqual([name]);
      const cliDefault = JSON.parse(await lab.rbd('site-a', ['ls', '--format', 'json', lab.pool])) as string[];
      expect(cliDefault).not.toContain(name);
    } finally {
      await nsPool.removeImage(name).catch(() => undefined);
      await nsPool.close();
    }
  });

  test('removing a namespace that still has an image fails with EBUSY and keeps it', async () => {
    const ns = await newNamespace('ns-busy');
    const name = uniq('ns-busy-img');
    const nsPool = await cluster.openPool(lab.pool, { namespace: ns });
    try {
      await nsPool.createImage(name, 4 * 1024 * 1024);
      const err = await pool.namespaces.remove(ns).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RbdError);
      expect((err as RbdError).code).toBe('EBUSY');
      expect((err as RbdError).namespace).toBe(ns);
      expect(await pool.namespaces.exists(ns)).toBe(true);
    } finally {
      await nsPool.removeImage(name).catch(() => undefined);
      await nsPool.close();
    }
  });

  test('removing a namespace that does not exist rejects with NamespaceNotFound', async () => {
    const ns = uniq('ns-missing');
    const err = await pool.namespaces.remove(ns).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NamespaceNotFound);
    expect((err as RbdError).name).toBe('NamespaceNotFound');
    expect((err as RbdError).code).toBe('ENOENT');
    expect((err as RbdError).op).toBe('namespaces.remove');
    expect((err as RbdError).namespace).toBe(ns);
    expect((err as RbdError).pool).toBe(lab.pool);
  });

  test('creating a namespace that exists rejects with EEXIST', async () => {
    const ns = await newNamespace('ns-twice');
    const err = await pool.namespaces.create(ns).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RbdError);
    expect((err as RbdError).code).toBe('EEXIST');
    expect((err as RbdError).op).toBe('namespaces.create');
  });

  test('bad arguments throw TypeError / RangeError before any call', async () => {
    await expect(pool.namespaces.create('')).rejects.toThrow(RangeError);
    await expect(pool.namespaces.create(7 as unknown as string)).rejects.toThrow(TypeError);
    await expect(pool.namespaces.remove('a\0b')).rejects.toThrow(RangeError);
    await expect(pool.namespaces.exists(undefined as unknown as string)).rejects.toThrow(TypeError);
  });

  test('calls on a closed pool reject with HandleClosed', async () => {
    const p = await cluster.openPool(lab.pool);
    await p.close();
    const err = await p.namespaces.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandleClosed);
    expect((err as RbdError).code).toBe('EBADF');
  });
});
