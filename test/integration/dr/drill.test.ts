/**
 * drill() on the live lab, per mirroring mode: the drill image on site-b holds
 * exactly site-a's data at the point (sha256 through the SDK, and `rbd export`
 * of the drill image as the oracle), is writable, and goes away on cleanup;
 * meanwhile site-b's copy stays non-primary and replaying (polled throughout),
 * a write on site-a made after the drill started still replicates, nothing is
 * demoted, and site-a's snapshots are unchanged but for what the drill names.
 * Refusals: a primary copy, an image not mirrored, no consistent point yet.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { Cluster, CopyIsPrimary, drill, MirroringNotEnabled, NoConsistentPoint, type Image, type Pool } from '../../../lib';
import { getLab } from '../../setup/lab-env';
import { waitFor } from '../../setup/wait';

type Lab = Awaited<ReturnType<typeof getLab>>;

let lab: Lab;
let a: Cluster;
let b: Cluster;
let pa: Pool;
let pb: Pool;
const made: string[] = [];
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const figures: string[] = [];

beforeAll(async () => {
  lab = await getLab();
  a = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  b = await Cluster.connect({ confPath: lab.site('site-b').confPath });
  pa = await a.openPool(lab.pool);
  pb = await b.openPool(lab.pool);
}, 120_000);

afterAll(async () => {
  console.log(`drill figures:\n${figures.join('\n')}`);
  for (const name of made) {
    await lab.rbd('site-a', ['mirror', 'image', 'disable', '--force', `${lab.pool}/${name}`]).catch(() => undefined);
    await lab.rbd('site-a', ['snap', 'purge', '--no-progress', `${lab.pool}/${name}`]).catch(() => undefined);
    await lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${name}`]).catch(() => undefined);
  }
  await b?.close();
  await a?.close();
}, 180_000);

const cliStatus = async (site: 'site-a' | 'site-b', name: string) =>
  JSON.parse(await lab.rbd(site, ['mirror', 'image', 'status', '--format', 'json', `${lab.pool}/${name}`])) as { state: string; description: string };

async function readAll(image: Image): Promise<Buffer> {
  return image.read(0, (await image.stat()).size);
}

async function mirrored(mode: 'journal' | 'snapshot'): Promise<{ name: string; data: Buffer }> {
  const name = uniq(`drill-${mode}`);
  made.push(name);
  await pa.createImage(name, SIZE, { features: ['layering', 'exclusive-lock', 'object-map', 'fast-diff', 'deep-flatten'] });
  const data = Buffer.alloc(SIZE);
  await using image = await pa.openImage(name);
  await image.mirror.enable(mode);
  for (const off of [0, 3 * MiB + 4096, 4 * MiB - 8192, 7 * MiB]) {
    const buf = randomBytes(64 * 1024);
    await image.write(buf, off);
    buf.copy(data, off);
  }
  await waitFor(`${name} replaying on site-b`, async () => ((await cliStatus('site-b', name)).state === 'up+replaying' ? true : undefined), 120_000);
  await using peer = await pb.openImage(name, { readOnly: true });
  await image.mirror.waitForReplication({ peer, timeoutMs: 120_000 });
  return { name, data };
}

/** What the drill must not touch on site-a: the mirroring role and every snapshot (id, name). */
async function primaryState(name: string) {
  await using image = await pa.openImage(name, { readOnly: true });
  const info = await image.mirror.info();
  const snaps = (await image.snapshots.list()).map((s) => `${s.id}:${s.name}`);
  return { primary: info.primary, snaps };
}

describe.each(['journal', 'snapshot'] as const)('%s mode', (mode) => {
  test('a verified, writable drill image on site-b; replication never stops; the primary is not touched', async () => {
    const { name, data } = await mirrored(mode);
    const before = await primaryState(name);
    // Poll site-b's own status the whole time (rbd's view, through the CLI): it must stay up+replaying.
    const states: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const st = await cliStatus('site-b', name).catch((e: unknown) => ({ state: `error: ${String(e)}`, description: '' }));
        states.push(st.state);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const t = Date.now();
    const d = await drill({ primary: pa, secondary: pb, image: name });
    try {
      figures.push(
        `  ${mode}: point ${d.timings.pointMs} ms, copy ${d.timings.copyMs} ms, verify ${d.timings.verifyMs} ms, total ${d.timings.totalMs} ms ` +
          `(${d.timings.attempts} attempt(s), source ${d.point.source}), drill() returned in ${Date.now() - t} ms`,
      );
      expect(d.point.mode).toBe(mode);
      expect(d.spec).toBe(`${lab.pool}/${d.image}`);
      // the drill image holds site-a's data as written (every write came before the point)
      expect(d.checksums).toEqual({ drill: sha(data), primary: sha(data), size: SIZE });
      const exported = path.join(tmpdir(), `${d.image}.raw`);
      await lab.rbd('site-b', ['export', '--no-progress', d.spec, exported], { timeoutMs: 60_000 });
      try {
        expect(sha(await readFile(exported))).toBe(sha(data));
      } finally {
        await rm(exported, { force: true });
      }
      // the point names a snapshot of site-a with the same data
      {
        await using atPoint = await pa.openImage(name, { snapshotId: d.point.primarySnapshotId });
        expect(sha(await readAll(atPoint))).toBe(d.checksums.primary);
      }
      if (mode === 'journal') expect(d.point.createdOnPrimary).toBe(d.point.snapshotName);
      else expect(d.point.createdOnPrimary).toBeNull();
      // the caller's test: the drill image takes writes, it is no mirror copy
      {
        await using di = await d.open();
        const block = randomBytes(4096);
        await di.write(block, 12_288);
        expect((await di.read(12_288, 4096)).equals(block)).toBe(true);
        expect((await di.mirror.info()).state).toBe('disabled');
      }
      // production goes on: a write on site-a after the drill started replicates to site-b
      await using image = await pa.openImage(name);
      const late = randomBytes(64 * 1024);
      await image.write(late, 2 * MiB);
      late.copy(data, 2 * MiB);
      await using peer = await pb.openImage(name, { readOnly: true });
      await image.mirror.waitForReplication({ peer, timeoutMs: 120_000 });
      {
        await using fresh = await pb.openImage(name, { readOnly: true });
        expect(sha(await readAll(fresh))).toBe(sha(data));
      }
      // the copy on site-b is still the non-primary one
      expect((await peer.mirror.info()).primary).toBe(false);
    } finally {
      await d.cleanup();
      polling = false;
      await poller;
    }
    await d.cleanup(); // idempotent
    expect(await pb.listImages()).not.toContain(d.image);
    expect(states.length).toBeGreaterThan(0);
    expect(states.filter((s) => s !== 'up+replaying')).toEqual([]);
    // site-a: still primary, and its snapshots are what they were — but for mirror snapshots in snapshot mode,
    // which waitForReplication takes (the drill takes none there) and the drill snapshot (journal mode), now removed
    const after = await primaryState(name);
    expect(after.primary).toBe(true);
    const userSnaps = (s: string[]) => s.filter((x) => !x.includes(':.mirror.'));
    expect(userSnaps(after.snaps)).toEqual(userSnaps(before.snaps));
    if (mode === 'snapshot') for (const s of before.snaps) expect(after.snaps.includes(s) || s.includes(':.mirror.')).toBe(true);
    const rbdInfo = JSON.parse(await lab.rbd('site-a', ['info', '--format', 'json', `${lab.pool}/${name}`])) as { mirroring: { primary: boolean } };
    expect(rbdInfo.mirroring.primary).toBe(true);
  }, 300_000);
});

describe('xrbd drill', () => {
  const CLI = path.join(__dirname, '..', '..', '..', 'dist', 'cli', 'xrbd.js');
  const xrbd = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [CLI, '--conf', lab.site('site-b').confPath, ...args], { timeout: 180_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
    });

  test('--exec runs the caller\'s test against the drill image, then cleans up; a failing test fails the drill; --json', async () => {
    const { name, data } = await mirrored('journal');
    const out = path.join(tmpdir(), `${name}.info.json`);
    const conf = lab.site('site-b').confPath;
    try {
      const r = await xrbd(['drill', `${lab.pool}/${name}`, '--primary-conf', lab.site('site-a').confPath, '--json',
        '--exec', `rbd -c ${conf} info --format json "$XRBD_DRILL_SPEC" > ${out} && test "$XRBD_DRILL_POOL" = ${lab.pool}`]);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout) as { image: string; spec: string; checksums: { drill: string }; test: { exitCode: number }; cleanedUp: boolean; point: { mode: string } };
      expect(j).toMatchObject({ test: { exitCode: 0 }, cleanedUp: true, point: { mode: 'journal' } });
      expect(j.checksums.drill).toBe(sha(data));
      const info = JSON.parse(await readFile(out, 'utf8')) as { name: string; mirroring?: unknown };
      expect(info.name).toBe(j.image);
      expect(await pb.listImages()).not.toContain(j.image);
      const failed = await xrbd(['drill', `${lab.pool}/${name}`, '--primary-conf', lab.site('site-a').confPath, '--exec', 'exit 3']);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/test: exit 3 \(failed\)/);
      expect(failed.stdout).toMatch(/cleaned up/);
      expect((await pb.listImages()).filter((i) => i.startsWith(`${name}-drill`))).toEqual([]);
      // the drill snapshots on site-a are gone again
      expect((await primaryState(name)).snaps.filter((x) => x.includes('xrbd-drill'))).toEqual([]);
    } finally {
      await rm(out, { force: true });
    }
  }, 300_000);
});

describe('refusals, each saying which', () => {
  test('a drill on the primary copy: CopyIsPrimary (nothing made)', async () => {
    const name = uniq('drill-primary');
    made.push(name);
    await pa.createImage(name, MiB, { features: ['layering', 'exclusive-lock'] });
    {
      await using img = await pa.openImage(name);
      await img.mirror.enable('snapshot');
    }
    // site-a's copy is the primary one: "secondary" site-a is refused
    const err = await drill({ primary: pb, secondary: pa, image: name }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CopyIsPrimary);
    expect(err).toMatchObject({ code: 'EINVAL', image: name, op: 'drill' });
    expect((err as Error).message).toMatch(/primary/);
    expect((await pa.listImages()).filter((i) => i.startsWith(`${name}-drill`))).toEqual([]);
  });

  test('a drill on an image that is not mirrored: MirroringNotEnabled', async () => {
    const name = uniq('drill-plain');
    made.push(name);
    await pb.createImage(name, MiB, { features: ['layering'] });
    try {
      const err = await drill({ primary: pa, secondary: pb, image: name }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MirroringNotEnabled);
      expect((err as Error).message).toMatch(/not enabled/);
    } finally {
      await pb.removeImage(name);
    }
  });

  test('a drill with no consistent point yet (the copy not replaying yet, or no complete mirror snapshot): NoConsistentPoint', async () => {
    const name = uniq('drill-early');
    made.push(name);
    await pa.createImage(name, 4 * MiB, { features: ['layering', 'exclusive-lock'] });
    {
      await using img = await pa.openImage(name);
      await img.mirror.enable('snapshot');
    }
    // as soon as the copy exists on site-b, before rbd-mirror has synced and reported it replaying
    await waitFor(`${name} on site-b`, async () => ((await pb.listImages()).includes(name) ? true : undefined), 120_000);
    const err = await drill({ primary: pa, secondary: pb, image: name }).catch((e: unknown) => e);
    figures.push(`  early drill: ${err instanceof Error ? `${err.name}: ${err.message}` : 'a drill image (rbd-mirror was quicker)'}`);
    if (err instanceof NoConsistentPoint) {
      expect(err).toMatchObject({ code: 'EAGAIN', image: name });
      expect(err.message).toMatch(/no consistent point/);
    } else {
      // rbd-mirror was quicker than the test: then the drill must be a proper one
      expect(err).toMatchObject({ point: { mode: 'snapshot' } });
      await (err as { cleanup(): Promise<void> }).cleanup();
    }
  });
});
