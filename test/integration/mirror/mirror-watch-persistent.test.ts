/**
 * A mirror status watcher alone does not keep a process alive (its poll timer
 * is unref'd), unless it was made with `persistent: true` — then a script
 * whose only work is `for await (const change of watcher)` keeps running.
 * Child processes use the built SDK (dist/, built by `npm test` before jest).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import { getLab } from '../../setup/lab-env';

type Lab = Awaited<ReturnType<typeof getLab>>;
let lab: Lab;

beforeAll(async () => {
  lab = await getLab();
});

function child(persistent: boolean): { exited: Promise<{ code: number | null; signal: string | null; ms: number }>; kill: () => void; out: () => string } {
  const script = `
    const { Cluster } = require(${JSON.stringify(path.resolve(__dirname, '../../../dist'))});
    (async () => {
      const c = await Cluster.connect({ confPath: ${JSON.stringify(lab.site('site-a').confPath)} });
      const p = await c.openPool(${JSON.stringify(lab.pool)});
      console.log('watching');
      for await (const change of p.mirror.watch({ intervalMs: 200, persistent: ${persistent} })) console.log(change.image);
      console.log('loop ended');
    })().catch((e) => { console.error(e); process.exit(3); });
  `;
  const t0 = Date.now();
  const cp = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  cp.stdout.on('data', (d: Buffer) => (out += d.toString()));
  cp.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null; ms: number }>((resolve) =>
    cp.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - t0 })),
  );
  return { exited, kill: () => cp.kill('SIGKILL'), out: () => out };
}

test('without persistent, a process whose only work is iterating a watcher ends by itself', async () => {
  const c = child(false);
  const guard = setTimeout(c.kill, 60_000);
  const r = await c.exited;
  clearTimeout(guard);
  expect({ ...r, ms: undefined, out: c.out() }).toEqual({ code: 0, signal: null, ms: undefined, out: 'watching\n' });
}, 90_000);

test('with persistent: true, the watcher keeps the process alive (it polls until killed)', async () => {
  const c = child(true);
  const outcome = await Promise.race([
    c.exited.then((r) => ({ ended: true, ...r })),
    new Promise<{ ended: false }>((resolve) => setTimeout(() => resolve({ ended: false }), 8000)),
  ]);
  expect(outcome).toEqual({ ended: false });
  expect(c.out()).toContain('watching');
  c.kill();
  expect((await c.exited).signal).toBe('SIGKILL');
}, 90_000);
