/**
 * The planned move of an image's primary role (failover 'planned', and
 * failback after any resync): wait for the peer to replay, demote, wait for
 * the demotion to be replayed, promote without force.
 */
import { MirroringNotEnabled } from '../core/errors';
import { pollUntil } from '../core/poll';
import { journalCaughtUp } from '../mirror/journal-position';
import type { JournalPosition } from '../mirror/status';
import type { Pool } from '../pool/pool';
import { NOT_YET, errnoOf, inspect, isSplitBrain, journalOf, localStatus, positions, withImage } from './copies';
import type { ImageRun } from './image-run';
import { MirrorStateError } from './report';

/**
 * Journal mode, after a demote: how long the peer's rbd-mirror may report
 * "remote image is not primary" while short of the demotion before the demote
 * is undone (it commits every rbd_journal_commit_age = 5 s, and its status
 * can lag a poll or two behind).
 */
const STALL_MS = 20_000;
/** How many times one call undoes a demote and starts the move over. */
const MAX_UNDO = 3;

/**
 * Before demoting the primary on `fromPool`: wait (bounded) until rbd-mirror
 * on `site` reports the copy there up and replaying and, in journal mode,
 * until its client of the primary's journal has committed everything the
 * primary had when the wait began. Demoting while the peer is not replaying
 * (still bootstrapping, in error, its daemon down) leaves both copies
 * non-primary with nothing to promote but by force, so the image is left
 * untouched and writable instead. "replaying" alone is not enough in journal
 * mode: right after a demote/promote cycle on the primary, rbd-mirror may
 * report replaying from a copy still owned by that cycle's orphan tag, and a
 * demotion at that moment makes its next bootstrap refuse ("remote image is
 * not primary") with the later writes never replayed (seen in CI).
 */
export async function awaitReplaying(run: ImageRun, pool: Pool, site: string, fromPool: Pool): Promise<void> {
  const c = run.c;
  const t = Date.now();
  const journal = (await withImage(fromPool, run.name, (image) => image.mirror.mode())) === 'journal';
  let target: JournalPosition | null | undefined;
  let last = 'no status yet';
  let waited = false;
  let splitBrainPolls = 0;
  await pollUntil<true>(
    {
      ...run.polling,
      onTimeout: () =>
        run.timeout(
          pool,
          `the copy on ${site} is not replaying or not caught up (last status ${last}); nothing was demoted`,
          `the primary copy was left as it was; repair replication to ${site} first, or use mode 'forced'`,
        ),
    },
    async () => {
      const status = await localStatus(pool, run.name);
      const l = status?.local;
      if (l) last = `${l.up ? 'up' : 'down'}+${l.state}: ${l.description}`;
      // a split-brain copy never replays again until it is resynced: no use waiting out the deadline (seen twice in
      // a row, not on one status read)
      splitBrainPolls = isSplitBrain(status) ? splitBrainPolls + 1 : 0;
      if (splitBrainPolls >= 2) {
        run.fail(
          new MirrorStateError(run.name, `${run.name}: rbd-mirror on ${site} reports the copy there split-brain (${last}); nothing was demoted`),
          `failback() naming this image resyncs the copy on ${site} from the primary`,
        );
      }
      let ok = !!l?.up && l.state === 'replaying' && splitBrainPolls === 0;
      if (journal) {
        const j = await journalOf(fromPool, run.name);
        if (target === undefined) target = j.master;
        const behind = !journalCaughtUp(j.clients, target);
        if (behind) last += `; journal ${positions(j.clients, target)}`;
        ok &&= !behind;
      }
      if (ok) return true;
      if (!waited) {
        waited = true;
        run.emit('await-replaying', `waiting for rbd-mirror on ${site} to replay the image (now ${last})`, site);
      }
      return undefined;
    },
  );
  if (waited) run.report.actions.push({ step: 'await-replaying', site, ms: Date.now() - t });
}

/** Demote the copy on `pool`. */
export async function demote(run: ImageRun, pool: Pool, site: string): Promise<void> {
  await run.act('demote', site, `demoting the copy on ${site}`, () => withImage(pool, run.name, (image) => image.mirror.demote()));
}

/**
 * Promote without force, retried while librbd says the copy has not yet
 * replayed the peer's demotion (see NOT_YET), until the deadline. Resolves once promoted.
 */
export async function promoteWhenReplayed(run: ImageRun, pool: Pool, site: string, otherSite: string): Promise<void> {
  const c = run.c;
  const t = Date.now();
  let waited = false;
  let last: unknown;
  await pollUntil<true>(
    {
      ...run.polling,
      onTimeout: () =>
        run.timeout(
          pool,
          `the copy on ${site} has not replayed the demotion on ${otherSite} after ${Date.now() - run.t0} ms; ` +
            `last refusal: ${(last as Error)?.message ?? 'none'}`,
          `both copies are non-primary now; run the same call again to keep waiting, or a forced failover to ${site} ` +
            `(which loses what ${site} has not replayed)`,
        ),
    },
    async () => {
      const copy = await inspect(pool, run.name);
      if (copy.state === 'primary') return true; // promoted (by us before an interruption, or by someone else)
      if (copy.state !== 'non-primary') {
        run.fail(copy.error ?? new MirrorStateError(run.name, `${run.name}: the copy on ${site} is ${copy.state}`));
      }
      try {
        await withImage(pool, run.name, (image) => image.mirror.promote());
        return true;
      } catch (err) {
        const n = errnoOf(err);
        // a copy whose mirroring is disabled never becomes promotable: no retry (its errno is EINVAL, as a refusal's)
        if (n === undefined || !NOT_YET.has(n) || err instanceof MirroringNotEnabled) throw err;
        last = err;
      }
      if (!waited) {
        waited = true;
        run.emit('await-peer', `waiting for ${site} to replay everything up to the demotion on ${otherSite}`, site);
      }
      return undefined;
    },
  );
  if (waited) run.report.actions.push({ step: 'await-peer', site, ms: Date.now() - t });
  run.report.actions.push({ step: 'promote', site, ms: 0 });
  run.emit('promote', `promoted the copy on ${site}`, site);
}

/**
 * Journal mode, after the demote on `pool`: wait until every peer's
 * rbd-mirror client of the demoted journal has committed up to the image's
 * own (master) position, i.e. has replayed everything up to the demotion.
 * A non-forced promote alone is not proof enough in journal mode: librbd
 * accepts it as soon as the peer's copy is owned by the "orphan" tag, which
 * an EARLIER demote/promote cycle on this site also left — the peer could
 * then be promoted without the writes made after that cycle (rbd-mirror
 * later reports the old primary as split-brain). Snapshot mode needs no
 * such wait: there the promote checks the very last (demotion) snapshot.
 *
 * With `undo` (the demote was made by this call, so the copy on `pool` is
 * known to hold every write): when the peer's rbd-mirror has stopped short
 * of the target and reports "remote image is not primary" for STALL_MS, it
 * will never replay the rest (its bootstrap refuses a non-primary remote),
 * so the copy on `pool` is promoted again and 'undone' returned: the caller
 * waits for the peer to catch up and demotes again.
 */
export async function awaitDemotionReplayed(
  run: ImageRun,
  pool: Pool,
  site: string,
  peerSite: string,
  peerPool: Pool,
  undo = false,
): Promise<'replayed' | 'undone'> {
  const c = run.c;
  const mode = await withImage(pool, run.name, (image) => image.mirror.mode());
  if (mode !== 'journal') return 'replayed';
  return run.act('await-demotion', peerSite, `waiting for ${peerSite} to replay the journal of ${site} up to the demotion`, () => {
    let last = 'no journal read yet';
    let stalledSince: number | null = null;
    return pollUntil<'replayed' | 'undone'>(
      {
        ...run.polling,
        onTimeout: () =>
          run.timeout(
            pool,
            `${peerSite} has not replayed the journal of ${site} up to the demotion (${last})`,
            `both copies are non-primary now; run the same call again to keep waiting, or promote the copy on ${site} ` +
              `again to undo the demotion`,
          ),
      },
      async () => {
        const j = await journalOf(pool, run.name);
        const target = j.master;
        if (target !== null && journalCaughtUp(j.clients, target)) return 'replayed' as const;
        last = positions(j.clients, target);
        if (undo) {
          const l = (await localStatus(peerPool, run.name))?.local;
          const refused = !!l && l.up && l.state !== 'replaying' && /remote image is not primary/i.test(l.description);
          stalledSince = refused ? (stalledSince ?? Date.now()) : null;
          if (refused) last += `; ${peerSite}: ${l.state}: ${l.description}`;
          if (stalledSince !== null && Date.now() - stalledSince >= STALL_MS) {
            run.emit('undo-demote', `${peerSite} stopped replaying short of the demotion (${last}); promoting the copy on ${site} again`, site);
            const t = Date.now();
            await withImage(pool, run.name, (image) => image.mirror.promote());
            run.report.actions.push({ step: 'undo-demote', site, ms: Date.now() - t });
            return 'undone' as const;
          }
        }
        return undefined;
      },
    );
  });
}

/**
 * The planned move of the primary role from `fromPool` to `toPool`: wait
 * until the peer is replaying and caught up, demote, wait for the demotion
 * to be replayed (undoing the demote and starting over when rbd-mirror
 * stopped short of it, at most MAX_UNDO times), promote.
 */
export async function handOver(run: ImageRun, fromPool: Pool, fromSite: string, toPool: Pool, toSite: string): Promise<void> {
  for (let undone = 0; ; undone++) {
    await awaitReplaying(run, toPool, toSite, fromPool);
    await demote(run, fromPool, fromSite);
    const r = await awaitDemotionReplayed(run, fromPool, fromSite, toSite, toPool, undone < MAX_UNDO);
    if (r === 'replayed') break;
  }
  await promoteWhenReplayed(run, toPool, toSite, fromSite);
}
