/**
 * The role gate (lib/image/role-gate.ts) on a pool of this file's own on
 * site-a, mirroring enabled in image mode (no peer: a demote and a promote of
 * a snapshot-mode image need none): one gate per image whatever opened it,
 * and the pool-wide demote/promote go through it too.
 *
 * What the gate promises: while one handle demotes, every other handle of the
 * image in this process holds its new calls, and once the demote is done
 * those calls see the new role — a write held that way is refused (EROFS),
 * never acknowledged on the now non-primary copy (librbd 16.2.15 also crashed
 * the process when another handle took the lock mid-demote; README "Known
 * issues").
 */
import { Cluster, type Image, type Pool, type RbdError } from '../../../lib';
import { getLab } from '../../setup/lab-env';

let cluster: Cluster;
let pool: Pool;
const poolName = `gate-${process.pid}`;
const MiB = 1024 * 1024;
let seq = 0;

beforeAll(async () => {
  const lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  await cluster.createPool(poolName);
  pool = await cluster.openPool(poolName);
  await pool.init();
  await pool.mirror.enable('image');
}, 120_000);

afterAll(async () => {
  if (pool && !pool.closed) {
    for (const { name } of await pool.listImageSpecs().catch(() => [])) {
      await pool.openImage(name).then(async (i) => {
        await i.mirror.disable({ force: true }).catch(() => undefined);
        await i.close();
      }, () => undefined);
      await pool.removeImage(name).catch(() => undefined);
    }
    await pool.close();
  }
  await cluster?.deletePool(poolName).catch(() => undefined);
  await cluster?.close();
}, 120_000);

async function mirroredImage(): Promise<string> {
  const name = `img-${++seq}`;
  await pool.createImage(name, 4 * MiB, { features: ['layering', 'exclusive-lock'] });
  const i = await pool.openImage(name);
  await i.mirror.enable('snapshot');
  await i.close();
  return name;
}

/** Demote through `changer` while `writer` issues 8 writes; the outcomes in the order they settled. */
async function demoteWhileWriting(changer: Image, writer: Image, at: number): Promise<string[]> {
  await writer.write(Buffer.alloc(4096, 1), 0); // the writer holds the exclusive lock
  const order: string[] = [];
  const demote = changer.mirror.demote().then(() => order.push('demote'));
  const writes = Array.from({ length: 8 }, (_, i) =>
    writer.write(Buffer.alloc(4096, 2), at + 4096 * i).then(
      () => order.push('write ok'),
      (e: unknown) => order.push(`write ${(e as RbdError).code}`),
    ),
  );
  await Promise.all([demote, ...writes]);
  return order;
}

describe('one gate per image, whatever opened the handle', () => {
  test('handles opened by name and by id share it: a demote through either holds the other\'s writes, which are then refused', async () => {
    const name = await mirroredImage();
    const byName = await pool.openImage(name);
    const id = (await byName.stat()).id;
    const byId = await pool.openImageById(id);
    try {
      expect(byId.name).toBe(id);

      // Demote through the handle opened by name; the one opened by id writes.
      const first = await demoteWhileWriting(byName, byId, MiB);
      expect(first[0]).toBe('demote');
      expect(first.slice(1)).toEqual(Array(8).fill('write EROFS'));
      expect((await byId.mirror.info()).primary).toBe(false);
      expect((await byId.read(MiB, 8 * 4096)).every((x) => x === 0)).toBe(true);

      // Back to primary, then the other way round: demote by id, write by name.
      await byId.mirror.promote();
      expect((await byName.mirror.info()).primary).toBe(true);
      const second = await demoteWhileWriting(byId, byName, 2 * MiB);
      expect(second[0]).toBe('demote');
      expect(second.slice(1)).toEqual(Array(8).fill('write EROFS'));
      expect((await byName.mirror.info()).primary).toBe(false);
      expect((await byName.read(2 * MiB, 8 * 4096)).every((x) => x === 0)).toBe(true);
      // Primary again, then not mirrored: the pool-wide test below counts this pool's mirrored images.
      await byName.mirror.promote();
      await byName.mirror.disable();
    } finally {
      await byId.close();
      await byName.close();
    }
  }, 120_000);
});

describe('pool-wide demote and promote go through the gate', () => {
  test('pool.mirror.demote() while another handle of an image keeps writing: no crash, writes acknowledged before it and refused after, none lost', async () => {
    const name = await mirroredImage();
    const writer = await pool.openImage(name);
    try {
      await writer.write(Buffer.alloc(4096, 1), 0);
      let done = false;
      const outcomes: Array<{ at: number; result: string }> = [];
      // One write at a time, each at the next 4 KiB block, until the pool-wide demote has answered.
      const writing = (async () => {
        for (let i = 1; !done && i < 1024; i++) {
          const at = 4096 * i;
          const result = await writer.write(Buffer.alloc(4096, 0xab), at).then(
            () => 'ok',
            (e: unknown) => (e as RbdError).code,
          );
          outcomes.push({ at, result });
        }
      })();
      const results = await pool.mirror.demote().finally(() => {
        done = true;
      });
      await writing;

      expect(results).toEqual([{ image: name, ok: true }]);
      const codes = outcomes.map((o) => o.result);
      // Acknowledged writes first, then only refusals: nothing acknowledged once the image was demoted.
      const firstRefused = codes.indexOf('EROFS');
      expect(firstRefused).toBeGreaterThanOrEqual(0);
      expect(codes.slice(firstRefused)).toEqual(Array(codes.length - firstRefused).fill('EROFS'));
      expect((await writer.mirror.info()).primary).toBe(false);
      // Every acknowledged write is in the image; no refused one is.
      for (const o of outcomes) {
        const block = await writer.read(o.at, 4096);
        expect({ at: o.at, written: block.every((x) => x === 0xab) }).toEqual({ at: o.at, written: o.result === 'ok' });
      }

      // The pool-wide promote brings it back; the writer's next write goes through.
      expect(await pool.mirror.promote()).toEqual([{ image: name, ok: true }]);
      expect((await writer.mirror.info()).primary).toBe(true);
      await expect(writer.write(Buffer.alloc(4096, 3), 0)).resolves.toBe(4096);
    } finally {
      await writer.close();
    }
  }, 120_000);
});
