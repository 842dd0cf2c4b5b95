/**
 * The image's 'update' event (rbd_update_watch) on the live lab: changes made
 * by another client (the rbd CLI) reach the listeners; no listener, no watch;
 * closing and exiting with listeners attached are clean.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Cluster, type Image, type Pool } from '../../../lib';
import { getLab } from '../../setup/lab-env';

type Lab = Awaited<ReturnType<typeof getLab>>;

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..', '..');
let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;
const made: string[] = [];

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
}, 120_000);

afterAll(async () => {
  await cluster?.close();
  for (const name of made) {
    await lab.rbd('site-a', ['snap', 'purge', '--no-progress', spec(name)]).catch(() => undefined);
    await lab.rbd('site-a', ['rm', '--no-progress', spec(name)]).catch(() => undefined);
  }
}, 300_000);

const spec = (image: string, snap?: string) => `${lab.pool}/${image}${snap === undefined ? '' : '@' + snap}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function rbd(args: string[]): Promise<string> {
  return lab.rbd('site-a', args, { timeoutMs: 60_000 });
}

async function makeImage(): Promise<string> {
  const name = uniq('watch');
  await pool.createImage(name, 16 * MiB, { features: ['layering', 'exclusive-lock'] });
  made.push(name);
  return name;
}

/** Listen for one 'update': true when it comes within `ms`, false if not (the listener is removed either way). */
function nextUpdate(image: Image, ms = 15_000): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      image.off('update', on);
      resolve(false);
    }, ms);
    const on = () => {
      clearTimeout(t);
      image.off('update', on);
      resolve(true);
    };
    image.on('update', on);
  });
}

/** Every event name the image emits, recorded without changing what it does. */
function recordEmits(image: Image): string[] {
  const seen: string[] = [];
  const emit = image.emit.bind(image);
  image.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    seen.push(String(event));
    return emit(event, ...args);
  };
  return seen;
}

describe("image 'update' event", () => {
  test('a resize by another client emits update', async () => {
    const name = await makeImage();
    await using image = await pool.openImage(name);
    const updated = nextUpdate(image);
    await sleep(300); // the watch registers in a worker; let it land before the change
    await rbd(['resize', '--no-progress', '--size', '32M', spec(name)]);
    expect(await updated).toBe(true);
    expect((await image.stat()).size).toBe(32 * MiB);
  });

  test('a snapshot created by another client emits update', async () => {
    const name = await makeImage();
    await using image = await pool.openImage(name);
    const updated = nextUpdate(image);
    await sleep(300);
    await rbd(['snap', 'create', '--no-progress', spec(name, 'snap1')]);
    expect(await updated).toBe(true);
    expect((await image.snapshots.list()).map((s) => s.name)).toEqual(['snap1']);
  });

  test('a feature enabled by another client emits update', async () => {
    const name = await makeImage();
    await using image = await pool.openImage(name);
    const updated = nextUpdate(image);
    await sleep(300);
    await rbd(['feature', 'enable', spec(name), 'journaling']);
    expect(await updated).toBe(true);
    expect(await image.features()).toContain('journaling');
  });

  test('a burst of changes while the JS thread is busy arrives as one update', async () => {
    const name = await makeImage();
    await using image = await pool.openImage(name);
    let count = 0;
    image.on('update', () => count++);
    await sleep(300);
    // Synchronous: the JS thread is blocked while three changes land (and a second after).
    const conf = lab.site('site-a').confPath;
    const s = spec(name);
    execFileSync('sh', [
      '-c',
      `rbd -c ${conf} snap create --no-progress ${s}@a && rbd -c ${conf} snap create --no-progress ${s}@b && ` +
        `rbd -c ${conf} resize --no-progress --size 20M ${s} && sleep 1`,
    ]);
    await sleep(2000);
    expect(count).toBe(1);
  });

  test('after the last listener is removed, changes emit nothing', async () => {
    const name = await makeImage();
    await using image = await pool.openImage(name);
    const first = nextUpdate(image); // listens, and stops listening after one event
    await sleep(300);
    await rbd(['snap', 'create', '--no-progress', spec(name, 'one')]);
    expect(await first).toBe(true);
    expect(image.listenerCount('update')).toBe(0);
    const seen = recordEmits(image);
    await sleep(300); // the unwatch runs in a worker
    await rbd(['snap', 'create', '--no-progress', spec(name, 'two')]);
    await sleep(2000);
    expect(seen.filter((e) => e === 'update')).toEqual([]);
  });

  test('a listener added again after all were removed gets updates again', async () => {
    const name = await makeImage();
    await using image = await pool.openImage(name);
    const first = nextUpdate(image);
    await sleep(300);
    await rbd(['snap', 'create', '--no-progress', spec(name, 'one')]);
    expect(await first).toBe(true);
    const second = nextUpdate(image);
    await sleep(300);
    await rbd(['snap', 'create', '--no-progress', spec(name, 'two')]);
    expect(await second).toBe(true);
  });

  test('closing an image with update listeners resolves, and later changes emit nothing', async () => {
    const name = await makeImage();
    const image = await pool.openImage(name);
    image.on('update', () => undefined);
    await sleep(300);
    const seen = recordEmits(image);
    await image.close();
    expect(image.state).toBe('closed');
    await rbd(['snap', 'create', '--no-progress', spec(name, 'after')]);
    await sleep(2000);
    expect(seen.filter((e) => e === 'update')).toEqual([]);
  });

  test('a listener added and removed within one tick registers nothing, and close still works', async () => {
    const name = await makeImage();
    const image = await pool.openImage(name);
    const fn = () => undefined;
    image.on('update', fn);
    image.off('update', fn);
    await image.close();
    expect(image.state).toBe('closed');
  });
});

describe('process exit with update listeners', () => {
  beforeAll(async () => {
    await run('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json'], { cwd: root }).catch(() => undefined);
  }, 120_000);

  const script = `
const { Cluster } = require(process.env.XRBD_DIST);
const { execFileSync } = require('node:child_process');
const [conf, poolName, imageName, how] = process.argv.slice(1);
(async () => {
  const cluster = await Cluster.connect({ confPath: conf });
  const pool = await cluster.openPool(poolName);
  const image = await pool.openImage(imageName);
  let updates = 0;
  image.on('update', () => updates++);
  await new Promise((r) => setTimeout(r, 300));
  execFileSync('rbd', ['-c', conf, 'resize', '--no-progress', '--size', String(32 + Math.floor(Math.random() * 32)) + 'M', poolName + '/' + imageName]);
  await new Promise((r) => setTimeout(r, 1000));
  console.log('updates', updates);
  if (how === 'exit') process.exit(0);
  if (how === 'close') await cluster.close();
  // 'end': just return; the unref'd watch must not keep the process alive
})().catch((e) => { console.error(e); process.exit(3); });
`;

  function child(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['-e', script, '--', ...args], {
        cwd: root,
        env: { ...process.env, XRBD_DIST: path.join(root, 'dist') },
      });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const t = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`child hung; output:\n${out}`));
      }, 60_000);
      p.on('exit', (code, signal) => {
        clearTimeout(t);
        resolve({ code, signal, out });
      });
    });
  }

  test.each(['exit', 'end', 'close'])('a process that listens, gets an update and then %ss leaves with code 0', async (how) => {
    const name = await makeImage();
    const r = await child([lab.site('site-a').confPath, lab.pool, name, how]);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(r.out).toMatch(/^updates [1-9]/m);
  });
});
