/**
 * The disaster-recovery story `npm run demo` tells, on a two-site lab of its
 * own: mirrored images, replication, planned failover and failback, the loss
 * of a site, a forced failover, the site's return (split brain) and the
 * failback that repairs it. Data is checked by sha256 through the SDK at every
 * step; a mismatch throws and the demo exits non-zero.
 *
 * The last line printed is `DEMO-RESULT <json>`: { ok, steps: [{ name, ok, ms }], checks, error? }.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';

import { Cluster, type DrEvent, type DrReport, drill, failback, failover, type Image, type MirrorImageStatus, type MirrorReplayStatus, type Pool } from '../index';
import { Lab, packageRoot } from '../lab';

/** Command line of the demo. */
export interface DemoArgs {
  dir: string;
  basePort: number;
  keep: boolean;
}

/** One DEMO-RESULT step. */
interface StepResult {
  name: string;
  ok: boolean;
  ms: number;
}

type SiteName = 'site-a' | 'site-b';

const MiB = 1024 * 1024;
const SIZE = 16 * MiB; // four 4 MiB objects
const OBJECT = 4 * MiB;
const IMAGES = ['dr-journal', 'dr-snapshot'] as const;
const MODES: Record<(typeof IMAGES)[number], 'journal' | 'snapshot'> = { 'dr-journal': 'journal', 'dr-snapshot': 'snapshot' };
const WAIT_MS = 180_000;
const DR_TIMEOUT_MS = 240_000;
const SETTLE_MS = 60_000;

/** The steps, in order, as DEMO-RESULT names them. */
export const DEMO_STEPS = [
  'lab',
  'create',
  'replicate',
  'drill',
  'planned-failover',
  'failback',
  'site-loss',
  'site-return',
] as const;

/** Checksum verifications a successful run makes (DEMO-RESULT's checks). */
export const DEMO_CHECKS = 22;

export function parseArgs(argv: readonly string[]): DemoArgs {
  const args: DemoArgs = { dir: path.join(packageRoot, '.lab-demo'), basePort: 17900, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--keep') args.keep = true;
    else if (a === '--dir') args.dir = path.resolve(value());
    else if (a === '--base-port') {
      args.basePort = Number(value());
      if (!Number.isInteger(args.basePort) || args.basePort < 1024 || args.basePort > 65000) throw new Error('--base-port must be a port number');
    } else throw new Error(`unknown argument ${a} (usage: node dist/demo/index.js [--dir DIR] [--base-port PORT] [--keep])`);
  }
  return args;
}

// ------------------------------------------------------------------ output

const t0 = Date.now();
const secs = (from = t0): string => ((Date.now() - from) / 1000).toFixed(1);
/** One indented line; longer ones wrapped at word boundaries to stay within ~100 columns. */
function say(line = ''): void {
  const width = 92;
  let rest = line;
  let lead = '';
  while (rest.length > width - lead.length && rest.includes(' ')) {
    const cut = rest.lastIndexOf(' ', width - lead.length);
    if (cut <= 0) break;
    console.log(`        ${lead}${rest.slice(0, cut)}`);
    rest = rest.slice(cut + 1);
    lead = '    ';
  }
  console.log(`        ${lead}${rest}`);
}
/** Columns padded to their widest cell; a row of one cell is a note printed under the row before it. */
function table(header: string[], rows: string[][]): void {
  const cells = rows.filter((r) => r.length > 1);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  const out = (l: string) => console.log(`        ${l}`.trimEnd()); // never wrapped
  out(fmt(header));
  out(fmt(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) out(r.length > 1 ? fmt(r) : `    ${r[0]}`);
}
const short = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

// ------------------------------------------------------------------ the sites

interface Site {
  name: SiteName;
  cluster: Cluster | null;
  pool: Pool | null;
}

class Demo {
  readonly lab: Lab;
  readonly sites: Record<SiteName, Site> = {
    'site-a': { name: 'site-a', cluster: null, pool: null },
    'site-b': { name: 'site-b', cluster: null, pool: null },
  };
  /** What each image must hold, byte for byte. */
  readonly expected = new Map<string, Buffer>();
  checks = 0;

  constructor(lab: Lab) {
    this.lab = lab;
  }

  pool(site: SiteName): Pool {
    const p = this.sites[site].pool;
    if (!p) throw new Error(`${site} is not connected`);
    return p;
  }

  async connect(site: SiteName): Promise<void> {
    const cluster = await Cluster.connect({ confPath: this.lab.site(site).confPath, timeoutMs: 20_000 });
    this.sites[site] = { name: site, cluster, pool: await cluster.openPool(this.lab.pool) };
  }

  /** Close a site's handles (its pool and every image opened through it). */
  async disconnect(site: SiteName): Promise<void> {
    const c = this.sites[site].cluster;
    this.sites[site] = { name: site, cluster: null, pool: null };
    await c?.close();
  }

  async withImage<T>(site: SiteName, name: string, fn: (image: Image) => Promise<T>, readOnly = false): Promise<T> {
    const image = await this.pool(site).openImage(name, { readOnly });
    try {
      return await fn(image);
    } finally {
      await image.close();
    }
  }

  /** Random data at several offsets, each crossing a 4 MiB object boundary, written to the primary copy on `site`. */
  async write(site: SiteName, name: string): Promise<void> {
    const data = this.expected.get(name) ?? Buffer.alloc(SIZE);
    const writes: Array<[number, Buffer]> = [];
    for (let obj = 1; obj < SIZE / OBJECT; obj++) {
      const before = 4096 * (1 + Math.floor(Math.random() * 32));
      const len = before + 4096 * (1 + Math.floor(Math.random() * 64));
      writes.push([obj * OBJECT - before, randomBytes(len)]);
    }
    writes.push([4096 * Math.floor(Math.random() * 256), randomBytes(64 * 1024)]); // and one inside the first object
    await this.withImage(site, name, async (image) => {
      for (const [off, buf] of writes) {
        await image.write(buf, off);
        buf.copy(data, off);
      }
      await image.flush();
    });
    this.expected.set(name, data);
    const bytes = writes.reduce((n, [, b]) => n + b.length, 0);
    say(`${site}: wrote ${writes.length} extents (${(bytes / 1024).toFixed(0)} KiB) to ${name} at ${writes.map(([o]) => `${(o / MiB).toFixed(2)}M`).join(', ')}`);
  }

  /** Read the whole image on `site` (read-only: the copy may be non-primary) and compare its sha256 with what it must hold. */
  async verify(site: SiteName, name: string): Promise<void> {
    const want = sha(this.expected.get(name) ?? Buffer.alloc(SIZE));
    const got = await this.withImage(
      site,
      name,
      async (image) => {
        const h = createHash('sha256');
        for (let off = 0; off < SIZE; off += OBJECT) h.update(await image.read(off, OBJECT));
        return h.digest('hex');
      },
      true,
    );
    if (got !== want) throw new Error(`checksum mismatch: ${name} on ${site} has sha256 ${got}, expected ${want}`);
    this.checks++;
    say(`${site}: ${name.padEnd(12)} sha256 ${got.slice(0, 16)}… matches (check ${this.checks})`);
  }

  async verifyAll(sites: SiteName[]): Promise<void> {
    for (const site of sites) for (const name of IMAGES) await this.verify(site, name);
  }

  /** Write on the primary `from`, wait for `to` to replay it (waitForReplication with the peer's handle). */
  async replicate(from: SiteName, to: SiteName): Promise<void> {
    const t = Date.now();
    await Promise.all(
      IMAGES.map(async (name) => {
        const s = Date.now();
        const peer = await this.pool(to).openImage(name, { readOnly: true });
        try {
          await this.withImage(from, name, (image) => image.mirror.waitForReplication({ peer, timeoutMs: WAIT_MS }));
        } finally {
          await peer.close();
        }
        say(`${name} (${MODES[name]}): ${to} caught up with ${from} in ${secs(s)} s`);
      }),
    );
    say(`replication ${from} → ${to} awaited in ${secs(t)} s`);
  }

  /** Wait until every non-primary copy on `site` is up and replaying. */
  async awaitReplaying(site: SiteName): Promise<void> {
    await Promise.all(
      IMAGES.map((name) =>
        this.withImage(site, name, (image) => image.mirror.waitForState({ local: 'replaying', up: true }, { timeoutMs: WAIT_MS }), true),
      ),
    );
  }

  /**
   * After a role change, rbd-mirror's status of the new primary copies lags for
   * a while (snapshot mode: 'unknown', "remote image demoted"): wait, bounded,
   * until `primary` reports its copies up+stopped and `replica` up+replaying.
   * Not reaching it is reported, not fatal: the data checks are the proof.
   */
  async awaitSettled(primary: SiteName, replica: SiteName): Promise<void> {
    const t = Date.now();
    try {
      await Promise.all(
        IMAGES.flatMap((name) => [
          this.withImage(primary, name, (image) => image.mirror.waitForState({ local: 'stopped', up: true }, { timeoutMs: SETTLE_MS }), true),
          this.withImage(replica, name, (image) => image.mirror.waitForState({ local: 'replaying', up: true }, { timeoutMs: SETTLE_MS }), true),
        ]),
      );
      say(`statuses settled (${primary} up+stopped, ${replica} up+replaying) after ${secs(t)} s`);
    } catch (err) {
      say(`statuses not settled after ${secs(t)} s: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async status(site: SiteName, name: string): Promise<MirrorImageStatus> {
    return this.withImage(site, name, (image) => image.mirror.status(), true);
  }

  /** The status table: one row per site and image. */
  async statusTable(): Promise<MirrorImageStatus[][]> {
    const rows: string[][] = [];
    const all: MirrorImageStatus[][] = [];
    for (const site of ['site-a', 'site-b'] as const) {
      const per: MirrorImageStatus[] = [];
      for (const name of IMAGES) {
        if (!this.sites[site].pool) {
          rows.push([site, name, '?', 'unreachable', 'site is down']);
          continue;
        }
        const s = await this.status(site, name);
        per.push(s);
        const l = s.local;
        rows.push([
          site,
          name,
          s.info.primary ? 'yes' : 'no',
          l ? `${l.up ? 'up' : 'down'}+${l.state}` : 'n/a',
          l ? short(describe(l.description, l.replay), 46) : '',
        ]);
      }
      all.push(per);
      const pool = this.sites[site].pool;
      if (pool) {
        const ps = await pool.mirror.status();
        const states = Object.entries(ps.states)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
        rows.push([site, '(pool)', '', `health ${ps.health}`, `daemon ${ps.daemonHealth}, images: ${states}`]);
      }
    }
    table(['site', 'image', 'primary', 'local state', 'description'], rows);
    return all;
  }

  /** Print a failover/failback report (states as site-a/site-b); throw when it is not ok. */
  report(r: DrReport): void {
    const on = (site: SiteName, x: { from: string; to: string }) => (r.to === site ? x.to : r.from === site ? x.from : '?');
    const ab = (x: { from: string; to: string }) => `${on('site-a', x)}/${on('site-b', x)}`;
    const rows: string[][] = [];
    for (const i of r.images) {
      rows.push([i.image, i.outcome, ab(i.before), ab(i.after), `${(i.ms / 1000).toFixed(1)} s`]);
      rows.push([`→ ${i.actions.map((a) => `${a.step}@${a.site.replace('site-', '')}`).join(' ') || 'none'}`]);
    }
    table(['image', 'outcome', 'before (site-a/site-b)', 'after (site-a/site-b)', 'time'], rows);
    say(`${r.operation} (${r.mode}) ${r.from ?? '(lost site)'} → ${r.to}: ${r.ok ? 'ok' : 'NOT ok'} in ${(r.ms / 1000).toFixed(1)} s`);
    for (const i of r.images) {
      if (i.hint) say(`${i.image}: hint: ${i.hint}`);
      if (i.error) say(`${i.image}: error: ${i.error.name}: ${i.error.message}`);
    }
    if (!r.ok || r.images.length !== IMAGES.length) {
      throw new Error(`${r.operation} did not succeed: ${JSON.stringify(r, (k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v))}`);
    }
  }
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A status description without its JSON: the replay status in a few words instead. */
function describe(description: string, replay: MirrorReplayStatus | null): string {
  const head = description.replace(/,?\s*\{.*\}\s*$/s, '');
  if (!replay) return head;
  if (replay.kind === 'journal') return `${head}, ${replay.entriesBehindPrimary} entries behind`;
  const at = replay.localSnapshotTimestamp ? `, synced ${replay.localSnapshotTimestamp.toISOString().slice(11, 19)}` : '';
  return `${head}, ${replay.replayState}${at}`;
}

function onEvent(e: DrEvent): void {
  if (e.phase === 'inspect' || e.phase === 'verify') return;
  say(`  [${secs()} s] ${e.image}: ${e.message}`);
}

// ------------------------------------------------------------------ the story

export async function runDemo(args: DemoArgs): Promise<boolean> {
  const steps: StepResult[] = [];
  let demo: Demo | null = null;
  let lab: Lab | null = null;
  let failure: unknown;

  const step = async (name: (typeof DEMO_STEPS)[number], title: string, fn: () => Promise<void>): Promise<void> => {
    const n = DEMO_STEPS.indexOf(name) + 1;
    console.log(`\n[${secs().padStart(5)} s] == ${n}. ${title}`);
    const s = Date.now();
    try {
      await fn();
    } catch (err) {
      steps.push({ name, ok: false, ms: Date.now() - s });
      throw err;
    }
    steps.push({ name, ok: true, ms: Date.now() - s });
    say(`-- step ${n} (${name}) done in ${secs(s)} s`);
  };

  try {
    await step('lab', `Two single-node Ceph clusters, site-a and site-b, with an rbd-mirror daemon each`, async () => {
      lab = await Lab.start({ dir: args.dir, basePort: args.basePort, log: (l) => say(l) });
      demo = new Demo(lab);
      await demo.connect('site-a');
      await demo.connect('site-b');
      const v = Cluster.versions();
      say(`lab in ${lab.dir}, pool '${lab.pool}'; librbd ${v.rbd}`);
      for (const s of ['site-a', 'site-b'] as const) say(`${s}: mon ${lab.site(s).monHost}, fsid ${lab.site(s).fsid}`);
    });
    const d = demo as unknown as Demo;
    const l = lab as unknown as Lab;

    await step('create', 'A journal- and a snapshot-mirrored image on site-a; rbd-mirror copies them to site-b', async () => {
      for (const name of IMAGES) {
        await d.pool('site-a').createImage(name, SIZE, { features: ['layering', 'exclusive-lock'] });
        await d.withImage('site-a', name, (image) => image.mirror.enable(MODES[name]));
        say(`created ${l.pool}/${name} (${SIZE / MiB} MiB, layering + exclusive-lock), mirror.enable('${MODES[name]}')`);
      }
      const t = Date.now();
      for (const name of IMAGES) {
        for (;;) {
          const copy = await d.withImage('site-b', name, (image) => image.mirror.info(), true).catch(() => null);
          if (copy && copy.state === 'enabled' && !copy.primary) break;
          if (Date.now() - t > WAIT_MS) throw new Error(`${name} did not appear on site-b within ${WAIT_MS} ms`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      await d.awaitReplaying('site-b');
      say(`both copies exist on site-b and replay, after ${secs(t)} s`);
      await d.statusTable();
    });

    await step('replicate', 'Writes on site-a, replicated to site-b (waitForReplication), sha256 on both sites', async () => {
      for (const name of IMAGES) await d.write('site-a', name);
      await d.replicate('site-a', 'site-b');
      await d.verifyAll(['site-a', 'site-b']);
    });

    await step('drill', 'DR drill on site-b: a writable copy from a consistent point, checked, tested, removed; replication goes on', async () => {
      for (const name of IMAGES) {
        const t = Date.now();
        await using handle = await drill({ primary: d.pool('site-a'), secondary: d.pool('site-b'), image: name, timeoutMs: WAIT_MS });
        const p = handle.point;
        say(`${name} (${p.mode}): drill image ${handle.spec} from the copy's ${p.source === 'head' ? 'head at' : ''} ${p.snapshotName} = site-a snapshot ${p.primarySnapshotId} (${p.timestamp.toISOString()})`);
        say(`  sha256 ${handle.checksums.drill.slice(0, 16)}… = site-a at that point; point ${handle.timings.pointMs} ms, copy ${handle.timings.copyMs} ms, verify ${handle.timings.verifyMs} ms`);
        // every write of step 3 came before the point: the drill image holds exactly what site-a holds
        const want = sha(d.expected.get(name) ?? Buffer.alloc(SIZE));
        if (handle.checksums.drill !== want) throw new Error(`drill image of ${name}: sha256 ${handle.checksums.drill}, expected ${want}`);
        d.checks++;
        // the test a DR plan would run: the drill copy takes writes (here, a block written and read back)
        await using img = await handle.open();
        const block = randomBytes(4096);
        await img.write(block, 0);
        if (!(await img.read(0, 4096)).equals(block)) throw new Error(`drill image of ${name}: a write did not read back`);
        // production meanwhile: site-a keeps writing and site-b keeps replaying
        await d.write('site-a', name);
        const st = await d.status('site-b', name);
        if (st.info.primary || st.local?.state !== 'replaying') throw new Error(`${name} on site-b is ${st.local?.state} during the drill`);
        say(`  site-b still up+replaying, non-primary; drill done in ${secs(t)} s (cleanup on scope exit)`);
      }
      await d.replicate('site-a', 'site-b');
      await d.verifyAll(['site-b']);
    });

    await step('planned-failover', 'Planned failover site-a → site-b, then writes on site-b replicated back to site-a', async () => {
      const r = await failover({ mode: 'planned', from: d.pool('site-a'), to: d.pool('site-b'), images: [...IMAGES], timeoutMs: DR_TIMEOUT_MS, onEvent });
      d.report(r);
      await d.verifyAll(['site-b']);
      for (const name of IMAGES) await d.write('site-b', name);
      await d.replicate('site-b', 'site-a');
      await d.verifyAll(['site-a']);
      await d.awaitSettled('site-b', 'site-a');
      await d.statusTable();
    });

    await step('failback', 'Failback: the primary role returns to site-a', async () => {
      const r = await failback({ from: d.pool('site-b'), to: d.pool('site-a'), images: [...IMAGES], timeoutMs: DR_TIMEOUT_MS, onEvent });
      d.report(r);
      await d.verifyAll(['site-a', 'site-b']);
      await d.awaitSettled('site-a', 'site-b');
      await d.statusTable();
    });

    await step('site-loss', 'site-a is lost: its daemons stop; forced failover to site-b; writes on site-b', async () => {
      await d.disconnect('site-a'); // a call to a stopped cluster would block until its timeout
      const t = Date.now();
      await l.stopSite('site-a');
      say(`site-a stopped in ${secs(t)} s (mon, mgr, osd, rbd-mirror)`);
      const r = await failover({ mode: 'forced', from: null, to: d.pool('site-b'), images: [...IMAGES], timeoutMs: DR_TIMEOUT_MS, onEvent });
      d.report(r);
      for (const name of IMAGES) await d.write('site-b', name);
      await d.verifyAll(['site-b']);
      await d.statusTable();
    });

    await step('site-return', 'site-a returns: split brain, repaired by a failback naming both images', async () => {
      const t = Date.now();
      await l.startSite('site-a');
      await d.connect('site-a');
      say(`site-a restarted and reconnected in ${secs(t)} s`);
      const [a, b] = await d.statusTable();
      const both = IMAGES.filter((_, i) => a[i]?.info.primary && b[i]?.info.primary);
      if (both.length !== IMAGES.length) throw new Error(`expected both copies of every image primary (split brain), got ${both.join(', ') || 'none'}`);
      say(
        `split brain: both copies of ${both.join(' and ')} are primary; site-a's are stale (they lack the writes made on ` +
          `site-b meanwhile), and only a failback naming the images may resync them (a resync discards data)`,
      );
      const r = await failback({ from: d.pool('site-b'), to: d.pool('site-a'), images: [...IMAGES], timeoutMs: DR_TIMEOUT_MS, onEvent });
      d.report(r);
      await d.verifyAll(['site-a', 'site-b']);
      await d.awaitSettled('site-a', 'site-b');
      say('site-a is primary again and holds what was written on site-b while it was down; site-b replays');
      await d.statusTable();
    });
  } catch (err) {
    failure = err;
    console.error(`\ndemo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    if (demo) {
      for (const s of ['site-b', 'site-a'] as const) await (demo as Demo).disconnect(s).catch(() => undefined);
    }
    const theLab = lab as Lab | null;
    if (theLab && args.keep) console.log(`\nthe lab keeps running in ${theLab.dir} (stop it with: XRBD_LAB_DIR=${theLab.dir} npm run lab -- stop)`);
    else {
      // Lab.start may have failed half-way: stop whatever it left in the directory.
      const stopping = theLab ?? (await Lab.open(args.dir));
      if (stopping) {
        const t = Date.now();
        try {
          await stopping.stop({ purge: failure === undefined });
          console.log(`\nlab stopped${failure === undefined ? ' and removed' : ` (its logs are kept in ${stopping.dir})`} in ${secs(t)} s`);
        } catch (err) {
          failure ??= err;
          console.error(`lab stop failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }
  const ok = failure === undefined && steps.length === DEMO_STEPS.length && steps.every((s) => s.ok);
  console.log(`\ndemo ${ok ? 'finished' : 'FAILED'} in ${secs()} s; ${demo ? (demo as Demo).checks : 0} checksums verified; steps:`);
  say(steps.map((s) => `${s.name} ${(s.ms / 1000).toFixed(1)} s${s.ok ? '' : ' (failed)'}`).join(', '));
  const result: Record<string, unknown> = { ok, steps, checks: demo ? (demo as Demo).checks : 0 };
  if (failure !== undefined) result.error = failure instanceof Error ? failure.message.slice(0, 2000) : String(failure);
  console.log(`DEMO-RESULT ${JSON.stringify(result)}`);
  return ok;
}
