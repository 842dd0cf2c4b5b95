// Lab.thawSite(): a frozen site's daemons continued, then back to answering (lib/lab/lab.ts).
import { sleep } from './exec';
import type { LabDaemon, LabSignal } from './types';
import { parseJson } from './util';

/** What thawSite() had to do: the PGs found laggy, and whether they were re-peered or the OSD marked down. */
export interface ThawResult {
  /** The site's placement groups that were `laggy` right after the thaw. */
  laggy: string[];
  /** Whether they were re-peered (`ceph pg repeer`). */
  repeered: boolean;
  /** Whether the OSD was marked down once to make them re-peer. */
  markedDown: boolean;
}

/** What thaw() needs of the lab. */
interface Thawable {
  killDaemon(site: string, daemon: LabDaemon, signal: LabSignal): Promise<void>;
  ceph(site: string, args: string[], opts: { timeoutMs?: number }): Promise<string>;
}

/** @internal The body of Lab.thawSite(). */
export async function thaw(lab: Thawable, name: string, timeoutMs: number): Promise<ThawResult> {
  const deadline = Date.now() + timeoutMs;
  for (const d of ['mon', 'mgr', 'osd', 'rbd-mirror'] as const) await lab.killDaemon(name, d, 'SIGCONT');
  const left = () => Math.max(2000, Math.min(15_000, deadline - Date.now()));
  const laggyPgs = async (): Promise<string[]> => {
    const out = await lab.ceph(name, ['pg', 'ls', 'laggy', '--format', 'json'], { timeoutMs: left() });
    const parsed = parseJson<{ pg_stats?: Array<{ pgid: string }> } | Array<{ pgid: string }>>(out || '{}', `ceph pg ls laggy on ${name}`);
    return (Array.isArray(parsed) ? parsed : (parsed.pg_stats ?? [])).map((p) => p.pgid);
  };
  // the monitor first: until it answers, nothing else can be asked
  for (;;) {
    try {
      await lab.ceph(name, ['mon', 'stat'], { timeoutMs: left() });
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`lab: the monitor of ${name} does not answer after the thaw: ${e instanceof Error ? e.message : String(e)}`);
      await sleep(500);
    }
  }
  const first = await laggyPgs();
  const result = { laggy: first, repeered: false, markedDown: false };
  let laggy = first;
  if (laggy.length) {
    for (const pg of laggy) await lab.ceph(name, ['pg', 'repeer', pg], { timeoutMs: left() });
    result.repeered = true;
    const until = Math.min(deadline, Date.now() + 10_000);
    while ((laggy = await laggyPgs()).length && Date.now() < until) await sleep(500);
  }
  if (laggy.length) {
    await lab.ceph(name, ['osd', 'down', '0'], { timeoutMs: left() });
    result.markedDown = true;
    while ((laggy = await laggyPgs()).length) {
      if (Date.now() > deadline) throw new Error(`lab: PGs of ${name} still laggy after the thaw: ${laggy.join(', ')}`);
      await sleep(500);
    }
  }
  // the OSD up again (after a mark-down) before the site is handed back
  for (;;) {
    const st = parseJson<{ num_up_osds?: number; num_osds?: number }>(
      await lab.ceph(name, ['osd', 'stat', '--format', 'json'], { timeoutMs: left() }),
      `ceph osd stat on ${name}`,
    );
    if ((st.num_up_osds ?? 0) >= 1) break;
    if (Date.now() > deadline) throw new Error(`lab: the OSD of ${name} is not up after the thaw`);
    await sleep(500);
  }
  return result;
}
