/**
 * How exact image.mirror.waitForReplication() is, against an oracle that polls
 * the peer's data itself: after each write (never flushed by the caller), the
 * wait runs while a reader on its own site-b connection hashes the written
 * range every ORACLE_MS until it matches. The assertion is correctness only:
 * when the wait resolves, site-b holds the data (read right then through the
 * oracle's connection). The timings (wait duration, and how long after the
 * oracle first saw the data the wait resolved) are printed, not asserted.
 * WAITS per mode; XRBD_WAIT_PRECISION_N overrides (the README figures used 20).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Cluster, type Image, type Pool } from '../../../lib';
import { getLab } from '../../setup/lab-env';
import { waitFor } from '../../setup/wait';

type Lab = Awaited<ReturnType<typeof getLab>>;

const WAITS = Number(process.env.XRBD_WAIT_PRECISION_N ?? 20);
const ORACLE_MS = 100;
const MiB = 1024 * 1024;
const SIZE = 16 * MiB;
const CHUNK = 64 * 1024;

let lab: Lab;
let a: Cluster;
let b: Cluster;
let oracle: Cluster;
let pa: Pool;
let pb: Pool;
let po: Pool;
const made: string[] = [];
const sha = (buf: Uint8Array) => createHash('sha256').update(buf).digest('hex');

beforeAll(async () => {
  lab = await getLab();
  a = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  b = await Cluster.connect({ confPath: lab.site('site-b').confPath });
  oracle = await Cluster.connect({ confPath: lab.site('site-b').confPath });
  pa = await a.openPool(lab.pool);
  pb = await b.openPool(lab.pool);
  po = await oracle.openPool(lab.pool);
}, 120_000);

afterAll(async () => {
  for (const name of made) {
    await lab.rbd('site-a', ['mirror', 'image', 'disable', '--force', `${lab.pool}/${name}`]).catch(() => undefined);
    await lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${name}`]).catch(() => undefined);
  }
  await oracle?.close();
  await b?.close();
  await a?.close();
}, 120_000);

/** The oracle: sha256 of [offset, offset+length) on site-b, through a fresh read-only handle on its own connection. */
async function peerHash(name: string, offset: number, length: number): Promise<string | null> {
  try {
    const img = await po.openImage(name, { readOnly: true });
    try {
      return sha(await img.read(offset, length));
    } finally {
      await img.close();
    }
  } catch {
    return null;
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
  return { n: s.length, min: s[0], median: q(0.5), p90: q(0.9), max: s[s.length - 1] };
};

describe.each(['journal', 'snapshot'] as const)('%s mode: precision of waitForReplication', (mode) => {
  let name: string;
  let img: Image;
  let peer: Image;

  beforeAll(async () => {
    name = `mwprec-${mode[0]}-${process.pid}`;
    made.push(name);
    await pa.createImage(name, SIZE, { features: ['layering', 'exclusive-lock'] });
    img = await pa.openImage(name);
    await img.mirror.enable(mode);
    peer = await waitFor(`${name} on site-b`, () => pb.openImage(name, { readOnly: true }));
    await waitFor(`${name} replaying on site-b`, async () =>
      (await peer.mirror.status().catch(() => null))?.local?.state === 'replaying' ? true : undefined,
    );
  }, 180_000);

  afterAll(async () => {
    await peer?.close().catch(() => undefined);
    await img?.close().catch(() => undefined);
  });

  test(`${WAITS} waits after unflushed writes: each resolves only once site-b holds the data`, async () => {
    const waitMs: number[] = [];
    const afterData: number[] = [];
    const dataMs: number[] = [];
    for (let i = 0; i < WAITS; i++) {
      const offset = Math.floor(Math.random() * (SIZE / CHUNK)) * CHUNK;
      const data = randomBytes(CHUNK);
      const want = sha(data);
      await img.write(data, offset);
      const t0 = Date.now();
      let seenAt: number | null = null;
      let resolved = false;
      const watching = (async () => {
        while (!resolved && seenAt === null) {
          if ((await peerHash(name, offset, CHUNK)) === want) seenAt = Date.now();
          else await new Promise((r) => setTimeout(r, ORACLE_MS));
        }
      })();
      const r = await img.mirror.waitForReplication({ timeoutMs: 120_000, ...(mode === 'snapshot' ? { peer } : {}) });
      const doneAt = Date.now();
      resolved = true;
      // The correctness check: at resolution, the peer holds the data.
      expect(await peerHash(name, offset, CHUNK)).toBe(want);
      await watching;
      expect(r.source).toBe(mode === 'journal' ? 'journal' : 'peer-snapshot');
      waitMs.push(doneAt - t0);
      if (seenAt !== null) {
        dataMs.push(seenAt - t0);
        afterData.push(doneAt - seenAt);
      }
    }
    process.stdout.write(
      `[wait-precision] ${mode}: wait ms ${JSON.stringify(stats(waitMs))}; oracle saw the data at ms ${JSON.stringify(stats(dataMs))}; ` +
        `wait resolved ms after the oracle saw the data ${JSON.stringify(stats(afterData))} (oracle poll ${ORACLE_MS} ms; ` +
        `${WAITS - afterData.length} waits resolved before the oracle's next poll)\n`,
    );
    expect(waitMs).toHaveLength(WAITS);
  }, 600_000);
});
