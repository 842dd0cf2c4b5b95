/** Progress callbacks for long operations (remove, resize, flatten, copy, rollback...). */

/** Called with the objects (or bytes) done so far and the total, as librbd counts them. */
export type ProgressCallback = (done: number, total: number) => void;

/**
 * Check `onProgress` and run `op` with a safe version of it:
 * - the user's callback never throws into native code (an exception becomes a
 *   process warning);
 * - librbd counts the objects it has *started* (0 .. total-1), so after a
 *   successful operation whose last report was short of the total, one more
 *   call with done === total is made, before the promise resolves;
 * - calls that arrive after the operation settled (and one more turn of the
 *   event loop, for calls queued just before it finished) are dropped.
 */
export async function withProgress<T>(
  onProgress: unknown,
  op: (cb: ProgressCallback | undefined) => Promise<T>,
): Promise<T> {
  if (onProgress === undefined) return op(undefined);
  if (typeof onProgress !== 'function') throw new TypeError(`onProgress must be a function, got ${typeof onProgress}`);
  const user = onProgress as ProgressCallback;
  let live = true;
  let last: [number, number] | undefined;
  const call = (done: number, total: number): void => {
    last = [done, total];
    try {
      user(done, total);
    } catch (err) {
      process.emitWarning(`@x/rbd: an onProgress callback threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const settle = (ok: boolean) =>
    new Promise<void>((resolve) =>
      setImmediate(() => {
        live = false;
        if (ok && last !== undefined && last[0] !== last[1]) call(last[1], last[1]);
        resolve();
      }),
    );
  let out: T;
  try {
    out = await op((done, total) => {
      if (live) call(done, total);
    });
  } catch (err) {
    await settle(false);
    throw err;
  }
  await settle(true);
  return out;
}
