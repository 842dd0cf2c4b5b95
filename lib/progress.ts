/** Progress callbacks for long operations (remove, resize, flatten, copy, rollback...). */

/** Called with bytes (or objects) done so far and the total, as librbd counts them. */
export type ProgressCallback = (done: number, total: number) => void;

/**
 * Check `onProgress` and run `op` with a safe version of it: the user's
 * callback never throws into native code (an exception becomes a process
 * warning) and calls that arrive after the operation settled (and one more
 * turn of the event loop) are dropped.
 */
export async function withProgress<T>(
  onProgress: unknown,
  op: (cb: ProgressCallback | undefined) => Promise<T>,
): Promise<T> {
  if (onProgress === undefined) return op(undefined);
  if (typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
  let live = true;
  const user = onProgress as ProgressCallback;
  const safe: ProgressCallback = (done, total) => {
    if (!live) return;
    try {
      user(done, total);
    } catch (err) {
      process.emitWarning(`@x/rbd: an onProgress callback threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  try {
    return await op(safe);
  } finally {
    // Progress calls queued just before the operation finished are delivered by
    // the event loop's poll phase; let them through before closing the gate.
    await new Promise<void>((resolve) => setImmediate(resolve));
    live = false;
  }
}
