/** The options of failover() and failback(), their checks, and what a call runs with (its context). */
import { checkInt } from '../core/validate';
import type { Pool } from '../pool/pool';
import type { DrEvent, FailoverMode } from './report';

interface DrCommonOptions {
  /**
   * Images to act on, by name. Default: every mirrored image found on either
   * site. Only named images are ever resynced.
   */
  images?: readonly string[];
  /** Bound for each image's waits (peer replay, resync), in ms (default 300000). */
  timeoutMs?: number;
  /** How often waits poll, in ms (default 1000). */
  pollMs?: number;
  /** Images handled at a time (default 4). */
  concurrency?: number;
  /** Aborting stops every image at its next step; each is reported as it was left. */
  signal?: AbortSignal;
  /** Progress callback (exceptions it throws are ignored). */
  onEvent?: (event: DrEvent) => void;
}

/** Options of failover(). */
export interface FailoverOptions extends DrCommonOptions {
  /** How to move the primary role, see FailoverMode. */
  mode: FailoverMode;
  /**
   * The pool on the site giving up the primary role. Required for a planned
   * failover; for a forced one, pass it when the site answers (its state is
   * then reported) or null when it is lost.
   */
  from?: Pool | null;
  /** The pool on the site taking the primary role. */
  to: Pool;
}

/** Options of failback(). */
export interface FailbackOptions extends DrCommonOptions {
  /** The pool on the site that holds the primary role now (the one failed over to). */
  from: Pool;
  /** The pool on the site that gets the primary role back. */
  to: Pool;
}

const DEFAULT_TIMEOUT = 300_000;
const DEFAULT_POLL = 1000;
const DEFAULT_CONCURRENCY = 4;

/** What one failover()/failback() call runs with. */
export interface Ctx {
  operation: 'failover' | 'failback';
  mode: FailoverMode;
  from: Pool | null;
  to: Pool;
  fromSite: string | null;
  toSite: string;
  named: Set<string> | null;
  timeoutMs: number;
  pollMs: number;
  signal: AbortSignal | undefined;
  emit: (e: DrEvent) => void;
}

/** A Pool (what `from` and `to` must be), told by its shape. */
export function isPool(v: unknown): v is Pool {
  return typeof v === 'object' && v !== null && typeof (v as Pool).openImage === 'function' && 'mirror' in v;
}

/**
 * `from` and `to` must be pools of two different clusters: two handles on the
 * same cluster would see "both copies primary" and a failback would demote and
 * resync the only copy.
 */
export function checkTwoSites(from: Pool, to: Pool): void {
  if (from === to) throw new RangeError('from and to must be pools on different sites');
  if (from.cluster.fsid() === to.cluster.fsid()) {
    throw new RangeError(`from and to are pools of the same cluster (fsid ${to.cluster.fsid()}): they must be on different sites`);
  }
}

/** The checked common options, with their defaults. */
export function common(o: DrCommonOptions): Omit<Ctx, 'operation' | 'mode' | 'from' | 'to' | 'fromSite' | 'toSite'> & { concurrency: number } {
  let named: Set<string> | null = null;
  if (o.images !== undefined) {
    if (!Array.isArray(o.images)) throw new TypeError('images must be an array of image names');
    named = new Set();
    for (const n of o.images as unknown[]) {
      if (typeof n !== 'string' || n === '') throw new TypeError('images must hold non-empty image names');
      if (n.includes('\0')) throw new RangeError('image names must not contain NUL bytes');
      named.add(n);
    }
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  if (o.onEvent !== undefined && typeof o.onEvent !== 'function') throw new TypeError('onEvent must be a function');
  const onEvent = o.onEvent;
  return {
    named,
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_TIMEOUT : checkInt(o.timeoutMs, 'timeoutMs', 1, 2 ** 31 - 1),
    pollMs: o.pollMs === undefined ? DEFAULT_POLL : checkInt(o.pollMs, 'pollMs', 10, 600_000),
    concurrency: o.concurrency === undefined ? DEFAULT_CONCURRENCY : checkInt(o.concurrency, 'concurrency', 1, 256),
    signal: o.signal,
    emit: (e) => {
      try {
        onEvent?.(e);
      } catch {
        /* a progress callback never breaks the orchestration */
      }
    },
  };
}

