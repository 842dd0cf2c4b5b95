/**
 * Waiting for a condition: the poll loop behind `image.mirror`'s waits
 * (lib/mirror/wait.ts) and lib/dr's steps, and the AbortError an aborted wait
 * rejects with.
 */

/** Rejection of an aborted wait, like Node's own APIs: name 'AbortError', code 'ABORT_ERR', the signal's reason as cause. */
export class AbortError extends Error {
  /** Always 'ABORT_ERR', as Node's own AbortErrors. */
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** Throws an AbortError (the signal's reason as cause) when `signal` is aborted. */
export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
}

/** Resolves after `ms`; rejects with an AbortError as soon as `signal` is aborted (at once when it already is). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError(undefined, { cause: signal.reason }));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Races a promise against the end of the wait (its deadline or abort, in 'interrupt' mode). */
export type PollGuard = <T>(p: Promise<T>) => Promise<T>;

/** One look at the condition: a value ends the wait with it, undefined polls again. */
export type PollProbe<T> = () => Promise<T | undefined>;

/** What a poll does at its deadline: reject with the error, or resolve with `value`. */
export type PollTimeoutOutcome<T> = Error | { value: T };

/** How poll() runs. */
export interface PollOptions<T> {
  /** Pause between two probes, in ms. */
  pollMs: number;
  /** When to give up (a Date.now() value; Infinity: never). */
  deadline: number;
  /** Aborting rejects the wait with an AbortError (the signal's reason as cause). */
  signal?: AbortSignal;
  /**
   * How the deadline and the signal end the wait.
   *
   * 'interrupt': an abort, and a timer at the deadline, end the wait at once,
   * cutting short a running probe or set-up step (one passed through the
   * guard); a probe that ends past the deadline times out too, and the pause
   * is cut to the deadline. An already aborted signal rejects before anything runs.
   *
   * 'between': both are looked at only between probes, a running probe
   * always finishes: the signal before each probe and during the pause; after
   * a probe that did not end the wait, the wait times out when the next probe
   * would start past the deadline (now + pollMs > deadline).
   */
  mode: 'interrupt' | 'between';
  /** What to end with at the deadline (computed then): an Error to reject with, or `{ value }` to resolve with. */
  onTimeout: () => PollTimeoutOutcome<T> | Promise<PollTimeoutOutcome<T>>;
  /** Called after a probe that did not end the wait and did not time out, before the pause. */
  beforeSleep?: () => void;
}

// setTimeout takes at most 2^31-1 ms (a longer delay fires at once): past that
// (Infinity included) the deadline is left to the poll loop's own check.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The value of a `{ value }` timeout outcome, carried through the rejection path of 'interrupt' mode. */
class Resolved<T> {
  constructor(readonly value: T) {}
}

/**
 * The poll loop: `prepare` runs once (in 'interrupt' mode under the guard it
 * is given, which it may pass its own steps through) and returns the probe;
 * the probe then runs every `pollMs` until it returns a value, which the wait
 * resolves with. See PollOptions for the deadline and the signal.
 */
export async function poll<T>(options: PollOptions<T>, prepare: (guard: PollGuard) => Promise<PollProbe<T>>): Promise<T> {
  return options.mode === 'interrupt' ? pollInterrupting(options, prepare) : pollBetween(options, prepare);
}

/** poll() without a set-up step: `probe` runs every `pollMs` until it returns a value. */
export function pollUntil<T>(options: PollOptions<T>, probe: PollProbe<T>): Promise<T> {
  return poll(options, async () => probe);
}

async function timedOut<T>(options: PollOptions<T>): Promise<T> {
  const r = await options.onTimeout();
  if (r instanceof Error) throw r;
  return r.value;
}

async function pollBetween<T>(o: PollOptions<T>, prepare: (guard: PollGuard) => Promise<PollProbe<T>>): Promise<T> {
  const probe = await prepare((p) => p);
  for (;;) {
    checkAbort(o.signal);
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() + o.pollMs > o.deadline) return timedOut(o);
    o.beforeSleep?.();
    await sleep(o.pollMs, o.signal);
  }
}

async function pollInterrupting<T>(o: PollOptions<T>, prepare: (guard: PollGuard) => Promise<PollProbe<T>>): Promise<T> {
  const { signal, deadline } = o;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  let stop: ((err: unknown) => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    stop = reject;
  });
  stopped.catch(() => undefined);
  const onAbort = (): void => stop?.(new AbortError(undefined, { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  const outcome = async (): Promise<unknown> => {
    const r = await o.onTimeout();
    return r instanceof Error ? r : new Resolved(r.value);
  };
  const left = Math.max(0, deadline - Date.now());
  const timer = left <= MAX_TIMER_MS ? setTimeout(() => void outcome().then((e) => stop?.(e)), left) : undefined;
  let sleepTimer: NodeJS.Timeout | undefined;
  const guard = <V>(p: Promise<V>): Promise<V> => Promise.race([p, stopped]);
  try {
    const probe = await guard(prepare(guard));
    for (;;) {
      const v = await guard(probe());
      if (v !== undefined) return v;
      if (Date.now() >= deadline) throw await outcome();
      o.beforeSleep?.();
      await Promise.race([
        new Promise<void>((r) => {
          sleepTimer = setTimeout(r, Math.min(o.pollMs, Math.max(0, deadline - Date.now())));
        }),
        stopped,
      ]);
    }
  } catch (err) {
    if (err instanceof Resolved) return err.value as T;
    throw err;
  } finally {
    clearTimeout(timer);
    if (sleepTimer) clearTimeout(sleepTimer);
    signal?.removeEventListener('abort', onAbort);
  }
}
