/**
 * Disaster recovery over two sites: `failover()` and `failback()`.
 *
 * The rbd docs leave this to "an external mechanism" and Cinder's RBD driver
 * has no failback; this module is that mechanism, written against two Pool
 * handles (one per site, same pool name usually) and a list of images (or
 * every mirrored image of the pool).
 *
 * Every call starts by reading where each image stands on both sites and
 * derives what is left to do from that alone, so a call that was interrupted
 * (process killed, site lost, timeout) is finished by running the same call
 * again: nothing is remembered between calls. Each image gets a report: its
 * state on both sites before and after, every action taken, the outcome, and
 * for an image left unfinished the error and what to do next.
 *
 * Planned failover (`mode: 'planned'`), per image:
 *   demote the primary copy on `from` → promote the copy on `to` without
 *   force, retried until librbd accepts it. A non-forced promote succeeds only
 *   once rbd-mirror on `to` has replayed everything up to the demotion (journal
 *   mode: the demotion tag; snapshot mode: the demotion mirror snapshot), so a
 *   successful promote is the proof that no acknowledged write was left
 *   behind. Then verify: `to` primary, `from` non-primary.
 * Forced failover (`mode: 'forced'`): promote `to` with force and never wait
 *   for `from`, which may be gone (pass `from: null`). Journal mode: then wait
 *   until rbd-mirror on `to` has stopped replaying the copy — a promote that
 *   lands while it is still bootstrapping the copy can be overrun (20.2), the
 *   copy non-primary again, and is then made again; with no live rbd-mirror
 *   on `to` reporting the copy the promote stands after a settle time. If
 *   `from` comes back its copies are still primary: a split brain, which
 *   failback() repairs.
 * Failback (`failback({ from, to })`, `to` being the site that regains the
 *   primary role): a copy on `to` that is stale — still primary next to the
 *   primary on `from` (after a forced failover), or reported by rbd-mirror as
 *   split-brain — is demoted and resynced from `from`, the resync awaited,
 *   then the primary role moves back as in a planned failover. A resync throws
 *   away the stale copy's data, so it is done ONLY for images the caller named
 *   in `images` (ceph-csi lost data to an automatic resync after a spurious
 *   split-brain report); an unnamed stale image is left as it is and reported.
 */
export { failover } from './failover';
export { failback } from './failback';
export { MirrorStateError, type DrAction, type DrCopyState, type DrEvent, type DrImageReport, type DrReport, type FailoverMode } from './report';
export type { FailbackOptions, FailoverOptions } from './options';
