/**
 * Handle lifecycle under stress and at the edges: many concurrent calls, a
 * process exiting at each lifecycle step, forgotten handles collected by GC.
 * Child processes run the compiled SDK (dist/), built once here.
 */
import { execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Cluster } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..', '..');
let lab: Lab;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;

beforeAll(async () => {
  lab = await getLab();
  await run('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json'], { cwd: root });
}, 120_000);

/** Run a script in a child node; resolve with its exit code, signal and output. */
function child(
  script: string,
  args: string[] = [],
  nodeArgs: string[] = [],
  timeoutMs = 60_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...nodeArgs, '-e', script, '--', ...args], {
      cwd: root,
      env: { ...process.env, XRBD_DIST: path.join(root, 'dist') },
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`child hung for ${timeoutMs} ms; output:\n${out}`));
    }, timeoutMs);
    p.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, out });
    });
  });
}

describe('concurrency', () => {
  test('1,000 concurrent control calls complete without stalling the event loop', async () => {
    const name = uniq('conc');
    await using cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
    await using pool = await cluster.openPool(lab.pool);
    await pool.createImage(name, 1 << 20);
    await using image = await pool.openImage(name);

    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < 1000; i++) {
      calls.push(i % 3 === 0 ? image.stat() : i % 3 === 1 ? pool.listImages() : image.metadata.list());
    }
    const results = await Promise.all(calls);
    h.disable();
    expect(results).toHaveLength(1000);
    expect((results[0] as { name: string }).name).toBe(name);
    expect(results[1] as string[]).toContain(name);
    // Blocking calls run on worker threads: the loop stays responsive. The bound
    // is loose on purpose (a slow CI machine), far below what one blocking call costs.
    expect(h.max / 1e6).toBeLessThan(1000);
    await image.close();
    await pool.removeImage(name);
  });
});

const exitScript = `
const { Cluster } = require(process.env.XRBD_DIST);
const [conf, poolName, imageName, step] = process.argv.slice(1);
(async () => {
  const c = await Cluster.connect({ confPath: conf });
  if (step === 'connected') process.exit(0);
  const p = await c.openPool(poolName);
  if (step === 'pool-open') process.exit(0);
  const img = await p.openImage(imageName);
  if (step === 'image-open') process.exit(0);
  if (step === 'call-in-flight') { img.stat(); p.listImages(); process.exit(0); }
  if (step === 'io-in-flight') { for (let i = 0; i < 16; i++) img.write(Buffer.alloc(65536, i), i * 65536); process.exit(0); }
  if (step === 'io-unawaited') { img.write(Buffer.alloc(4096, 1), 0).then(() => console.log('')); return; } // the pending write keeps the loop alive
  if (step === 'forgotten') { img.stat(); return; } // no close, no exit: the loop just drains
  if (step === 'closed') { await c.close(); process.exit(0); }
})().catch((e) => { console.error(e); process.exit(3); });
`;

describe('exit safety', () => {
  const steps = ['connected', 'pool-open', 'image-open', 'call-in-flight', 'io-in-flight', 'io-unawaited', 'forgotten', 'closed'];
  let image: string;
  beforeAll(async () => {
    image = uniq('exit');
    await lab.rbd('site-a', ['create', '--size', '2M', `${lab.pool}/${image}`]);
  });
  afterAll(async () => {
    await lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${image}`]);
  });

  test.each(steps)('a process that exits at step %s exits with code 0, no signal, no hang', async (step) => {
    const r = await child(exitScript, [lab.site('site-a').confPath, lab.pool, image, step]);
    // io-unawaited prints one empty line once its write completed: the loop waited for it.
    expect({ code: r.code, signal: r.signal, out: r.out }).toEqual({ code: 0, signal: null, out: step === 'io-unawaited' ? '\n' : '' });
  });
});

describe('worker threads', () => {
  test('a worker terminated with I/O in flight leaves the process healthy, and it exits cleanly', async () => {
    const name = uniq('worker');
    await lab.rbd('site-a', ['create', '--size', '4M', `${lab.pool}/${name}`]);
    const script = `
      const { Worker } = require('node:worker_threads');
      const [conf, poolName, imageName] = process.argv.slice(1);
      const body = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const { Cluster } = require(process.env.XRBD_DIST);
        (async () => {
          const c = await Cluster.connect({ confPath: workerData.conf });
          const p = await c.openPool(workerData.pool);
          const img = await p.openImage(workerData.image);
          for (let i = 0; i < 64; i++) img.write(Buffer.alloc(65536, i), i * 65536);
          for (let i = 0; i < 16; i++) { img.stat(); p.listImages(); }
          parentPort.postMessage('writing');
        })();
      \`;
      (async () => {
        for (let round = 0; round < 3; round++) {
          const w = new Worker(body, { eval: true, workerData: { conf, pool: poolName, image: imageName } });
          await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
          await w.terminate();
        }
        // The main thread still works with the same addon afterwards.
        const { Cluster } = require(process.env.XRBD_DIST);
        const c = await Cluster.connect({ confPath: conf });
        const p = await c.openPool(poolName);
        const img = await p.openImage(imageName);
        await img.write(Buffer.alloc(4096, 9), 0);
        console.log((await img.read(0, 4))[0]);
        await c.close();
      })().catch((e) => { console.error(e); process.exit(3); });
    `;
    try {
      const r = await child(script, [lab.site('site-a').confPath, lab.pool, name]);
      expect({ code: r.code, signal: r.signal, out: r.out.trim() }).toEqual({ code: 0, signal: null, out: '9' });
    } finally {
      // Watches of the terminated workers' clients may linger until they time out.
      for (let i = 0; i < 60; i++) {
        try {
          await lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${name}`]);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
  }, 120_000);
});

describe('garbage collection', () => {
  test('a forgotten image is closed when collected: its watch goes away', async () => {
    const name = uniq('gc');
    await lab.rbd('site-a', ['create', '--size', '1M', `${lab.pool}/${name}`]);
    const script = `
      const { Cluster } = require(process.env.XRBD_DIST);
      const { execFileSync } = require('node:child_process');
      const [conf, poolName, imageName] = process.argv.slice(1);
      const watchers = () => JSON.parse(execFileSync('rbd', ['-c', conf, 'status', '--format', 'json', poolName + '/' + imageName])).watchers.length;
      (async () => {
        const c = await Cluster.connect({ confPath: conf });
        const p = await c.openPool(poolName);
        await (async () => { const img = await p.openImage(imageName); await img.stat(); })();
        const before = watchers();
        for (let i = 0; i < 20 && watchers() > 0; i++) {
          global.gc();
          await new Promise((r) => setTimeout(r, 100));
        }
        console.log(JSON.stringify({ before, after: watchers() }));
        await c.close();
      })().catch((e) => { console.error(e); process.exit(3); });
    `;
    try {
      const r = await child(script, [lab.site('site-a').confPath, lab.pool, name], ['--expose-gc']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out.trim())).toEqual({ before: 1, after: 0 });
    } finally {
      await lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${name}`]);
    }
  });
});
