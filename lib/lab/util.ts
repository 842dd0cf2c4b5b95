// Helpers of the lab controller (lib/lab/lab.ts): its files, names and waits.
import { promises as fsp } from 'node:fs';

import { LabCommandError, sleep } from './exec';
import { isAlive } from './procs';
import type { LabDaemon, LabSiteInfo } from './types';

export function validName(n: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(n);
}

export async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

export async function writeSecretJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await fsp.rename(tmp, file);
}

export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what}: expected JSON, got: ${text.slice(0, 300)}`);
  }
}

export const DAEMONS: readonly LabDaemon[] = ['mon', 'mgr', 'osd', 'rbd-mirror'];

export function checkDaemon(daemon: LabDaemon): void {
  if (!DAEMONS.includes(daemon)) throw new Error(`lab: unknown daemon '${String(daemon)}' (one of ${DAEMONS.join(', ')})`);
}

/** The name a site's daemon has in run/<name>.pid and log/ceph-<name>.log. */
export function daemonRecord(s: LabSiteInfo, daemon: LabDaemon): string {
  return { mon: 'mon.a', mgr: 'mgr.x', osd: 'osd.0', 'rbd-mirror': `client.${s.mirrorClientId}` }[daemon];
}

/** The useful part of a site-script failure: its `ceph-site:` error lines (else the whole message). */
export function scriptError(e: unknown): string {
  if (e instanceof LabCommandError) {
    const lines = e.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('ceph-site:') && !/ up (on|after|\(|in )|osd\.0 up,/.test(l));
    if (lines.length) return lines.join('; ');
    if (e.timedOut) return e.message;
    return e.stderr.trim() || e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

export async function waitGone(pids: number[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const alive = await Promise.all(pids.map(isAlive));
    if (!alive.some(Boolean)) return;
    await sleep(100);
  }
}
