// Process bookkeeping for the lab: pid files and a /proc scan (Linux only).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** A running process, from /proc. */
export interface LabProcess {
  /** Its process id. */
  pid: number;
  /** Its command line, arguments separated by spaces. */
  cmdline: string;
}

/** True if `pid` exists and is not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = await fsp.readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ..." — comm may contain spaces/parens, the state follows the last ')'
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Pids recorded in `<siteDir>/run/*.pid` (the lab's and the daemons' own pid files). */
export async function recordedPids(siteDir: string): Promise<number[]> {
  const run = path.join(siteDir, 'run');
  let names: string[];
  try {
    names = await fsp.readdir(run);
  } catch {
    return [];
  }
  const pids = new Set<number>();
  for (const n of names) {
    if (!n.endsWith('.pid')) continue;
    try {
      const pid = parseInt((await fsp.readFile(path.join(run, n), 'utf8')).trim(), 10);
      if (Number.isInteger(pid) && pid > 0) pids.add(pid);
    } catch {
      /* raced with removal */
    }
  }
  return [...pids].sort((a, b) => a - b);
}

/**
 * Live processes whose command line mentions `dir` (as `dir` itself or `dir/...`),
 * excluding this process. Ceph daemons of a lab site all carry `-c <dir>/ceph.conf`.
 */
export async function findProcessesMentioning(dir: string): Promise<LabProcess[]> {
  const abs = path.resolve(dir).replace(/\/+$/, '');
  const found: LabProcess[] = [];
  let entries: string[];
  try {
    entries = await fsp.readdir('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = (await fsp.readFile(`/proc/${e}/cmdline`, 'utf8')).split('\0').join(' ').trim();
    } catch {
      continue;
    }
    if (!cmdline) continue;
    const words = cmdline.split(' ');
    const hit = words.some((w) => {
      const v = w.includes('=') && !w.startsWith('/') ? w.slice(w.indexOf('=') + 1) : w;
      return v === abs || v.startsWith(abs + '/');
    });
    if (hit && (await isAlive(pid))) found.push({ pid, cmdline });
  }
  return found;
}

/**
 * Live Ceph processes of a lab or site directory: those whose command line names a
 * `ceph.conf` under `dir` (daemons and ceph/rbd CLI calls; not e.g. a `tail -f` of a log).
 */
export async function findLabDaemons(dir: string): Promise<LabProcess[]> {
  const abs = path.resolve(dir).replace(/\/+$/, '');
  return (await findProcessesMentioning(abs)).filter(
    (p) => !/ceph-site\.sh/.test(p.cmdline) && p.cmdline.split(' ').some((w) => w.startsWith(abs + '/') && w.endsWith('/ceph.conf')),
  );
}
