/**
 * Exit safety (Level's test, at every step this SDK has): a child process
 * reaches one lifecycle step and leaves there, in one of three ways:
 *
 * - exit:   process.exit(0) at once;
 * - return: returns normally without closing anything (the loop must drain
 *           and the process end by itself);
 * - throw:  an uncaught exception (exit code 1).
 *
 * Each run must end with the expected code, by no signal, within 30 s of
 * reaching its step (no hang). The steps: connected, pool open, image open, aio
 * writes in flight, an 'update' watch registered, a pool and an image mirror
 * status watcher running, a mirror snapshot being created, a worker_threads
 * Worker using the SDK. A table of step x mode goes to the test output.
 *
 * The children run the compiled SDK, built here into a private folder, with
 * the addon named by XRBD_ADDON (default build/Release/xrbd.node).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Lab } from '../../lib/lab';
import { getLab } from '../setup/lab-env';
import { tally } from './tally';
import { buildSdk } from '../setup/build-sdk';

const root = path.join(__dirname, '..', '..');
const addon = process.env.XRBD_ADDON ?? path.join(root, 'build', 'Release', 'xrbd.node');
/** From reaching the step to the process having ended. */
const BOUND_MS = 30_000;
/** Connecting and reaching the step first, on a busy machine. */
const KILL_MS = 120_000;

let lab: Lab;
let dist: string;
const image = `exit-safety-${process.pid}`;
const mirrored = `exit-safety-mirror-${process.pid}`;

type Mode = 'exit' | 'return' | 'throw';
const modes: Mode[] = ['exit', 'return', 'throw'];
const expectedCode: Record<Mode, number> = { exit: 0, return: 0, throw: 1 };
const steps = [
  'connected',
  'pool-open',
  'image-open',
  'io-in-flight',
  'watch-registered',
  'pool-mirror-watch',
  'image-mirror-watch',
  'mirror-snapshot',
  'worker-thread',
] as const;
type Step = (typeof steps)[number];

interface Run {
  step: Step;
  mode: Mode;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** ms from the step being reached to the exit; null if never reached. */
  afterStepMs: number | null;
  hung: boolean;
  out: string;
}
const runs: Run[] = [];

const script = `
const { Worker } = require('node:worker_threads');
const { Cluster } = require(process.env.XRBD_DIST);
const [conf, poolName, imageName, mirrorImage, step, mode] = process.argv.slice(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The step is reached: say so (the parent times the exit from here), then leave.
function reached() {
  process.stdout.write('reached ' + step + '\\n');
  if (mode === 'exit') process.exit(0);
  if (mode === 'throw') setImmediate(() => { throw new Error('uncaught at ' + step); });
  // 'return': nothing more; main() returns with everything left open.
}

const workerBody = \`
  const { parentPort, workerData } = require('node:worker_threads');
  const { Cluster } = require(process.env.XRBD_DIST);
  (async () => {
    const c = await Cluster.connect({ confPath: workerData.conf });
    const p = await c.openPool(workerData.pool);
    const img = await p.openImage(workerData.image);
    img.on('update', () => {});
    const writes = [];
    for (let i = 0; i < 32; i++) writes.push(img.write(Buffer.alloc(65536, i), i * 65536));
    img.stat();
    parentPort.postMessage('busy');
    await Promise.all(writes);
    // returns without closing: the worker's environment teardown releases the handles
  })();
\`;

async function main() {
  if (step === 'worker-thread') {
    const w = new Worker(workerBody, { eval: true, workerData: { conf, pool: poolName, image: imageName } });
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    return reached();
  }
  const c = await Cluster.connect({ confPath: conf });
  if (step === 'connected') return reached();
  const p = await c.openPool(poolName);
  if (step === 'pool-open') return reached();
  if (step === 'pool-mirror-watch') {
    const w = p.mirror.watch({ intervalMs: 100 });
    w.on('change', () => {});
    await sleep(300); // a poll or two
    return reached();
  }
  const img = await p.openImage(step === 'mirror-snapshot' ? mirrorImage : imageName);
  if (step === 'image-open') return reached();
  if (step === 'io-in-flight') {
    for (let i = 0; i < 64; i++) img.write(Buffer.alloc(65536, i), i * 65536);
    return reached();
  }
  if (step === 'watch-registered') {
    // Registered and delivering: an update made here arrives.
    const updated = new Promise((r) => img.once('update', r));
    await sleep(200);
    await img.metadata.set('exit-safety', String(Date.now()));
    await updated;
    return reached();
  }
  if (step === 'image-mirror-watch') {
    (async () => { for await (const change of img.mirror.watch({ intervalMs: 100 })) void change; })();
    await sleep(300);
    return reached();
  }
  if (step === 'mirror-snapshot') {
    img.mirror.createSnapshot();
    return reached();
  }
  throw new Error('unknown step ' + step);
}
main().catch((e) => { console.error(e); process.exit(3); });
`;

function child(step: Step, mode: Mode): Promise<Run> {
  return new Promise((resolve) => {
    const args = [lab.site('site-a').confPath, lab.pool, image, mirrored, step, mode];
    const p = spawn(process.execPath, ['-e', script, '--', ...args], {
      cwd: root,
      env: { ...process.env, XRBD_DIST: dist, XRBD_ADDON: path.resolve(addon) },
    });
    let out = '';
    let reachedAt: number | null = null;
    let hung = false;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (reachedAt === null && out.includes(`reached ${step}\n`)) reachedAt = Date.now();
    });
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // A hang: BOUND_MS after the step, or KILL_MS in all.
    const started = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      if ((reachedAt !== null && now - reachedAt > BOUND_MS) || now - started > KILL_MS) {
        hung = true;
        p.kill('SIGKILL');
      }
    }, 250);
    p.on('exit', (code, signal) => {
      clearInterval(timer);
      const run: Run = {
        step,
        mode,
        code,
        signal: hung ? null : signal,
        afterStepMs: reachedAt === null ? null : Date.now() - reachedAt,
        hung,
        out,
      };
      runs.push(run);
      resolve(run);
    });
  });
}

beforeAll(async () => {
  lab = await getLab();
  dist = await buildSdk('xrbd-exit-dist-');
  await lab.rbd('site-a', ['create', '--size', '4M', `${lab.pool}/${image}`]);
  await lab.rbd('site-a', ['create', '--size', '4M', `${lab.pool}/${mirrored}`]);
  await lab.rbd('site-a', ['mirror', 'image', 'enable', `${lab.pool}/${mirrored}`, 'snapshot']);
}, 120_000);

afterAll(async () => {
  if (dist) rmSync(dist, { recursive: true, force: true });
  const table = [
    `exit safety: step x exit mode -> exit code / signal / ms from reaching the step to the exit`,
    `${'step'.padEnd(20)}${modes.map((m) => m.padEnd(22)).join('')}`,
    ...steps.map((s) =>
      [
        s.padEnd(20),
        ...modes.map((m) => {
          const r = runs.find((x) => x.step === s && x.mode === m);
          const cell = !r
            ? 'not run'
            : r.hung
              ? 'HUNG (killed)'
              : `${r.code ?? '-'} / ${r.signal ?? 'none'} / ${r.afterStepMs ?? 'never reached'}`;
          return cell.padEnd(22);
        }),
      ].join(''),
    ),
  ];
  process.stdout.write(table.join('\n') + '\n');
  tally('exit-safety', {
    scenarios: runs.length,
    crashes: runs.filter((r) => r.signal !== null).length,
    hangs: runs.filter((r) => r.hung).length,
  });
  // Watches of clients that went away without closing may linger until they time out.
  await lab.rbd('site-a', ['mirror', 'image', 'disable', '--force', `${lab.pool}/${mirrored}`]).catch(() => undefined);
  for (const name of [image, mirrored]) {
    for (let i = 0; i < 60; i++) {
      try {
        await lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${name}`]);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}, 180_000);

describe.each(steps)('a process at step %s', (step) => {
  test.each(modes)(`leaving by %s ends with the expected code, no signal, within ${BOUND_MS / 1000} s`, async (mode) => {
    const r = await child(step, mode);
    expect(r.out).toContain(`reached ${step}\n`);
    expect({ code: r.code, signal: r.signal, hung: r.hung }).toEqual({ code: expectedCode[mode], signal: null, hung: false });
    if (mode === 'throw') expect(r.out).toContain(`uncaught at ${step}`);
    else expect(r.out).toBe(`reached ${step}\n`); // nothing on stderr: no warning, no error
  }, KILL_MS + 10_000);
});
