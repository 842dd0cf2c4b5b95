/** failback(): give the primary role back to the site failed over from, resyncing the stale copies the caller named. */
import { checkOptions } from '../core/validate';
import type { Pool } from '../pool/pool';
import { isSplitBrain, localStatus, siteName, type Copy } from './copies';
import { demote, handOver, awaitDemotionReplayed, promoteWhenReplayed } from './handover';
import { runAll, type ImageRun } from './image-run';
import { checkTwoSites, common, isPool, type Ctx, type FailbackOptions } from './options';
import { MirrorStateError, type DrReport } from './report';
import { resyncAndWait } from './resync';

/** The failback of one image. */
async function failbackOne(run: ImageRun, c: Ctx, from: Copy, to: Copy): Promise<'done' | 'already'> {
  // Here `from` holds the primary role now and `to` gets it back.
  const fromPool = c.from as Pool;
  const fromSite = c.fromSite as string;
  const name = run.report.image;
  const named = c.named?.has(name) ?? false;
  if (to.state === 'primary' && from.state === 'non-primary') return 'already';
  if (from.state === 'unreachable') throw from.error;
  if (to.state === 'unreachable') throw to.error;
  if (from.state === 'non-primary' && to.state === 'non-primary') {
    // An interrupted planned move: finish it.
    await awaitDemotionReplayed(run, fromPool, fromSite, c.toSite, c.to);
    await promoteWhenReplayed(run, c.to, c.toSite, fromSite);
    return 'done';
  }
  if (from.state !== 'primary') {
    throw new MirrorStateError(name, `${name}: cannot fail back: the image is ${from.state} on ${fromSite}`);
  }
  if (to.state !== 'primary' && to.state !== 'non-primary') {
    throw new MirrorStateError(name, `${name}: cannot fail back to ${c.toSite}: the image is ${to.state} there`);
  }
  let stale = to.state === 'primary';
  if (!stale) stale = isSplitBrain(await localStatus(c.to, name));
  if (stale) {
    if (!named) {
      run.report.hint =
        `the copy on ${c.toSite} is stale (${to.state === 'primary' ? 'still primary: split brain' : 'split-brain reported'}); ` +
        `a resync discards its data, so it is only done for images named in \`images\``;
      throw new MirrorStateError(name, `${name}: the copy on ${c.toSite} needs a resync, and the image was not named`);
    }
    if (to.state === 'primary') await demote(run, c.to, c.toSite);
    await resyncAndWait(run, c.to, c.toSite, fromPool, fromSite);
  }
  try {
    await handOver(run, fromPool, fromSite, c.to, c.toSite);
  } catch (err) {
    // rbd-mirror can report the split brain of a demoted stale copy only after this call looked (a failback killed
    // between its demote and its resync, run again at once): a named image is resynced now and handed over again.
    if (stale || !named || !(err instanceof MirrorStateError) || !isSplitBrain(await localStatus(c.to, name))) throw err;
    delete run.report.hint;
    await resyncAndWait(run, c.to, c.toSite, fromPool, fromSite);
    await handOver(run, fromPool, fromSite, c.to, c.toSite);
  }
  return 'done';
}

/**
 * Give the primary role back to `to` (the site failed over from) once it is
 * reachable again: its stale copies (split brain after a forced failover) are
 * demoted and resynced from `from` — only for images named in `images` — the
 * resync awaited, then the role moves as in a planned failover. Resolves with
 * a per-image report; running it again converges.
 */
export async function failback(options: FailbackOptions): Promise<DrReport> {
  const o = checkOptions<FailbackOptions>(options);
  if (!isPool(o.from)) throw new TypeError('from must be a Pool (the pool on the site that is primary now)');
  if (!isPool(o.to)) throw new TypeError('to must be a Pool (the pool on the site that gets the primary role back)');
  const base = common(o); // every option checked before the fsid check's native calls
  checkTwoSites(o.from, o.to);
  const c: Ctx = {
    ...base,
    operation: 'failback',
    mode: 'planned',
    from: o.from,
    to: o.to,
    fromSite: await siteName(o.from),
    toSite: await siteName(o.to),
  };
  return runAll(c, base.concurrency, (run, f, t) => failbackOne(run, c, f, t));
}
