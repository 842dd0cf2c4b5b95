/**
 * A fault suite's own lab directory, held for the whole suite (withLabLock of
 * @x/rbd/lab): lab-faults and dr-faults each start a lab of their own there,
 * and a second run of the same suite must not start or stop it meanwhile.
 */
import { withLabLock } from '../../lib/lab';

export interface HeldLabDir {
  /** Let the directory go (after the suite's lab is stopped); settles once the lock is released. */
  release(): Promise<void>;
}

/** Take `dir`'s lab lock, waiting up to `waitMs` for another run of `suite` to finish with it. */
export async function holdLabDir(dir: string, suite: string, waitMs: number): Promise<HeldLabDir> {
  let releaseLock: () => void = () => undefined;
  let lockHeld: Promise<void> = Promise.resolve();
  const acquired = new Promise<void>((resolve) => {
    lockHeld = withLabLock(
      dir,
      () => {
        resolve();
        return new Promise<void>((r) => (releaseLock = r));
      },
      waitMs,
    );
  });
  await Promise.race([
    acquired,
    lockHeld.then(
      () => undefined,
      (e: unknown) => Promise.reject(new Error(`another run of the ${suite} suite holds ${dir}: ${String(e)}`)),
    ),
  ]);
  return {
    async release() {
      releaseLock();
      await lockHeld.catch(() => undefined);
    },
  };
}
