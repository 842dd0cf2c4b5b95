/** Resyncing a stale copy of an image (failback of a named split-brain image) and waiting for it to come back. */
import { pollUntil } from '../core/poll';
import type { Pool } from '../pool/pool';
import { inspect, isSplitBrain, localStatus, withImage } from './copies';
import type { ImageRun } from './image-run';

/** Flag the (non-primary) copy on `pool` for resync, then wait until it is re-created and caught up with `primaryPool`. */
export async function resyncAndWait(run: ImageRun, pool: Pool, site: string, primaryPool: Pool, primarySite: string): Promise<void> {
  const c = run.c;
  // rbd-mirror deletes the flagged copy and re-creates it under a new image
  // id; until then the old copy may still report 'replaying'.
  const oldId = await run.act('resync', site, `resyncing the copy on ${site} from ${primarySite}`, () =>
    withImage(pool, run.name, async (image) => {
      const id = (await image.stat()).id;
      await image.mirror.resync();
      return id;
    }),
  );
  await run.act('await-resync', site, `waiting for rbd-mirror on ${site} to re-create and sync the copy`, () => {
    let last = 'not looked yet';
    return pollUntil<true>(
      {
        ...run.polling,
        onTimeout: () =>
          run.timeout(
            pool,
            `the resync on ${site} has not finished after ${Date.now() - run.t0} ms; last: ${last}`,
            `the resync goes on in rbd-mirror; run the same call again to keep waiting`,
          ),
      },
      async () => {
        const id = await withImage(pool, run.name, async (image) => (await image.stat()).id).catch(() => null);
        const status = id !== null && id !== oldId ? await localStatus(pool, run.name) : null;
        const copy = id !== null && id !== oldId ? await inspect(pool, run.name) : null;
        const l = status?.local;
        last =
          id === null ? 'the copy is gone (being re-created)' : id === oldId ? 'the old copy is still there' : `${copy?.state}${l ? `, ${l.state}: ${l.description}` : ''}`;
        return copy?.state === 'non-primary' && l?.state === 'replaying' && !isSplitBrain(status) ? true : undefined;
      },
    );
  });
  await run.act('await-replication', site, `waiting for the copy on ${site} to catch up with ${primarySite}`, async () => {
    const left = Math.max(1000, run.deadline - Date.now());
    const peer = await pool.openImage(run.name);
    try {
      await withImage(primaryPool, run.name, (image) =>
        image.mirror.waitForReplication({ timeoutMs: left, pollMs: c.waitPollMs, signal: c.signal, peer }),
      );
    } finally {
      await peer.close().catch(() => undefined);
    }
  });
}
