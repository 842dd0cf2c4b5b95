/**
 * The forced move of an image's primary role (failover 'forced'): promote
 * with force and, in journal mode, wait until rbd-mirror has given the copy up.
 */
import { MirroringNotEnabled } from '../core/errors';
import { checkAbort, pollUntil, sleep } from '../core/poll';
import type { Pool } from '../pool/pool';
import { NOT_YET, errnoOf, inspect, localStatus, withImage } from './copies';
import type { ImageRun } from './image-run';
import { MirrorStateError } from './report';

/** Journal mode: how many times one forced failover promotes a copy again that rbd-mirror took back. */
const MAX_FORCE_AGAIN = 3;
/**
 * Journal mode, after a forced promote: how long a copy that no live
 * rbd-mirror reports (its daemon down, or not started on the copy yet) is
 * watched before the promote stands.
 */
const SETTLE_MS = 15_000;
/**
 * Journal mode, after a forced promote: how long rbd-mirror must report
 * `stopping_replay` (it has seen the promotion and is shutting its replayer
 * down) while the copy stays primary before the promote stands. With the old
 * site gone rbd-mirror can stay in that state for good (seen in the DR demo's
 * site-loss step on 16.2: the replayer never finishes stopping against a
 * cluster that does not answer).
 */
const STOPPING_SETTLE_MS = 3_000;

/** One promote with force, retried on the transient refusals of NOT_YET (rbd-mirror still holding the copy) until the deadline. */
async function promoteWithForce(run: ImageRun, pool: Pool): Promise<void> {
  const c = run.c;
  for (;;) {
    checkAbort(c.signal);
    try {
      await withImage(pool, run.name, (image) => image.mirror.promote({ force: true }));
      return;
    } catch (err) {
      const n = errnoOf(err);
      if (n === undefined || !NOT_YET.has(n) || err instanceof MirroringNotEnabled || Date.now() + c.pollMs > run.deadline) {
        throw err;
      }
      if ((await inspect(pool, run.name)).state === 'primary') return;
    }
    await sleep(c.pollMs, c.signal);
  }
}

/**
 * Promote the copy on `pool` with force. Journal mode: not done until
 * rbd-mirror on `site` has given the copy up (see awaitPromotion); when it
 * took the copy back (non-primary again), promote with force again, at most
 * MAX_FORCE_AGAIN times.
 */
export async function forcePromote(run: ImageRun, pool: Pool, site: string): Promise<void> {
  await run.act('force-promote', site, `promoting the copy on ${site} with force`, () => promoteWithForce(run, pool));
  if ((await withImage(pool, run.name, (image) => image.mirror.mode())) !== 'journal') return;
  for (let again = 0; ; again++) {
    const r = await awaitPromotion(run, pool, site);
    if (r !== 'overrun') return;
    if (again >= MAX_FORCE_AGAIN) {
      run.fail(
        new MirrorStateError(run.name, `${run.name}: rbd-mirror on ${site} took the copy back after ${again + 1} forced promotes (non-primary again)`),
        `check rbd-mirror on ${site} (\`rbd mirror image status\`) and run the same call again`,
      );
    }
    await run.act('force-promote-again', site, `rbd-mirror on ${site} took the copy back (non-primary again): promoting with force again`, () =>
      promoteWithForce(run, pool),
    );
  }
}

/**
 * Journal mode, after a forced promote of the copy on `pool`: wait until
 * rbd-mirror on `site` has acknowledged it, i.e. reports its replayer of the
 * copy up and stopped ("stopped", "local image is primary") while the copy
 * reads primary. A promote that lands while rbd-mirror is still
 * bootstrapping the copy can be overrun (seen on 20.2): rbd-mirror appends a
 * tag owned by the old primary on top of the promotion's and replays again,
 * and the copy reads non-primary — 'overrun' then. When no rbd-mirror
 * reports the copy up (its daemon down, or not started on the copy yet) or
 * it reports an error (its next bootstrap sees the local primary), the
 * promote stands once SETTLE_MS have passed: 'unattended'. Bounded by the
 * deadline: a copy still reported as replaying by a live rbd-mirror then is
 * a failure (it may yet be taken back).
 */
export async function awaitPromotion(run: ImageRun, pool: Pool, site: string): Promise<'acknowledged' | 'unattended' | 'overrun'> {
  type Outcome = 'acknowledged' | 'unattended' | 'overrun';
  const c = run.c;
  const t = Date.now();
  let waited = false;
  let last = 'no status yet';
  let stoppingSince: number | undefined;
  let unattended = false;
  const done = (r: Outcome): Outcome => {
    if (waited) run.report.actions.push({ step: 'await-promotion', site, ms: Date.now() - t });
    return r;
  };
  return pollUntil<Outcome>(
    {
      ...run.polling,
      // At the deadline a copy no live rbd-mirror attends stands; one still replayed by a live rbd-mirror fails.
      onTimeout: () =>
        unattended
          ? { value: done('unattended') }
          : run.timeout(
              pool,
              `the copy on ${site} is primary but rbd-mirror there has not stopped replaying it (last status ${last})`,
              `rbd-mirror on ${site} may still take the copy back; check \`rbd mirror image status\` there and promote it with force again if it is non-primary`,
            ),
      beforeSleep: () => {
        if (!waited) {
          waited = true;
          run.emit('await-promotion', `waiting for rbd-mirror on ${site} to stop replaying the promoted copy (now ${last})`, site);
        }
      },
    },
    async () => {
      const copy = await inspect(pool, run.name);
      if (copy.state === 'non-primary') return done('overrun');
      if (copy.state !== 'primary') {
        run.fail(copy.error ?? new MirrorStateError(run.name, `${run.name}: the copy on ${site} is ${copy.state} after the forced promote`));
      }
      const l = (await localStatus(pool, run.name))?.local;
      last = l ? `${l.up ? 'up' : 'down'}+${l.state}: ${l.description}` : 'no status';
      // ("remote image ..." is a non-primary copy's stop, from before the promote)
      if (l?.up && l.state === 'stopped' && !/remote image/i.test(l.description)) return done('acknowledged');
      if (l?.up && l.state === 'stopping_replay' && !/remote image/i.test(l.description)) {
        stoppingSince ??= Date.now();
        if (Date.now() - stoppingSince >= STOPPING_SETTLE_MS) return done('acknowledged');
      } else {
        stoppingSince = undefined;
      }
      unattended = !l?.up || l.state === 'error';
      if (unattended && Date.now() - t >= SETTLE_MS) return done('unattended');
      return undefined;
    },
  );
}
