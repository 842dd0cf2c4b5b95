// Cross-process coordination for a lab directory shared by concurrent test runs:
// an exclusive lock file (stale if its holder is dead) and a registry of users.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

import { sleep } from './exec';
import { isAlive } from './procs';

const LOCK = '.lock';
const USERS = '.users';

async function tryAcquire(file: string): Promise<boolean> {
  try {
    const fh = await fsp.open(file, 'wx', 0o600);
    await fh.writeFile(`${process.pid}\n`);
    await fh.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  // held: steal it if the holder is gone
  let holder = NaN;
  try {
    holder = parseInt(await fsp.readFile(file, 'utf8'), 10);
  } catch {
    return false; // released meanwhile; retry
  }
  if (Number.isInteger(holder) && holder > 0 && (await isAlive(holder))) return false;
  await fsp.rm(file, { force: true });
  return false; // retry through the exclusive create
}

/**
 * Run `fn` while holding the exclusive lock of lab directory `dir` (the file `dir/.lock`).
 * Waits at most `timeoutMs` for another holder (e.g. a concurrent jest run starting the lab).
 */
export async function withLabLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 180_000): Promise<T> {
  const abs = path.resolve(dir);
  await fsp.mkdir(abs, { recursive: true });
  const file = path.join(abs, LOCK);
  const deadline = Date.now() + timeoutMs;
  while (!(await tryAcquire(file))) {
    if (Date.now() > deadline) {
      const holder = await fsp.readFile(file, 'utf8').catch(() => '?');
      throw new Error(`lab: timed out after ${timeoutMs} ms waiting for the lock ${file} (held by pid ${holder.trim()})`);
    }
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    await fsp.rm(file, { force: true });
  }
}

/** Record process `pid` (default: this one) as a user of the lab in `dir`. */
export async function registerLabUser(dir: string, pid = process.pid): Promise<void> {
  const d = path.join(path.resolve(dir), USERS);
  await fsp.mkdir(d, { recursive: true });
  await fsp.writeFile(path.join(d, String(pid)), `${new Date().toISOString()}\n`);
}

/** Remove `pid`'s registration; returns the other users that are still alive (dead ones are pruned). */
export async function unregisterLabUser(dir: string, pid = process.pid): Promise<number[]> {
  const d = path.join(path.resolve(dir), USERS);
  await fsp.rm(path.join(d, String(pid)), { force: true });
  let names: string[] = [];
  try {
    names = await fsp.readdir(d);
  } catch {
    return [];
  }
  const alive: number[] = [];
  for (const n of names) {
    const p = Number(n);
    if (Number.isInteger(p) && p > 0 && (await isAlive(p))) alive.push(p);
    else await fsp.rm(path.join(d, n), { force: true });
  }
  if (!alive.length) await fsp.rmdir(d).catch(() => undefined);
  return alive;
}
