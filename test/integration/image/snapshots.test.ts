/**
 * image.snapshots on the live lab: `rbd snap ...`, `rbd clone`, `rbd children`.
 * The rbd CLI is the oracle: what the SDK reports must match its JSON output,
 * and what the CLI makes must read back the same through the SDK.
 */
import { execFileSync } from 'node:child_process';
import {
  Cluster,
  DiskQuotaExceeded,
  HandleClosed,
  ImageBusy,
  ImageExists,
  InvalidArgument,
  type Image,
  type Pool,
  RbdError,
  ReadOnlyImage,
  SnapshotNotFound,
} from '../../../lib';
import { getLab } from '../../setup/lab-env';

type Lab = Awaited<ReturnType<typeof getLab>>;

let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;

/** Images this file made, removed (clones first) in afterAll. */
const made: string[] = [];

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  for (const name of made.reverse()) await purge(name);
}, 300_000);

async function rbdJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await lab.rbd('site-a', [...args, '--format', 'json'])) as T;
}

const spec = (image: string, snap?: string) => `${lab.pool}/${image}${snap === undefined ? '' : '@' + snap}`;

interface CliSnap {
  id: number;
  name: string;
  size: number;
  protected: string;
  timestamp: string;
  namespace?: { type: string; original_name?: string };
}

/** Remove an image whatever its snapshots' state; quiet if it is already gone. */
async function purge(name: string): Promise<void> {
  try {
    const snaps = await rbdJson<CliSnap[]>(['snap', 'ls', spec(name)]);
    for (const s of snaps) {
      if (s.protected === 'true') await lab.rbd('site-a', ['snap', 'unprotect', spec(name, s.name)]).catch(() => '');
    }
    await lab.rbd('site-a', ['snap', 'purge', '--no-progress', spec(name)]).catch(() => '');
    await lab.rbd('site-a', ['rm', '--no-progress', spec(name)]);
  } catch {
    // already gone
  }
}

/** A new image of `size` bytes (layering only unless told), opened read-write. */
async function newImage(what: string, size = 8 * MiB, features = ['layering']): Promise<[string, Image]> {
  const name = uniq(what);
  await pool.createImage(name, size, { features });
  made.push(name);
  return [name, await pool.openImage(name)];
}

async function rejection(p: Promise<unknown>): Promise<RbdError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) throw new Error('expected the call to reject, it resolved');
  if (!(err instanceof RbdError)) throw err; // show what it was
  return err;
}

describe('create, exists and list', () => {
  test('create makes a snapshot the CLI lists with the image size', async () => {
    const [name, image] = await newImage('snap-create', 12 * MiB);
    await image.snapshots.create('first');
    const cli = await rbdJson<CliSnap[]>(['snap', 'ls', spec(name)]);
    expect(cli.map((s) => [s.name, s.size])).toEqual([['first', 12 * MiB]]);
    await image.close();
  });

  test('create with skipQuiesce and ignoreQuiesceError makes a snapshot too', async () => {
    const [name, image] = await newImage('snap-quiesce');
    await image.snapshots.create('q1', { skipQuiesce: true });
    await image.snapshots.create('q2', { ignoreQuiesceError: true });
    const cli = await rbdJson<CliSnap[]>(['snap', 'ls', spec(name)]);
    expect(cli.map((s) => s.name)).toEqual(['q1', 'q2']);
    await image.close();
  });

  test('exists is true for a snapshot and false for a name that is not one', async () => {
    const [, image] = await newImage('snap-exists');
    await image.snapshots.create('here');
    expect(await image.snapshots.exists('here')).toBe(true);
    expect(await image.snapshots.exists('not-here')).toBe(false);
    await image.close();
  });

  test('list matches `rbd snap ls --all --format json` field by field', async () => {
    const [name, image] = await newImage('snap-list', 4 * MiB);
    await image.snapshots.create('a');
    await lab.rbd('site-a', ['resize', '--no-progress', '--size', '6M', spec(name)]);
    await image.snapshots.create('b');
    await image.snapshots.protect('b');
    const sdk = await image.snapshots.list();
    const cli = await rbdJson<CliSnap[]>(['snap', 'ls', '--all', spec(name)]);
    expect(sdk.map((s) => ({ id: s.id, name: s.name, size: s.size, protected: String(s.protected) }))).toEqual(
      cli.map((s) => ({ id: s.id, name: s.name, size: s.size, protected: s.protected })),
    );
    expect(sdk.map((s) => s.size)).toEqual([4 * MiB, 6 * MiB]);
    expect(sdk.map((s) => s.namespace)).toEqual(['user', 'user']);
    expect(cli.map((s) => s.namespace?.type)).toEqual(['user', 'user']);
    // The CLI prints the timestamp in local time to the second.
    for (let i = 0; i < sdk.length; i++) {
      expect(sdk[i].timestamp).toBeInstanceOf(Date);
      expect(Math.floor(sdk[i].timestamp.getTime() / 1000)).toBe(Math.floor(new Date(cli[i].timestamp).getTime() / 1000));
    }
    await image.snapshots.unprotect('b');
    await image.close();
  });

  test('a snapshot taken by the CLI reads back through the SDK with its id and size', async () => {
    const [name, image] = await newImage('snap-cli', 10 * MiB);
    await lab.rbd('site-a', ['snap', 'create', '--no-progress', spec(name, 'from-cli')]);
    const cli = await rbdJson<CliSnap[]>(['snap', 'ls', spec(name)]);
    const sdk = await image.snapshots.list();
    expect(sdk).toHaveLength(1);
    expect(sdk[0]).toMatchObject({ id: cli[0].id, name: 'from-cli', size: 10 * MiB, namespace: 'user', protected: false });
    expect(await image.snapshots.exists('from-cli')).toBe(true);
    await image.close();
  });

  test('list of an image without snapshots is empty', async () => {
    const [, image] = await newImage('snap-none');
    expect(await image.snapshots.list()).toEqual([]);
    await image.close();
  });

  test('a snapshot whose clone (format 2) keeps it after removal is listed in the trash namespace', async () => {
    const [name, image] = await newImage('snap-trashns');
    await image.snapshots.create('gone');
    const child = uniq('snap-trashns-child');
    await image.snapshots.clone('gone', pool, child, { cloneFormat: 2 });
    made.push(child);
    await image.snapshots.remove('gone');
    expect(await image.snapshots.exists('gone')).toBe(false);
    const sdk = await image.snapshots.list();
    const cli = await rbdJson<CliSnap[]>(['snap', 'ls', '--all', spec(name)]);
    expect(sdk.map((s) => s.namespace)).toEqual(['trash']);
    expect(cli.map((s) => [s.id, s.namespace?.type])).toEqual([[sdk[0].id, 'trash']]);
    expect(sdk[0].trashOriginalName).toBe('gone');
    expect(sdk[0].trashOriginalName).toBe(cli[0].namespace?.original_name);
    // By id, the trash snapshot is reachable: its name, and reading the image at it.
    expect(await image.snapshots.name(sdk[0].id)).toBe(sdk[0].name);
    const at = await pool.openImage(name, { snapshotId: sdk[0].id });
    expect((await at.stat()).size).toBe(sdk[0].size);
    await at.close();
    // A clone still depends on it: removing it by id is refused, and it stays. (Once the last clone is
    // flattened or removed, librbd removes the trashed snapshot itself.)
    const err = await rejection(image.snapshots.removeById(sdk[0].id));
    expect(err).toBeInstanceOf(ImageBusy);
    expect((await image.snapshots.list()).map((s) => s.id)).toEqual([sdk[0].id]);
    await purge(child);
    await image.close();
  });

  test('removeById removes a trash-namespace snapshot left behind with no clone counted on it', async () => {
    // The state a client leaves when it dies while removing the last clone, between detaching the clone from
    // the parent snapshot and removing that (trashed) snapshot: made here with cls_rbd's own child_detach on
    // the parent's header (python-rados), the step librbd's clone removal runs first. librbd then no longer
    // removes the snapshot by itself; removeById is the way.
    const [name, image] = await newImage('snap-orphan');
    await image.snapshots.create('left');
    const child = uniq('snap-orphan-child');
    await image.snapshots.clone('left', pool, child, { cloneFormat: 2 });
    made.push(child);
    await image.snapshots.remove('left');
    const [trashed] = await image.snapshots.list();
    expect(trashed).toMatchObject({ namespace: 'trash', trashOriginalName: 'left' });
    const childImage = await pool.openImage(child);
    const childId = (await childImage.stat()).id;
    await childImage.close();
    const detach = [
      'import rados, struct, sys',
      'conf, pool, header, snap, pool_id, child = sys.argv[1:]',
      's = lambda x: struct.pack("<I", len(x.encode())) + x.encode()',
      'spec = struct.pack("<q", int(pool_id)) + s(child) + s("")',
      'arg = struct.pack("<Q", int(snap)) + struct.pack("<BBI", 2, 1, len(spec)) + spec',
      'c = rados.Rados(conffile=conf); c.connect(); io = c.open_ioctx(pool)',
      'print(io.execute(header, "rbd", "child_detach", arg)[0]); io.close(); c.shutdown()',
    ].join('\n');
    const header = `rbd_header.${(await image.stat()).id}`;
    const out = execFileSync('/usr/bin/python3', ['-c', detach, lab.site('site-a').confPath, lab.pool, header, String(trashed.id), String(pool.id()), childId], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('0');
    expect(await rbdJson<unknown[]>(['children', '--all', spec(name)])).toEqual([]);

    await image.snapshots.removeById(trashed.id);
    expect(await image.snapshots.list()).toEqual([]);
    expect(await rbdJson<CliSnap[]>(['snap', 'ls', '--all', spec(name)])).toEqual([]);
    expect((await rejection(image.snapshots.removeById(trashed.id))).code).toBe('ENOENT');
    await image.close();
  });

  test('by id: id(name) and name(id) agree with the CLI; setCurrentById and openImage({ snapshotId }) read at it', async () => {
    const [name, image] = await newImage('snap-byid');
    await image.write(Buffer.alloc(4096, 1), 0);
    await image.snapshots.create('one');
    await image.write(Buffer.alloc(4096, 2), 0);
    const [cli] = await rbdJson<CliSnap[]>(['snap', 'ls', '--all', spec(name)]);
    const id = await image.snapshots.id('one');
    expect(id).toBe(cli.id);
    expect(await image.snapshots.name(id)).toBe('one');
    const at = await pool.openImage(name, { snapshotId: id });
    expect((await at.read(0, 4096)).equals(Buffer.alloc(4096, 1))).toBe(true);
    await at.close();
    await image.snapshots.setCurrentById(id);
    expect((await image.read(0, 4096))[0]).toBe(1);
    await image.snapshots.setCurrentById(null);
    expect((await image.read(0, 4096))[0]).toBe(2);
    await image.snapshots.removeById(id);
    expect(await rbdJson<CliSnap[]>(['snap', 'ls', '--all', spec(name)])).toEqual([]);
    await image.close();
  });

  test('by id: a missing id or name is NotFound (ENOENT); bad input is a TypeError/RangeError before librbd', async () => {
    const [, image] = await newImage('snap-byid-missing');
    for (const p of [image.snapshots.name(987654), image.snapshots.removeById(987654), image.snapshots.id('nope')]) {
      const err = await rejection(p);
      expect(err.code).toBe('ENOENT');
    }
    await expect(image.snapshots.name(-1)).rejects.toBeInstanceOf(RangeError);
    await expect(image.snapshots.removeById('1' as unknown as number)).rejects.toBeInstanceOf(TypeError);
    await expect(pool.openImage('x', { snapshotId: 1, snapshot: 's' })).rejects.toBeInstanceOf(TypeError);
    await image.close();
  });

  test('the snapshot `rbd mirror image enable ... snapshot` makes is listed in the mirror namespace', async () => {
    const [name, image] = await newImage('snap-mirrorns');
    await lab.rbd('site-a', ['mirror', 'image', 'enable', spec(name), 'snapshot']);
    try {
      const sdk = await image.snapshots.list();
      const cli = await rbdJson<CliSnap[]>(['snap', 'ls', '--all', spec(name)]);
      expect(sdk.length).toBeGreaterThan(0);
      expect(cli[0].namespace?.type).toBe('mirror');
      expect([sdk[0].id, sdk[0].name, sdk[0].namespace, sdk[0].protected]).toEqual([cli[0].id, cli[0].name, 'mirror', false]);
      // Snapshot names are looked up in the user namespace only.
      expect(await image.snapshots.exists(sdk[0].name)).toBe(false);
      // The mirror namespace, field by field against the CLI.
      const ns = cli[0].namespace as CliSnap['namespace'] & { state: string; complete: boolean; mirror_peer_uuids: string[] };
      expect(sdk[0].mirror).toEqual({
        state: ns.state,
        complete: ns.complete,
        mirrorPeerUuids: ns.mirror_peer_uuids,
        primaryMirrorUuid: '',
        primarySnapId: null,
        lastCopiedObjectNumber: 0,
      });
      expect(sdk[0].mirror?.state).toBe('primary');
      // By id, a mirror snapshot is reachable even though its name is not.
      expect(await image.snapshots.name(sdk[0].id)).toBe(sdk[0].name);
    } finally {
      await lab.rbd('site-a', ['mirror', 'image', 'disable', '--force', spec(name)]);
    }
    await image.close();
  });

  test('a group snapshot is listed in the group namespace with its group, pool and group snapshot, as the CLI shows', async () => {
    const [name, image] = await newImage('snap-groupns');
    const group = uniq('snap-grp');
    await pool.groups.create(group);
    try {
      await pool.groups.addImage(group, pool, name);
      await image.snapshots.create('mine');
      await pool.groups.createSnapshot(group, 'gsnap');
      const sdk = await image.snapshots.list();
      const cli = await rbdJson<Array<CliSnap & { namespace: Record<string, unknown> }>>(['snap', 'ls', '--all', spec(name)]);
      expect(sdk.map((s) => [s.id, s.name, s.namespace])).toEqual(cli.map((s) => [s.id, s.name, s.namespace.type]));
      const g = sdk.find((s) => s.namespace === 'group');
      const cg = cli.find((s) => s.namespace.type === 'group');
      expect(g?.group).toBeDefined();
      expect(cg).toBeDefined();
      // The group namespace, field by field against `rbd snap ls --all` (pool, group, "group snap").
      expect({ pool: g?.group?.pool, group: g?.group?.group, groupSnapshot: g?.group?.groupSnapshot }).toEqual({
        pool: cg?.namespace.pool,
        group: cg?.namespace.group,
        groupSnapshot: cg?.namespace['group snap'],
      });
      expect(g?.group).toEqual({ poolId: pool.id(), pool: lab.pool, group, groupSnapshot: 'gsnap' });
      // The user snapshot carries no group; the group one no mirror or trash fields.
      const u = sdk.find((s) => s.name === 'mine');
      expect(u?.namespace).toBe('user');
      expect(u && 'group' in u).toBe(false);
      expect(g && ('mirror' in g || 'trashOriginalName' in g)).toBe(false);
      // Renaming the group snapshot shows in the image's snapshot too.
      await pool.groups.renameSnapshot(group, 'gsnap', 'gsnap2');
      expect((await image.snapshots.list()).find((s) => s.id === g?.id)?.group?.groupSnapshot).toBe('gsnap2');
    } finally {
      await pool.groups.remove(group);
    }
    // Removing the group removed its snapshots: only the user one is left.
    expect((await image.snapshots.list()).map((s) => s.namespace)).toEqual(['user']);
    await image.close();
  });

  test('creating a snapshot whose name is taken rejects with ImageExists (EEXIST)', async () => {
    const [name, image] = await newImage('snap-dup');
    await image.snapshots.create('twice');
    const err = await rejection(image.snapshots.create('twice'));
    expect(err).toBeInstanceOf(ImageExists);
    expect(err).toMatchObject({ code: 'EEXIST', op: 'createSnapshot', image: name, snapshot: 'twice' });
    await image.close();
  });

  test('creating a snapshot on an image opened read-only rejects with ReadOnlyImage (EROFS)', async () => {
    const [name, rw] = await newImage('snap-ro');
    await rw.close();
    const image = await pool.openImage(name, { readOnly: true });
    const err = await rejection(image.snapshots.create('nope'));
    expect(err).toBeInstanceOf(ReadOnlyImage);
    expect(err).toMatchObject({ code: 'EROFS', image: name, snapshot: 'nope' });
    expect(await rbdJson<CliSnap[]>(['snap', 'ls', spec(name)])).toEqual([]);
    await image.close();
  });
});

describe('remove and rename', () => {
  test('remove deletes the snapshot from what the CLI lists', async () => {
    const [name, image] = await newImage('snap-rm');
    await image.snapshots.create('keep');
    await image.snapshots.create('drop');
    await image.snapshots.remove('drop');
    expect((await rbdJson<CliSnap[]>(['snap', 'ls', spec(name)])).map((s) => s.name)).toEqual(['keep']);
    expect(await image.snapshots.exists('drop')).toBe(false);
    await image.close();
  });

  test('removing a protected snapshot rejects with ImageBusy (EBUSY) and leaves it in place', async () => {
    const [name, image] = await newImage('snap-rm-prot');
    await image.snapshots.create('guarded');
    await image.snapshots.protect('guarded');
    const err = await rejection(image.snapshots.remove('guarded'));
    expect(err).toBeInstanceOf(ImageBusy);
    expect(err).toMatchObject({ code: 'EBUSY', op: 'removeSnapshot', snapshot: 'guarded', image: name });
    expect(await image.snapshots.exists('guarded')).toBe(true);
    await image.snapshots.unprotect('guarded');
    await image.close();
  });

  test('remove with force unprotects a protected snapshot and removes it', async () => {
    const [name, image] = await newImage('snap-rm-force');
    await image.snapshots.create('guarded');
    await image.snapshots.protect('guarded');
    await image.snapshots.remove('guarded', { force: true });
    expect(await rbdJson<CliSnap[]>(['snap', 'ls', '--all', spec(name)])).toEqual([]);
    await image.close();
  });

  test('remove with force flattens a clone that depends on the snapshot', async () => {
    const [name, image] = await newImage('snap-rm-flatten');
    await image.snapshots.create('base');
    await image.snapshots.protect('base');
    const child = uniq('snap-rm-flatten-child');
    await image.snapshots.clone('base', pool, child, { cloneFormat: 1 });
    made.push(child);
    const calls: Array<[number, number]> = [];
    await image.snapshots.remove('base', { force: true, onProgress: (d, t) => calls.push([d, t]) });
    expect(await rbdJson<CliSnap[]>(['snap', 'ls', '--all', spec(name)])).toEqual([]);
    const info = await rbdJson<{ parent?: unknown }>(['info', spec(child)]);
    expect(info.parent).toBeUndefined();
    for (const [d, t] of calls) expect(d).toBeLessThanOrEqual(t);
    await image.close();
  });

  test('removing a snapshot that does not exist rejects with SnapshotNotFound naming it', async () => {
    const [name, image] = await newImage('snap-rm-missing');
    const err = await rejection(image.snapshots.remove('ghost'));
    expect(err).toBeInstanceOf(SnapshotNotFound);
    expect(err).toMatchObject({ code: 'ENOENT', errno: 2, op: 'removeSnapshot', snapshot: 'ghost', image: name, pool: lab.pool });
    expect(err.message).toContain("snapshot 'ghost'");
    await image.close();
  });

  test('rename gives the snapshot a new name under the same id', async () => {
    const [name, image] = await newImage('snap-mv');
    await image.snapshots.create('old');
    const [before] = await image.snapshots.list();
    await image.snapshots.rename('old', 'new');
    const cli = await rbdJson<CliSnap[]>(['snap', 'ls', spec(name)]);
    expect(cli.map((s) => [s.id, s.name])).toEqual([[before.id, 'new']]);
    expect(await image.snapshots.exists('old')).toBe(false);
    await image.close();
  });

  test('renaming a snapshot that does not exist rejects with SnapshotNotFound', async () => {
    const [, image] = await newImage('snap-mv-missing');
    const err = await rejection(image.snapshots.rename('ghost', 'other'));
    expect(err).toBeInstanceOf(SnapshotNotFound);
    expect(err).toMatchObject({ code: 'ENOENT', snapshot: 'ghost' });
    await image.close();
  });

  test('renaming onto a name that is taken rejects with ImageExists (EEXIST)', async () => {
    const [, image] = await newImage('snap-mv-taken');
    await image.snapshots.create('x');
    await image.snapshots.create('y');
    const err = await rejection(image.snapshots.rename('x', 'y'));
    expect(err).toBeInstanceOf(ImageExists);
    expect(err.code).toBe('EEXIST');
    await image.close();
  });
});

describe('protect and unprotect', () => {
  interface CliSnapInfo {
    protected: string;
    size: number;
  }

  test('protect and unprotect agree with `rbd info image@snap` and isProtected', async () => {
    const [name, image] = await newImage('snap-prot');
    await image.snapshots.create('p');
    expect(await image.snapshots.isProtected('p')).toBe(false);
    await image.snapshots.protect('p');
    expect(await image.snapshots.isProtected('p')).toBe(true);
    expect((await rbdJson<CliSnapInfo>(['info', spec(name, 'p')])).protected).toBe('true');
    expect((await image.snapshots.list())[0].protected).toBe(true);
    await image.snapshots.unprotect('p');
    expect(await image.snapshots.isProtected('p')).toBe(false);
    expect((await rbdJson<CliSnapInfo>(['info', spec(name, 'p')])).protected).toBe('false');
    await image.close();
  });

  test('a snapshot protected by the CLI reads back as protected', async () => {
    const [name, image] = await newImage('snap-prot-cli');
    await lab.rbd('site-a', ['snap', 'create', '--no-progress', spec(name, 'c')]);
    await lab.rbd('site-a', ['snap', 'protect', spec(name, 'c')]);
    expect(await image.snapshots.isProtected('c')).toBe(true);
    expect((await image.snapshots.list()).map((s) => [s.name, s.protected])).toEqual([['c', true]]);
    await lab.rbd('site-a', ['snap', 'unprotect', spec(name, 'c')]);
    expect(await image.snapshots.isProtected('c')).toBe(false);
    await image.close();
  });

  test('protecting a protected snapshot rejects with ImageBusy (EBUSY)', async () => {
    const [, image] = await newImage('snap-prot-twice');
    await image.snapshots.create('p');
    await image.snapshots.protect('p');
    const err = await rejection(image.snapshots.protect('p'));
    expect(err).toBeInstanceOf(ImageBusy);
    expect(err).toMatchObject({ code: 'EBUSY', op: 'protectSnapshot', snapshot: 'p' });
    await image.snapshots.unprotect('p');
    await image.close();
  });

  test('unprotecting a snapshot that is not protected rejects with InvalidArgument (EINVAL)', async () => {
    const [, image] = await newImage('snap-unprot');
    await image.snapshots.create('p');
    const err = await rejection(image.snapshots.unprotect('p'));
    expect(err).toBeInstanceOf(InvalidArgument);
    expect(err).toMatchObject({ code: 'EINVAL', op: 'unprotectSnapshot', snapshot: 'p' });
    await image.close();
  });

  test('protect, unprotect and isProtected of a missing snapshot reject with SnapshotNotFound', async () => {
    const [name, image] = await newImage('snap-prot-missing');
    for (const call of [
      () => image.snapshots.protect('ghost'),
      () => image.snapshots.unprotect('ghost'),
      () => image.snapshots.isProtected('ghost'),
    ]) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(SnapshotNotFound);
      expect(err).toMatchObject({ code: 'ENOENT', snapshot: 'ghost', image: name });
    }
    await image.close();
  });
});

describe('rollback and reading at a snapshot', () => {
  test('rollback restores the size after a CLI resize and reports progress ending at done === total', async () => {
    const [name, image] = await newImage('snap-rollback', 8 * MiB);
    await image.snapshots.create('before');
    await lab.rbd('site-a', ['resize', '--no-progress', '--size', '20M', spec(name)]);
    expect((await image.stat()).size).toBe(20 * MiB);
    const calls: Array<[number, number]> = [];
    await image.snapshots.rollback('before', { onProgress: (done, total) => calls.push([done, total]) });
    const atResolve = calls.length;
    expect((await image.stat()).size).toBe(8 * MiB);
    expect((await rbdJson<{ size: number }>(['info', spec(name)])).size).toBe(8 * MiB);
    expect(calls.length).toBeGreaterThan(0);
    const [lastDone, lastTotal] = calls[calls.length - 1];
    // total counts the snapshot's objects: 8 MiB in 4 MiB objects.
    expect(lastTotal).toBe(2);
    expect(lastDone).toBe(lastTotal);
    for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
    // Nothing arrives after the promise resolved.
    await new Promise((r) => setTimeout(r, 200));
    expect(calls.length).toBe(atResolve);
    await image.close();
  });

  test('a progress callback that throws does not break the rollback', async () => {
    const [name, image] = await newImage('snap-rollback-throw', 8 * MiB);
    await image.snapshots.create('s');
    await lab.rbd('site-a', ['resize', '--no-progress', '--size', '12M', spec(name)]);
    let called = 0;
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    await image.snapshots.rollback('s', {
      onProgress: () => {
        called++;
        throw new Error('from the callback');
      },
    });
    expect(called).toBeGreaterThan(0);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('from the callback'));
    warn.mockRestore();
    expect((await image.stat()).size).toBe(8 * MiB);
    await image.close();
  });

  test('rolling back to a missing snapshot rejects with SnapshotNotFound', async () => {
    const [, image] = await newImage('snap-rollback-missing');
    const err = await rejection(image.snapshots.rollback('ghost'));
    expect(err).toBeInstanceOf(SnapshotNotFound);
    expect(err).toMatchObject({ code: 'ENOENT', op: 'rollbackSnapshot', snapshot: 'ghost' });
    await image.close();
  });

  test('an image opened at a snapshot stats with the snapshot size', async () => {
    const [name, image] = await newImage('snap-open-at', 6 * MiB);
    await image.snapshots.create('small');
    await lab.rbd('site-a', ['resize', '--no-progress', '--size', '14M', spec(name)]);
    await using atSnap = await pool.openImage(name, { snapshot: 'small' });
    expect((await atSnap.stat()).size).toBe(6 * MiB);
    expect((await image.stat()).size).toBe(14 * MiB);
    await image.close();
  });

  test('setCurrent reads at a snapshot and null returns to the head', async () => {
    const [name, image] = await newImage('snap-set', 6 * MiB);
    await image.snapshots.create('small');
    await lab.rbd('site-a', ['resize', '--no-progress', '--size', '10M', spec(name)]);
    await image.snapshots.setCurrent('small');
    expect((await image.stat()).size).toBe(6 * MiB);
    await image.snapshots.setCurrent(null);
    expect((await image.stat()).size).toBe(10 * MiB);
    await image.close();
  });

  test('a snapshot created while the image is set at another one captures the head', async () => {
    const [name, image] = await newImage('snap-set-create', 4 * MiB);
    await image.snapshots.create('small');
    await lab.rbd('site-a', ['resize', '--no-progress', '--size', '6M', spec(name)]);
    await image.snapshots.setCurrent('small');
    await image.snapshots.create('later');
    const cli = await rbdJson<CliSnap[]>(['snap', 'ls', spec(name)]);
    expect(cli.map((s) => [s.name, s.size])).toEqual([
      ['small', 4 * MiB],
      ['later', 6 * MiB],
    ]);
    expect((await image.stat()).size).toBe(4 * MiB);
    await image.snapshots.setCurrent(null);
    await image.close();
  });

  test('setCurrent to a missing snapshot rejects with SnapshotNotFound', async () => {
    const [, image] = await newImage('snap-set-missing');
    const err = await rejection(image.snapshots.setCurrent('ghost'));
    expect(err).toBeInstanceOf(SnapshotNotFound);
    expect(err).toMatchObject({ code: 'ENOENT', op: 'setSnapshot', snapshot: 'ghost' });
    await image.close();
  });
});

describe('snapshot limit', () => {
  test('limit is null until set, then the set value, then null after removeLimit', async () => {
    const [name, image] = await newImage('snap-limit');
    expect(await image.snapshots.limit()).toBeNull();
    await image.snapshots.setLimit(3);
    expect(await image.snapshots.limit()).toBe(3);
    expect((await rbdJson<{ snapshot_limit?: number }>(['info', spec(name)])).snapshot_limit).toBe(3);
    await image.snapshots.removeLimit();
    expect(await image.snapshots.limit()).toBeNull();
    expect((await rbdJson<{ snapshot_limit?: number }>(['info', spec(name)])).snapshot_limit).toBeUndefined();
    await image.close();
  });

  test('a limit set by the CLI reads back, and a snapshot beyond it is refused', async () => {
    const [name, image] = await newImage('snap-limit-cli');
    await lab.rbd('site-a', ['snap', 'limit', 'set', '--limit', '1', spec(name)]);
    expect(await image.snapshots.limit()).toBe(1);
    await image.snapshots.create('one');
    const err = await rejection(image.snapshots.create('two'));
    expect(err).toBeInstanceOf(DiskQuotaExceeded);
    expect(err).toMatchObject({ code: 'EDQUOT', op: 'createSnapshot', snapshot: 'two' });
    expect(await image.snapshots.exists('two')).toBe(false);
    await image.close();
  });
});

describe('clone and children', () => {
  interface CliChild {
    pool: string;
    pool_namespace: string;
    image: string;
  }
  interface CliParent {
    parent?: { pool: string; image: string; snapshot: string };
  }

  test('a clone of a protected snapshot shows in `rbd children` and `rbd info` names its parent', async () => {
    const [name, image] = await newImage('snap-clone', 8 * MiB);
    await image.snapshots.create('golden');
    await image.snapshots.protect('golden');
    const child = uniq('snap-clone-child');
    await image.snapshots.clone('golden', pool, child, { features: ['layering'] });
    made.push(child);
    const kids = await rbdJson<CliChild[]>(['children', spec(name, 'golden')]);
    expect(kids).toEqual([{ pool: lab.pool, pool_namespace: '', image: child }]);
    const info = await rbdJson<CliParent & { size: number; features: string[] }>(['info', spec(child)]);
    expect(info.parent).toMatchObject({ pool: lab.pool, image: name, snapshot: 'golden' });
    expect(info.size).toBe(8 * MiB);
    expect(info.features).toEqual(['layering']);
    await image.close();
  });

  test('a clone made without options has the features and object size of its parent', async () => {
    const [, image] = await newImage('snap-clone-inherit', 4 * MiB, ['layering', 'exclusive-lock']);
    await image.snapshots.create('s');
    await image.snapshots.protect('s');
    const child = uniq('snap-clone-inherit-child');
    await image.snapshots.clone('s', pool, child);
    made.push(child);
    const parent = await image.stat();
    const info = await rbdJson<{ features: string[]; order: number; size: number }>(['info', spec(child)]);
    expect(info).toEqual(expect.objectContaining({ features: ['layering', 'exclusive-lock'], order: parent.order, size: 4 * MiB }));
    await image.close();
  });

  test('clone applies order and striping to the new image', async () => {
    const [, image] = await newImage('snap-clone-opts', 8 * MiB);
    await image.snapshots.create('s');
    await image.snapshots.protect('s');
    const child = uniq('snap-clone-opts-child');
    await image.snapshots.clone('s', pool, child, {
      features: ['layering', 'striping'],
      order: 21,
      stripeUnit: 64 * 1024,
      stripeCount: 4,
    });
    made.push(child);
    const info = await rbdJson<{ order: number; stripe_unit: number; stripe_count: number }>(['info', spec(child)]);
    expect(info).toMatchObject({ order: 21, stripe_unit: 64 * 1024, stripe_count: 4 });
    await using c = await pool.openImage(child);
    expect((await c.stat()).order).toBe(21);
    await image.close();
  });

  test('children lists the clones of a snapshot with ids that match the CLI', async () => {
    const [name, image] = await newImage('snap-kids');
    await image.snapshots.create('s');
    await image.snapshots.protect('s');
    const a = uniq('snap-kids-a');
    const b = uniq('snap-kids-b');
    await image.snapshots.clone('s', pool, a);
    made.push(a);
    await lab.rbd('site-a', ['clone', spec(name, 's'), spec(b)]);
    made.push(b);
    const kids = await image.snapshots.children('s');
    expect(kids.map((k) => k.name).sort()).toEqual([a, b].sort());
    const ids = await Promise.all([a, b].map(async (n) => (await rbdJson<{ id: string }>(['info', spec(n)])).id));
    for (const k of kids) {
      expect(k).toMatchObject({ pool: lab.pool, poolId: pool.id(), namespace: '', trash: false });
      expect(k.id).toBe(ids[[a, b].indexOf(k.name)]);
    }
    await image.close();
  });

  test('children without a snapshot covers every snapshot at the head, and the current one after setCurrent', async () => {
    const [, image] = await newImage('snap-kids-all');
    await image.snapshots.create('s1');
    await image.snapshots.protect('s1');
    await image.snapshots.create('s2');
    await image.snapshots.protect('s2');
    const c1 = uniq('snap-kids-all-1');
    const c2 = uniq('snap-kids-all-2');
    await image.snapshots.clone('s1', pool, c1);
    made.push(c1);
    await image.snapshots.clone('s2', pool, c2);
    made.push(c2);
    expect((await image.snapshots.children()).map((k) => k.name).sort()).toEqual([c1, c2].sort());
    await image.snapshots.setCurrent('s2');
    expect((await image.snapshots.children()).map((k) => k.name)).toEqual([c2]);
    // A named snapshot does not move the handle.
    expect((await image.snapshots.children('s1')).map((k) => k.name)).toEqual([c1]);
    expect((await image.snapshots.children()).map((k) => k.name)).toEqual([c2]);
    await image.snapshots.setCurrent(null);
    await image.close();
  });

  test('children with descendants includes clones of clones', async () => {
    const [, image] = await newImage('snap-desc');
    await image.snapshots.create('s');
    await image.snapshots.protect('s');
    const child = uniq('snap-desc-child');
    await image.snapshots.clone('s', pool, child);
    made.push(child);
    const grandchild = uniq('snap-desc-grandchild');
    await using c = await pool.openImage(child);
    await c.snapshots.create('cs');
    await c.snapshots.protect('cs');
    await c.snapshots.clone('cs', pool, grandchild);
    made.push(grandchild);
    expect((await image.snapshots.children('s')).map((k) => k.name)).toEqual([child]);
    expect((await image.snapshots.children('s', { descendants: true })).map((k) => k.name).sort()).toEqual(
      [child, grandchild].sort(),
    );
    await image.close();
  });

  test('a clone made through a second Pool object on the same pool works and the parent cannot be unprotected', async () => {
    const [name, image] = await newImage('snap-clone-pool2');
    await image.snapshots.create('s');
    await image.snapshots.protect('s');
    const child = uniq('snap-clone-pool2-child');
    {
      await using other = await cluster.openPool(lab.pool);
      await image.snapshots.clone('s', other, child);
      made.push(child);
    }
    expect((await rbdJson<CliParent>(['info', spec(child)])).parent).toMatchObject({ image: name, snapshot: 's' });
    const err = await rejection(image.snapshots.unprotect('s'));
    expect(err).toBeInstanceOf(ImageBusy);
    expect(err.code).toBe('EBUSY');
    await image.close();
  });

  test('a format-1 clone of an unprotected snapshot rejects with InvalidArgument', async () => {
    const [, image] = await newImage('snap-clone-unprot');
    await image.snapshots.create('s');
    const child = uniq('snap-clone-unprot-child');
    const err = await rejection(image.snapshots.clone('s', pool, child, { cloneFormat: 1 }));
    made.push(child);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect(err).toMatchObject({ code: 'EINVAL', op: 'clone', snapshot: 's' });
    await expect(lab.rbd('site-a', ['info', spec(child)])).rejects.toThrow();
    await image.close();
  });

  test('cloning a missing snapshot rejects with SnapshotNotFound', async () => {
    const [name, image] = await newImage('snap-clone-missing');
    const err = await rejection(image.snapshots.clone('ghost', pool, uniq('snap-clone-missing-child')));
    expect(err).toBeInstanceOf(SnapshotNotFound);
    expect(err).toMatchObject({ code: 'ENOENT', op: 'clone', snapshot: 'ghost', image: name, pool: lab.pool });
    await image.close();
  });

  test('cloning onto an existing image name rejects with ImageExists', async () => {
    const [name, image] = await newImage('snap-clone-taken');
    await image.snapshots.create('s');
    await image.snapshots.protect('s');
    const err = await rejection(image.snapshots.clone('s', pool, name));
    expect(err).toBeInstanceOf(ImageExists);
    expect(err.code).toBe('EEXIST');
    await image.close();
  });

  test('cloning into a closed pool rejects with HandleClosed', async () => {
    const [, image] = await newImage('snap-clone-closed');
    await image.snapshots.create('s');
    await image.snapshots.protect('s');
    const other = await cluster.openPool(lab.pool);
    await other.close();
    const err = await rejection(image.snapshots.clone('s', other, uniq('snap-clone-closed-child')));
    expect(err).toBeInstanceOf(HandleClosed);
    expect(err.code).toBe('EBADF');
    await image.close();
  });

  test('children of a missing snapshot rejects with SnapshotNotFound', async () => {
    const [, image] = await newImage('snap-kids-missing');
    const err = await rejection(image.snapshots.children('ghost'));
    expect(err).toBeInstanceOf(SnapshotNotFound);
    expect(err).toMatchObject({ code: 'ENOENT', op: 'listChildren', snapshot: 'ghost' });
    await image.close();
  });
});

describe('arguments and lifecycle', () => {
  test('bad names throw TypeError or RangeError before any native call, even on a closed image', async () => {
    const [, image] = await newImage('snap-args');
    await image.close();
    const s = image.snapshots;
    await expect(s.create('')).rejects.toThrow(RangeError);
    await expect(s.create(7 as unknown as string)).rejects.toThrow(TypeError);
    await expect(s.create('a\0b')).rejects.toThrow(RangeError);
    await expect(s.remove(undefined as unknown as string)).rejects.toThrow(TypeError);
    await expect(s.rename('a', '')).rejects.toThrow(RangeError);
    await expect(s.exists(null as unknown as string)).rejects.toThrow(TypeError);
    await expect(s.isProtected('')).rejects.toThrow(RangeError);
    await expect(s.setCurrent('')).rejects.toThrow(RangeError);
    await expect(s.children('')).rejects.toThrow(RangeError);
  });

  test('bad options throw TypeError or RangeError before any native call', async () => {
    const [, image] = await newImage('snap-opts');
    await image.close();
    const s = image.snapshots;
    await expect(s.create('x', 'fast' as never)).rejects.toThrow(TypeError);
    await expect(s.create('x', { skipQuiesce: 1 as unknown as boolean })).rejects.toThrow(TypeError);
    await expect(s.remove('x', { force: 'yes' as unknown as boolean })).rejects.toThrow(TypeError);
    await expect(s.rollback('x', { onProgress: 5 as never })).rejects.toThrow(TypeError);
    await expect(s.setLimit(-1)).rejects.toThrow(RangeError);
    await expect(s.setLimit(1.5)).rejects.toThrow(RangeError);
    await expect(s.setLimit('2' as unknown as number)).rejects.toThrow(TypeError);
    await expect(s.clone('x', {} as Pool, 'c')).rejects.toThrow(TypeError);
    await expect(s.clone('x', pool, 'c', { order: 40 })).rejects.toThrow(RangeError);
    await expect(s.clone('x', pool, 'c', { features: ['no-such-feature'] })).rejects.toThrow(TypeError);
    await expect(s.clone('x', pool, 'c', { stripeUnit: 65536 })).rejects.toThrow(TypeError);
    await expect(s.clone('x', pool, 'c', { cloneFormat: 3 as 2 })).rejects.toThrow(RangeError);
    await expect(s.children(null, { descendants: 'all' as unknown as boolean })).rejects.toThrow(TypeError);
  });

  test('calls on a closed image reject with HandleClosed (EBADF)', async () => {
    const [name, image] = await newImage('snap-closed');
    await image.close();
    const err = await rejection(image.snapshots.list());
    expect(err).toBeInstanceOf(HandleClosed);
    expect(err).toMatchObject({ code: 'EBADF', op: 'listSnapshots', image: name });
    await expect(image.snapshots.create('x')).rejects.toBeInstanceOf(HandleClosed);
  });
});
