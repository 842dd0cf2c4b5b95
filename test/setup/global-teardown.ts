// jest globalTeardown: unregister this run from the lab; the last run out stops a
// lab that a jest run started (purging it), then checks that no process of the
// lab remains (recorded pids + a /proc scan for command lines naming a ceph.conf in
// the lab dir) and throws if any does.
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';

import { Lab, findLabDaemons, isAlive, unregisterLabUser, withLabLock } from '../../lib/lab';
import { JEST_OWNED_MARKER } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const dir = process.env.XRBD_LAB_DIR;
  if (!dir || !existsSync(dir)) return;
  const t0 = Date.now();
  let left: Map<number, string> | undefined;
  await withLabLock(dir, async () => {
    const others = await unregisterLabUser(dir);
    if (others.length) {
      process.stderr.write(`[lab] leaving the lab running for ${others.length} other test run(s) (pid ${others.join(', ')})\n`);
      return;
    }
    if (!existsSync(path.join(dir, JEST_OWNED_MARKER))) return; // started by hand: leave it alone
    const lab = await Lab.open(dir);
    const before = lab ? await lab.pids() : [];
    if (lab) await lab.stop({ purge: true });
    await fsp.rm(path.join(dir, JEST_OWNED_MARKER), { force: true });
    left = new Map<number, string>();
    for (const pid of before) if (await isAlive(pid)) left.set(pid, '(recorded lab daemon)');
    for (const p of await findLabDaemons(dir)) left.set(p.pid, p.cmdline);
  });
  if (!left) return;
  await fsp.rmdir(dir).catch(() => undefined); // empty once the lock is gone
  if (left.size) {
    const list = [...left].map(([pid, cmd]) => `  ${pid} ${cmd}`).join('\n');
    throw new Error(`lab teardown: ${left.size} process(es) of the lab in ${dir} are still running:\n${list}`);
  }
  process.stderr.write(`[lab] lab stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s; no process left\n`);
}
