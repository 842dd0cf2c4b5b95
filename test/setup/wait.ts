/** Bounded polling for integration tests: replication and daemon state change on their own schedule. */

/**
 * Poll `probe` once a second until it returns something other than undefined
 * (a throw counts as "not yet"); after `ms`, fail naming `what` and the last
 * thing seen.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = 'not yet';
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
