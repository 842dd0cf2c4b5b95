/** failover(): move the primary role to the other site, planned (demote, wait, promote) or forced (promote with force). */
import { checkOptions } from '../core/validate';
import type { Pool } from '../pool/pool';
import { siteName, type Copy } from './copies';
import { forcePromote } from './force';
import { awaitDemotionReplayed, handOver, promoteWhenReplayed } from './handover';
import { runAll, type ImageRun } from './image-run';
import { checkTwoSites, common, isPool, type Ctx, type FailoverOptions } from './options';
import { MirrorStateError, type DrReport } from './report';

/** A planned failover of one image. */
async function planned(run: ImageRun, c: Ctx, from: Copy, to: Copy): Promise<'done' | 'already'> {
  const fromSite = c.fromSite as string;
  const fromPool = c.from as Pool;
  if (to.state === 'primary' && from.state === 'non-primary') return 'already';
  if (to.state === 'unreachable') throw to.error;
  if (to.state !== 'primary' && to.state !== 'non-primary') {
    run.report.hint = `the image is ${to.state} on ${c.toSite}`;
    throw new MirrorStateError(run.report.image, `${run.report.image}: cannot fail over to ${c.toSite}: the image is ${to.state} there`);
  }
  if (from.state === 'unreachable' || from.state === 'missing' || from.state === 'not-mirrored') {
    run.report.hint = `use mode 'forced' if ${fromSite} is lost`;
    throw from.error ?? new MirrorStateError(run.report.image, `${run.report.image}: the image is ${from.state} on ${fromSite}`);
  }
  if (to.state === 'primary' && from.state === 'primary') {
    run.report.hint =
      `split brain: both copies are primary; failback({ from: <${c.toSite}>, to: <${fromSite}>, images: ['${run.report.image}'] }) ` +
      `resyncs the copy on ${fromSite}, or demote one copy and resync it by hand`;
    throw new MirrorStateError(run.report.image, `${run.report.image}: both copies are primary`);
  }
  if (to.globalId && from.globalId && to.globalId !== from.globalId) {
    throw new MirrorStateError(run.report.image, `${run.report.image}: the copies have different global ids (${from.globalId} on ${fromSite}, ${to.globalId} on ${c.toSite}): not the same mirrored image`);
  }
  if (from.state === 'primary') {
    await handOver(run, fromPool, fromSite, c.to, c.toSite);
    return 'done';
  }
  // Both non-primary: an interrupted move; finish it (no undo: who demoted is not known here).
  await awaitDemotionReplayed(run, fromPool, fromSite, c.toSite, c.to);
  await promoteWhenReplayed(run, c.to, c.toSite, fromSite);
  return 'done';
}

/** A forced failover of one image. */
async function forced(run: ImageRun, c: Ctx, from: Copy, to: Copy): Promise<'done' | 'already'> {
  if (to.state === 'primary') {
    if (from.state === 'primary') run.report.hint = `split brain: the copy on ${c.fromSite} is primary too; failback() with the image named repairs it`;
    return 'already';
  }
  if (to.state === 'unreachable') throw to.error;
  if (to.state !== 'non-primary') {
    run.report.hint = `the image is ${to.state} on ${c.toSite}`;
    throw new MirrorStateError(run.report.image, `${run.report.image}: cannot fail over to ${c.toSite}: the image is ${to.state} there`);
  }
  await forcePromote(run, c.to, c.toSite);
  if (from.state === 'primary' || from.state === 'unreachable' || from.state === 'unknown') {
    run.report.hint =
      `the copy on ${c.fromSite ?? 'the old site'} may still be primary (split brain): once that site is back, ` +
      `failback() naming this image demotes and resyncs it`;
  }
  return 'done';
}

/**
 * Move the primary role of a pool's mirrored images (or the named ones) from
 * one site to the other. `mode: 'planned'` demotes on `from` and promotes on
 * `to` once it has replayed everything; `mode: 'forced'` promotes on `to` with
 * force without waiting for `from` (which may be lost: `from: null`).
 * Resolves with a per-image report (it rejects only on bad arguments or when
 * `to` cannot list its images); running the same call again finishes what an
 * interrupted one left.
 */
export async function failover(options: FailoverOptions): Promise<DrReport> {
  const o = checkOptions<FailoverOptions>(options);
  if (o.mode !== 'planned' && o.mode !== 'forced') throw new TypeError("mode must be 'planned' or 'forced'");
  if (!isPool(o.to)) throw new TypeError('to must be a Pool (the pool on the site taking the primary role)');
  if (o.mode === 'planned' && !isPool(o.from)) throw new TypeError('a planned failover needs from: the pool on the site giving up the primary role');
  if (o.from !== undefined && o.from !== null && !isPool(o.from)) throw new TypeError('from must be a Pool or null');
  const base = common(o); // every option checked before the fsid check's native calls
  if (o.from) checkTwoSites(o.from, o.to);
  const from = o.from ?? null;
  const c: Ctx = {
    ...base,
    operation: 'failover',
    mode: o.mode,
    from,
    to: o.to,
    fromSite: from === null ? null : await siteName(from),
    toSite: await siteName(o.to),
  };
  return runAll(c, base.concurrency, (run, f, t) => (c.mode === 'planned' ? planned(run, c, f, t) : forced(run, c, f, t)));
}
