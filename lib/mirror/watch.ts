/**
 * Watching mirroring statuses: `pool.mirror.watch()` and `image.mirror.watch()`.
 *
 * librbd has no notification for mirror status changes, so a watcher polls
 * `pool.mirror.globalStatuses()`. Every watcher of one Pool handle shares ONE
 * poll (at the shortest interval any active watcher asked for): it starts
 * when the first consumer subscribes (a 'change' listener, or an async
 * iterator that has been started), stops when the last one goes, and stops
 * when the pool is closed. rbd-mirror rewrites statuses every 30 s (and on
 * state changes), so a change shows up at most that much plus one interval late.
 * The poll's timer is unref'd: a watcher alone does not keep the process alive,
 * unless one of the pool's watchers was made with `persistent: true` (like
 * fs.watch's option; the default here is false so that a forgotten watcher
 * never holds a process open).
 *
 * The diffing (`diffMirrorStatuses`) is pure and works on plain data.
 */
import { EventEmitter } from 'node:events';
import type { MirrorSiteStatus } from './status';
import type { Pool } from '../pool/pool';
import type { MirrorPoolImageStatus } from './pool-status';

/** One image whose mirroring state or description changed between two polls. */
export interface MirrorStatusChange {
  /** The image name. */
  image: string;
  /** Its status at the previous poll; null when it was not mirrored (or not seen) then. */
  previous: MirrorPoolImageStatus | null;
  /** Its status now; null when it is no longer mirrored (disabled, removed). */
  current: MirrorPoolImageStatus | null;
}

/** Options of `pool.mirror.watch()` and `image.mirror.watch()`. */
export interface MirrorWatchOptions {
  /** How often to poll, in ms (default 5000, at least 100). Watchers of one pool share the shortest interval. */
  intervalMs?: number;
  /**
   * Keep the process alive while this watcher polls (default false: like an
   * unref'd timer, a watcher alone does not). Set it in a script whose only
   * work is `for await (const change of watcher)`.
   */
  persistent?: boolean;
}

// ------------------------------------------------------------------ pure diffing

function siteKey(s: MirrorSiteStatus | null): string {
  return s === null ? '-' : `${s.mirrorUuid}|${s.up ? 'up' : 'down'}+${s.state}|${s.description}`;
}

/**
 * What identifies a status for change detection: the image's mirroring state
 * and primary flag, and each site's up/state/description. lastUpdate alone
 * (rbd-mirror rewriting the same status) is not a change.
 */
export function mirrorStatusKey(s: MirrorPoolImageStatus): string {
  const peers = s.peers.map(siteKey).sort();
  return [s.info.state, s.info.primary ? 'primary' : 'non-primary', siteKey(s.local), ...peers].join('\n');
}

/**
 * The changes from `previous` (keyed by image name) to `current`: images that
 * appeared (previous null), disappeared (current null) or whose key changed.
 * Sorted by image name. Pure.
 */
export function diffMirrorStatuses(
  previous: ReadonlyMap<string, MirrorPoolImageStatus>,
  current: Iterable<MirrorPoolImageStatus>,
): {
  /** What changed, by image name. */
  changes: MirrorStatusChange[];
  /** `current` by image name: the `previous` of the next call. */
  next: Map<string, MirrorPoolImageStatus>;
} {
  const next = new Map<string, MirrorPoolImageStatus>();
  for (const s of current) next.set(s.name, s);
  const changes: MirrorStatusChange[] = [];
  for (const [name, cur] of next) {
    const prev = previous.get(name);
    if (prev === undefined) changes.push({ image: name, previous: null, current: cur });
    else if (mirrorStatusKey(prev) !== mirrorStatusKey(cur)) changes.push({ image: name, previous: prev, current: cur });
  }
  for (const [name, prev] of previous) if (!next.has(name)) changes.push({ image: name, previous: prev, current: null });
  changes.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
  return { changes, next };
}

// ------------------------------------------------------------------ the shared poll

const DEFAULT_INTERVAL = 5000;
const MIN_INTERVAL = 100;
const MAX_INTERVAL = 2 ** 31 - 1;

interface Subscriber {
  intervalMs: number;
  persistent: boolean;
  image: string | null;
  change(c: MirrorStatusChange): void;
  warning(err: unknown): void;
  /** The pool was closed: no more changes. */
  end(): void;
}

/** The one poll of a Pool handle. */
class PoolPoller {
  readonly #pool: Pool;
  readonly #subs = new Set<Subscriber>();
  #timer: NodeJS.Timeout | undefined;
  /** Incremented on each start/stop: a poll of an older generation drops its result. */
  #generation = 0;
  #baseline: Map<string, MirrorPoolImageStatus> | null = null;
  #running = false;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  get polling(): boolean {
    return this.#running;
  }

  add(s: Subscriber): void {
    if (this.#pool.closed) {
      queueMicrotask(() => s.end());
      return;
    }
    this.#subs.add(s);
    if (!this.#running) {
      this.#running = true;
      this.#generation++;
      this.#baseline = null;
      void this.#poll(this.#generation);
    }
  }

  remove(s: Subscriber): void {
    if (!this.#subs.delete(s)) return;
    if (this.#subs.size === 0) this.#stop();
  }

  #stop(): void {
    this.#running = false;
    this.#generation++;
    this.#baseline = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #interval(): number {
    let ms = Infinity;
    for (const s of this.#subs) ms = Math.min(ms, s.intervalMs);
    return Number.isFinite(ms) ? ms : DEFAULT_INTERVAL;
  }

  #closedPool(): void {
    const subs = [...this.#subs];
    this.#subs.clear();
    this.#stop();
    for (const s of subs) s.end();
  }

  async #poll(gen: number): Promise<void> {
    this.#timer = undefined;
    if (gen !== this.#generation) return;
    if (this.#pool.closed) return this.#closedPool();
    let statuses: MirrorPoolImageStatus[] | undefined;
    try {
      statuses = [];
      for await (const s of this.#pool.mirror.globalStatuses()) statuses.push(s);
    } catch (err) {
      statuses = undefined;
      if (gen !== this.#generation) return;
      if (this.#pool.closed) return this.#closedPool();
      for (const s of [...this.#subs]) s.warning(err);
    }
    if (gen !== this.#generation) return;
    if (statuses !== undefined) {
      if (this.#baseline === null) {
        // The first poll is the baseline: it reports nothing.
        this.#baseline = new Map(statuses.map((s) => [s.name, s]));
      } else {
        const { changes, next } = diffMirrorStatuses(this.#baseline, statuses);
        this.#baseline = next;
        for (const c of changes) {
          for (const s of [...this.#subs]) if (s.image === null || s.image === c.image) s.change(c);
        }
      }
    }
    if (gen !== this.#generation || this.#subs.size === 0) return;
    // Unref'd, like the 'update' watch: watching never keeps the process alive
    // (a forgotten watcher would otherwise keep it running forever). A poll in
    // progress does, until it settles.
    this.#timer = setTimeout(() => void this.#poll(gen), this.#interval());
    if (![...this.#subs].some((sub) => sub.persistent)) this.#timer.unref();
  }
}

const pollers = new WeakMap<Pool, PoolPoller>();

function pollerOf(pool: Pool): PoolPoller {
  let p = pollers.get(pool);
  if (!p) {
    p = new PoolPoller(pool);
    pollers.set(pool, p);
  }
  return p;
}

/**
 * What `pool.mirror.watch()` / `image.mirror.watch()` return: an EventEmitter
 * ('change' with a MirrorStatusChange; 'warning' with an error when a poll
 * fails — polling goes on; 'end' when the pool is closed) and an async
 * iterable of the changes. Adding the first 'change' listener or starting an
 * iteration subscribes to the pool's shared poll; removing it, breaking out
 * of the loop, or close() unsubscribes. The first poll after subscribing is
 * the baseline: changes are reported from the second one on.
 */
export class MirrorStatusWatcher extends EventEmitter implements AsyncIterable<MirrorStatusChange> {
  readonly #poller: PoolPoller;
  readonly #image: string | null;
  readonly #intervalMs: number;
  readonly #persistent: boolean;
  #listenerSub: Subscriber | undefined;
  readonly #iterators = new Set<Subscriber>();
  #closed = false;

  /** @internal Made by pool.mirror.watch() / image.mirror.watch(). */
  constructor(pool: Pool, image: string | null, options?: MirrorWatchOptions) {
    super();
    if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
      throw new TypeError('options must be an object');
    }
    const ms = options?.intervalMs === undefined ? DEFAULT_INTERVAL : options.intervalMs;
    if (typeof ms !== 'number') throw new TypeError(`intervalMs must be a number, got ${ms === null ? 'null' : typeof ms}`);
    // setTimeout fires at once for a delay past 2^31-1 ms: that would be a busy poll.
    if (!Number.isFinite(ms) || ms < MIN_INTERVAL || ms > MAX_INTERVAL) {
      throw new RangeError(`intervalMs must be a number from ${MIN_INTERVAL} to ${MAX_INTERVAL}`);
    }
    this.#intervalMs = ms;
    const persistent = options?.persistent;
    if (persistent !== undefined && typeof persistent !== 'boolean') throw new TypeError(`persistent must be a boolean, got ${persistent === null ? 'null' : typeof persistent}`);
    this.#persistent = persistent ?? false;
    this.#poller = pollerOf(pool);
    this.#image = image;
    this.on('newListener', (event: string | symbol) => {
      if (event === 'change' && this.#listenerSub === undefined && !this.#closed) {
        this.#listenerSub = this.#subscriber((c) => this.emit('change', c));
        this.#poller.add(this.#listenerSub);
      }
    });
    this.on('removeListener', (event: string | symbol) => {
      if (event === 'change' && this.listenerCount('change') === 0 && this.#listenerSub) {
        this.#poller.remove(this.#listenerSub);
        this.#listenerSub = undefined;
      }
    });
  }

  /** Whether the pool's shared poll is running (someone, through any watcher of this pool, is subscribed). */
  get polling(): boolean {
    return this.#poller.polling;
  }

  /** Whether close() was called (or the pool closed). */
  get closed(): boolean {
    return this.#closed;
  }

  #subscriber(change: (c: MirrorStatusChange) => void, end?: () => void): Subscriber {
    return {
      intervalMs: this.#intervalMs,
      persistent: this.#persistent,
      image: this.#image,
      change,
      warning: (err) => {
        if (this.listenerCount('warning') > 0) this.emit('warning', err);
      },
      end: () => {
        end?.();
        if (!this.#closed) this.#finish();
      },
    };
  }

  #finish(): void {
    this.#closed = true;
    if (this.#listenerSub) this.#poller.remove(this.#listenerSub);
    this.#listenerSub = undefined;
    for (const s of [...this.#iterators]) s.end();
    this.emit('end');
    this.removeAllListeners('change');
  }

  /** Unsubscribe everything: 'change' listeners are removed, iterations end. Idempotent. */
  close(): void {
    if (!this.#closed) this.#finish();
  }

  /** The changes, one at a time; ending the loop (break, return) detaches this iterator. */
  [Symbol.asyncIterator](): AsyncIterator<MirrorStatusChange> {
    const queue: MirrorStatusChange[] = [];
    // Pending next() calls, oldest first.
    const waiting: Array<(r: IteratorResult<MirrorStatusChange>) => void> = [];
    let done = this.#closed;
    let sub: Subscriber | undefined;
    const stop = (): void => {
      done = true;
      if (sub) {
        this.#iterators.delete(sub);
        this.#poller.remove(sub);
        sub = undefined;
      }
      for (const w of waiting.splice(0)) w({ value: undefined, done: true });
    };
    const start = (): void => {
      if (sub || done) return;
      sub = this.#subscriber(
        (c) => {
          const w = waiting.shift();
          if (w) w({ value: c, done: false });
          else queue.push(c);
        },
        () => stop(),
      );
      this.#iterators.add(sub);
      this.#poller.add(sub);
    };
    return {
      next: () => {
        const c = queue.shift();
        if (c !== undefined) return Promise.resolve({ value: c, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        start();
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          waiting.push(resolve);
        });
      },
      return: () => {
        stop();
        queue.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
