// Lab.thawSite(): a frozen site's daemons continued, then back to answering (lib/lab/lab.ts).
import { sleep } from './exec';
import type { LabDaemon, LabSignal } from './types';
import { parseJson } from './util';

/** What thawSite() had to do: the PGs found laggy, whether they were re-peered or the OSD marked down, the mgr. */
export interface ThawResult {
  /** The site's placement groups seen `laggy` after the thaw. */
  laggy: string[];
  /** Whether they were re-peered (`ceph pg repeer`). */
  repeered: boolean;
  /** Whether the OSD was marked down once to make them re-peer. */
  markedDown: boolean;
  /** How long the mgr took to be available and answer a command again after the OSD was up. */
  mgrMs: number;
  /** Whether the mgr had to be restarted (it did not serve again within MGR_WAIT_MS). */
  mgrRestarted: boolean;
  /** Whether rbd-mirror was restarted (always, after the rest of the site is back). */
  mirrorRestarted: boolean;
}

/**
 * How long the thaw waits for the mgr before it restarts it. A mgr frozen past mon_mgr_beacon_grace (30 s) is
 * dropped from the mgrmap; continued, it learns so and respawns (same pid), loads its modules and is made active
 * again. Until then every mgr command waits — `rbd mirror pool status` reads the service map through one, with no
 * bound of its own: that is how a dr-faults run saw site-a's status time out for 90 s after a thaw that had
 * checked only the mon, the PGs and the OSD.
 */
const MGR_WAIT_MS = 45_000;
/** How long no PG of the site may be laggy before the thaw is over. */
const QUIET_MS = 15_000;

/** What thaw() needs of the lab. */
interface Thawable {
  killDaemon(site: string, daemon: LabDaemon, signal: LabSignal): Promise<void>;
  startDaemon(site: string, daemon: LabDaemon, opts: { timeoutMs?: number }): Promise<void>;
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
  // Laggy PGs show up only once the OSD has run its timers after the SIGCONT (seconds later: a dr-faults run saw
  // none right after the thaw, then 4 of 8 laggy, 131 ops 'waiting for readable' and `rbd mirror pool status`
  // timing out for 90 s). So the site is watched until no PG has been laggy for QUIET_MS: laggy ones are
  // re-peered, and if they stay laggy 10 s the OSD is marked down (it re-asserts itself up and re-peers); the OSD
  // must be up through the quiet time as well.
  const result = { laggy: [] as string[], repeered: false, markedDown: false, mgrMs: 0, mgrRestarted: false, mirrorRestarted: false };
  const osdUp = async (): Promise<boolean> => {
    const st = parseJson<{ num_up_osds?: number }>(await lab.ceph(name, ['osd', 'stat', '--format', 'json'], { timeoutMs: left() }), `ceph osd stat on ${name}`);
    return (st.num_up_osds ?? 0) >= 1;
  };
  let quietSince = Date.now();
  let laggySince: number | null = null;
  while (Date.now() - quietSince < QUIET_MS) {
    if (Date.now() > deadline) throw new Error(`lab: PGs of ${name} still laggy (or its OSD down) after the thaw: ${result.laggy.join(', ') || 'none laggy'}`);
    // a CLI call timing out (the site still busy catching up) counts as not quiet yet
    const [laggy, up] = await Promise.all([laggyPgs(), osdUp()]).catch(() => [[], false] as [string[], boolean]);
    if (laggy.length || !up) {
      for (const pg of laggy) if (!result.laggy.includes(pg)) result.laggy.push(pg);
      if (laggy.length && up && !result.repeered) {
        // refused (EAGAIN) while the mon still counts the OSD down: tried again on the next round
        const done = await Promise.all(laggy.map((pg) => lab.ceph(name, ['pg', 'repeer', pg], { timeoutMs: left() }).then(() => true, () => false)));
        result.repeered = done.every(Boolean);
      }
      laggySince ??= Date.now();
      if (laggy.length && Date.now() - laggySince > 10_000) {
        await lab.ceph(name, ['osd', 'down', '0'], { timeoutMs: left() }).catch(() => undefined);
        result.markedDown = true;
        laggySince = Date.now();
      }
      quietSince = Date.now();
    } else laggySince = null;
    await sleep(500);
  }
  // the mgr available and answering a mgr command (the service map, as `rbd mirror pool status` reads it)
  const t = Date.now();
  const mgrServes = async (): Promise<boolean> => {
    try {
      const st = parseJson<{ available?: boolean }>(await lab.ceph(name, ['mgr', 'stat', '--format', 'json'], { timeoutMs: left() }), `ceph mgr stat on ${name}`);
      if (!st.available) return false;
      await lab.ceph(name, ['service', 'dump', '--format', 'json'], { timeoutMs: Math.min(left(), 10_000) });
      return true;
    } catch {
      return false;
    }
  };
  let restartBy = Math.min(deadline, t + MGR_WAIT_MS);
  while (!(await mgrServes())) {
    if (Date.now() > restartBy && !result.mgrRestarted) {
      await lab.killDaemon(name, 'mgr', 'SIGKILL');
      await lab.startDaemon(name, 'mgr', { timeoutMs: Math.max(5000, deadline - Date.now()) });
      result.mgrRestarted = true;
      restartBy = deadline;
    }
    if (Date.now() > deadline) throw new Error(`lab: the mgr of ${name} does not serve ${Date.now() - t} ms after the thaw`);
    await sleep(500);
  }
  result.mgrMs = Date.now() - t;
  // rbd-mirror frozen past its watch and leader-lock timeouts came back unregistered in the service map
  // (health UNKNOWN, no instance id, for the 90 s the test waited): it is started afresh, as an operator would
  await lab.killDaemon(name, 'rbd-mirror', 'SIGKILL');
  await lab.startDaemon(name, 'rbd-mirror', { timeoutMs: Math.max(5000, deadline - Date.now()) });
  result.mirrorRestarted = true;
  return result;
}
