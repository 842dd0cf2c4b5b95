/**
 * Journal-position maths: how far a journal client (a peer's rbd-mirror) has
 * committed, compared with a target position. Used by
 * `image.mirror.waitForReplication()` (lib/mirror/wait.ts) and lib/dr. Pure.
 */
import type { JournalClient } from './journal';
import type { JournalPosition } from './status';

/** a >= b, comparing journal positions by tag tid, then entry tid. */
export function positionReached(a: JournalPosition, b: JournalPosition): boolean {
  return a.tagTid > b.tagTid || (a.tagTid === b.tagTid && a.entryTid >= b.entryTid);
}

/** The furthest of a client's per-object commit positions; null when it has none. */
export function newestPosition(positions: readonly JournalPosition[]): JournalPosition | null {
  let best: JournalPosition | null = null;
  for (const p of positions) if (best === null || !positionReached(best, p)) best = p;
  return best;
}

/**
 * Whether every peer (non-master) client of the journal has committed up to
 * `target`. false when no peer client is registered yet, or one is disconnected.
 */
export function journalCaughtUp(clients: readonly JournalClient[], target: JournalPosition | null): boolean {
  const peers = clients.filter((c) => c.id !== '');
  if (peers.length === 0) return false;
  if (target === null) return peers.every((c) => c.state === 'connected');
  return peers.every((c) => {
    const p = newestPosition(c.commitPosition);
    return c.state === 'connected' && p !== null && positionReached(p, target);
  });
}
