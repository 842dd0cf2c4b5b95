/** What failover() and failback() report: the state of each copy, the steps taken, progress events, MirrorStateError. */

/** Where one copy of an image stands. */
export type DrCopyState =
  /** The writable copy. */
  | 'primary'
  /** A replica (rbd-mirror replays into it). */
  | 'non-primary'
  /** The image exists there but mirroring is disabled for it. */
  | 'not-mirrored'
  /** No image of that name on that site. */
  | 'missing'
  /** The site could not be asked (the error is in the image report). */
  | 'unreachable'
  /** Not looked at: a forced failover given no `from` site. */
  | 'unknown';

/** 'planned': demote, wait for the peer, promote; 'forced': promote with force, without waiting for the old site. */
export type FailoverMode = 'planned' | 'forced';

/** One step taken for an image. */
export interface DrAction {
  /** What was done (await-* steps are waits on rbd-mirror). */
  step:
    | 'demote'
    | 'promote'
    | 'force-promote'
    /**
     * Journal mode: rbd-mirror on the site took the force-promoted copy back (it read non-primary again: the promote
     * landed while rbd-mirror was bootstrapping the copy), so it was promoted with force again.
     */
    | 'force-promote-again'
    | 'resync'
    /**
     * Before a demote: until rbd-mirror on the other site reports the copy there up and replaying and, in journal
     * mode, has committed the primary's journal up to where it was when the wait began.
     */
    | 'await-replaying'
    /** Journal mode, after a demote: until the other site's rbd-mirror has committed the journal up to the demotion. */
    | 'await-demotion'
    /**
     * Journal mode: the other site's rbd-mirror stopped short of the demotion ("remote image is not primary") and
     * would never replay the rest, so the demoted copy was promoted again (it holds every write) and the move retried.
     */
    | 'undo-demote'
    /**
     * Journal mode, after a forced promote: until rbd-mirror on the site reports its replayer of the copy stopped
     * (or, with no live rbd-mirror reporting the copy, a settle time).
     */
    | 'await-promotion'
    /** Before a promote: until the copy has replayed the other site's demotion (librbd accepts the promote). */
    | 'await-peer'
    /** After a resync: until rbd-mirror has re-created the copy (new image id) and replays it. */
    | 'await-resync'
    /** After a resync: until the re-created copy has caught up with the primary. */
    | 'await-replication';
  /** The site acted on (its mirroring site name). */
  site: string;
  /** How long the step took. */
  ms: number;
}

/** Progress of a failover/failback, one event per step started or finished. */
export interface DrEvent {
  /** The image the event is about. */
  image: string;
  /** The step started ('inspect', an action's step) or the image's end ('verify', 'done', 'failed'). */
  phase: 'inspect' | DrAction['step'] | 'verify' | 'done' | 'failed';
  /** The site acted on, when the step acts on one. */
  site?: string;
  /** One human-readable line. */
  message: string;
}

/** What failover()/failback() did for one image, and where it left it. */
export interface DrImageReport {
  /** The image name. */
  image: string;
  /**
   * 'done': the primary role is where the call wanted it, after this call acted;
   * 'already': it already was, nothing was done;
   * 'failed': the image is left as `after` says, `error` and `hint` say why and what next.
   */
  outcome: 'done' | 'already' | 'failed';
  /** Where each copy stood when the call started. */
  before: {
    /** The copy on the `from` site. */
    from: DrCopyState;
    /** The copy on the `to` site. */
    to: DrCopyState;
  };
  /** Where each copy stands now (read again at the end, whatever the outcome). */
  after: {
    /** The copy on the `from` site. */
    from: DrCopyState;
    /** The copy on the `to` site. */
    to: DrCopyState;
  };
  /** Every step taken, in order. */
  actions: DrAction[];
  /** Why the image failed (an RbdError, a Timeout, a MirrorStateError, an AbortError). */
  error?: Error;
  /** What to do about a failed image (or a note about a done one, e.g. a split brain left on `from`). */
  hint?: string;
  /** Time spent on this image. */
  ms: number;
}

/** What failover()/failback() resolve with. */
export interface DrReport {
  /** Which call made the report. */
  operation: 'failover' | 'failback';
  /** 'planned' or 'forced' (a failback is always planned). */
  mode: FailoverMode;
  /** Site names (the pools' mirroring site names); null for a forced failover without a `from` pool. */
  from: string | null;
  /** The site name of the `to` pool. */
  to: string;
  /** Every image 'done' or 'already'. */
  ok: boolean;
  /** One report per image, in name order. */
  images: DrImageReport[];
  /** Time spent in the call. */
  ms: number;
}

/**
 * An image whose copies are in a state the operation cannot go on from (split
 * brain, a missing or unmirrored copy, an unnamed stale copy, a failed
 * verification). The image report's hint says what to do.
 */
export class MirrorStateError extends Error {
  /** The image concerned. */
  readonly image: string;
  constructor(image: string, message: string) {
    super(message);
    this.name = 'MirrorStateError';
    this.image = image;
  }
}

