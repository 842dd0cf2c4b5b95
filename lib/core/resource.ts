/**
 * The lifecycle every handle shares (after Level's abstract-level): open →
 * closing → closed lives here in TypeScript, not in C++.
 *
 * - Each call counts as in flight until it settles; close() waits for them,
 *   then closes the handle's children (a cluster's pools, a pool's images),
 *   then the native handle. close() is idempotent: every caller gets the same
 *   promise.
 * - A call made once close() has begun rejects with HandleClosed (code 'EBADF').
 * - Children are held weakly: a forgotten image can still be collected, and the
 *   native side closes it when it is.
 * - Every handle is an EventEmitter (an image emits 'update').
 */
import { EventEmitter } from 'node:events';
import { closedError, fromNative, type ErrorContext } from './errors';

/**
 * @internal Whether `x` is a handle of this kind ('cluster', 'pool', 'image'):
 * what `instanceof Pool` said, without importing the class (an area that
 * takes a Pool argument must not import pool/ at run time: lib/ has no
 * import cycles, test/unit/core/layout.test.ts).
 */
export function isHandle<T extends Resource>(x: unknown, kind: 'cluster' | 'pool' | 'image'): x is T {
  return x instanceof Resource && (x as unknown as { kind: unknown }).kind === kind;
}

/** A handle's lifecycle: 'open', then 'closing' once close() is called, then 'closed'. */
export type ResourceState = 'open' | 'closing' | 'closed';

export abstract class Resource extends EventEmitter {
  #state: ResourceState = 'open';
  #inflight = 0;
  #idle: Array<() => void> = [];
  #closing: Promise<void> | undefined;
  #children = new Set<WeakRef<Resource>>();
  #parent: Resource | undefined;

  /** 'cluster', 'pool' or 'image': used in messages. */
  protected abstract readonly kind: string;
  /** The names that go into this handle's errors. */
  protected abstract context(op: string): ErrorContext;
  /** Close the native handle. Called once, with nothing in flight. */
  protected abstract closeNative(): Promise<void>;
  /**
   * The one hook before every call of this handle (run and runIo): a promise
   * to wait for before the call starts, or undefined to start it now. The
   * image's role gate (lib/image/role-gate.ts) is the one user: while another
   * handle of the image changes its mirror role, new calls wait here.
   */
  protected admit(): Promise<void> | undefined {
    return undefined;
  }

  protected constructor(parent?: Resource) {
    super();
    if (parent) {
      this.#parent = parent;
      parent.#children.add(this.#self);
    }
  }

  readonly #self = new WeakRef<Resource>(this);

  /** 'open', 'closing' or 'closed'. */
  get state(): ResourceState {
    return this.#state;
  }

  /** True once close() has been called. */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** Run an async native call as an in-flight operation of this handle. */
  protected async run<T>(op: string, fn: () => Promise<T>, extra?: Partial<ErrorContext>): Promise<T> {
    // Asked again after each wait, and the call counted in flight in the same
    // tick as the last answer (runNow's first statements run synchronously):
    // a role change that starts in between must see this call, or wait for it.
    for (let wait = this.admit(); wait !== undefined; wait = this.admit()) await wait;
    return this.runNow(op, fn, extra);
  }

  /**
   * run() without the admit() hook: for the hook's own work only (a handle
   * held by the role gate refreshes through it), never for a caller's call.
   */
  protected async runNow<T>(op: string, fn: () => Promise<T>, extra?: Partial<ErrorContext>): Promise<T> {
    if (this.#state !== 'open') throw closedError({ ...this.context(op), ...extra }, this.kind);
    this.#inflight++;
    try {
      return await fn();
    } catch (err) {
      throw fromNative(err, { ...this.context(op), ...extra });
    } finally {
      this.#settled();
    }
  }

  /**
   * run() for the data path's hot loop: the same accounting and error naming,
   * with one .then on the native promise instead of an async frame, and the
   * caller's mapping of the result (`ok`) and of the named error (`fail`) done
   * in that same .then (one promise per I/O besides the native one).
   *
   * `keep`: the Buffer the native call uses in place. The addon does not pin
   * it with a reference of its own (native/image/io.cc, Unpinned): the
   * callbacks below name it, so it lives in their closure; they are reactions
   * of the native promise, which the addon's napi_deferred holds strongly
   * until librbd's completion settles it. So the Buffer (and its memory) stays
   * reachable for as long as librbd may read or write it.
   */
  protected runIo<T, R = T>(
    op: string,
    fn: () => Promise<T>,
    keep?: Uint8Array,
    ok?: (v: T) => R | Promise<R>,
    fail?: (err: unknown) => R | Promise<R>,
  ): Promise<R> {
    const wait = this.admit();
    if (wait !== undefined) return wait.then(() => this.runIo(op, fn, keep, ok, fail));
    if (this.#state !== 'open') return Promise.reject(closedError(this.context(op), this.kind));
    this.#inflight++;
    let p: Promise<T>;
    try {
      p = fn();
    } catch (err) {
      this.#settled();
      return Promise.reject(fromNative(err, this.context(op)));
    }
    return p.then(
      (v) => {
        this.#settled(keep);
        return ok === undefined ? (v as unknown as R) : ok(v);
      },
      (err: unknown) => {
        this.#settled(keep);
        const named = fromNative(err, this.context(op));
        if (fail === undefined) throw named;
        return fail(named);
      },
    );
  }

  /** @internal Settles once none of this handle's calls is in flight (now, or when the last one settles). */
  _idle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** One call fewer in flight. `_keep`: see runIo (named there so that its closures hold the Buffer). */
  #settled(_keep?: Uint8Array): void {
    if (--this.#inflight === 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }

  /** Run a synchronous native call, with the same use-after-close check. */
  protected runSync<T>(op: string, fn: () => T): T {
    if (this.#state !== 'open') throw closedError(this.context(op), this.kind);
    try {
      return fn();
    } catch (err) {
      throw fromNative(err, this.context(op));
    }
  }

  /**
   * Close the handle: wait for in-flight calls, close children, release the
   * native handle. Idempotent; later calls return the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    if (this.#inflight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    const children = [...this.#children].map((r) => r.deref()).filter((c): c is Resource => c !== undefined);
    const results = await Promise.allSettled(children.map((c) => c.close()));
    let failure: unknown;
    try {
      await this.closeNative();
    } catch (err) {
      failure = fromNative(err, this.context('close'));
    } finally {
      this.#state = 'closed';
      if (this.#parent) this.#parent.#children.delete(this.#self);
      this.#children.clear();
    }
    const childFailure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) throw failure;
    if (childFailure) throw childFailure.reason;
  }

  /** close(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
