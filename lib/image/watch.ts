/**
 * Header update notifications (rbd_update_watch) surfaced as the image's
 * 'update' event.
 *
 * While an image has 'update' listeners, the native watch holds them and they
 * (usually) hold the image: like a socket with a 'data' listener, such an image
 * is not garbage-collected until the listeners are removed or it is closed.
 * Dropping an image without closing it is only safe once it has none (the
 * finalisation test in test/faults/finalize.test.ts covers images without).
 */
import { fromNative, RbdError, type ErrorContext } from '../core/errors';
import type { Image } from './image';
import type { NativeImage, NativeRegistration } from '../core/native';
import { native, type NativeBinding } from '../core/native';



const api = (): NativeBinding['watch'] => native().watch;

/**
 * @internal Registers the librbd update watch while the image has 'update'
 * listeners, and unregisters it when the last one goes or the image closes.
 *
 * Listeners come and go synchronously while (un)registering takes a worker
 * round trip, so one loop at a time brings the registration in line with what
 * is wanted (`#wanted()`); changes meanwhile are picked up by the loop.
 *
 * A failed registration never emits 'error' (with no 'error' listener that
 * would crash the process): the image emits 'warning' with the RbdError, and
 * the next 'update' listener added tries again.
 */
export class UpdateWatch {
  readonly #image: Image;
  #registration: NativeRegistration | undefined;
  #loop: Promise<void> | undefined;
  #closing = false;
  /** Set after a failed registration: do not retry until another listener comes. */
  #failed = false;

  constructor(image: Image) {
    this.#image = image;
  }

  /** A listener for 'update' was added. */
  listenerAdded(): void {
    this.#failed = false;
    this.#kick();
  }

  /** A listener for 'update' was removed. */
  listenerRemoved(): void {
    this.#kick();
  }

  /** Called by Image before it closes: unregister the watch. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#kick();
    await this.#loop;
  }

  #wanted(): boolean {
    return !this.#closing && !this.#failed && this.#image.listenerCount('update') > 0;
  }

  #kick(): void {
    this.#loop ??= this.#reconcile().finally(() => {
      this.#loop = undefined;
    });
  }

  async #reconcile(): Promise<void> {
    // newListener fires before the listener is in the list: look once the current tick is over.
    await Promise.resolve();
    for (;;) {
      const want = this.#wanted();
      if (want === (this.#registration !== undefined)) return;
      if (want) await this.#register();
      else await this.#unregister();
    }
  }

  async #register(): Promise<void> {
    if (this.#image.closed) {
      this.#failed = true;
      return;
    }
    try {
      this.#registration = await this.#image._call('watchUpdates', (n) => api().watch(n, () => this.#notify()));
    } catch (err) {
      this.#failed = true;
      // _call already made it an RbdError.
      this.#image.emit('warning', err instanceof RbdError ? err : fromNative(err, this.#context('watchUpdates')));
    }
  }

  async #unregister(): Promise<void> {
    const r = this.#registration!;
    try {
      // Not through image._call: this also runs while the image is closing.
      await api().unwatch(r);
    } catch (err) {
      this.#image.emit('warning', fromNative(err, this.#context('unwatchUpdates')));
    } finally {
      // Whatever happened, this registration is done with from here; the native
      // side unwatches it when it is collected if the call above failed.
      this.#registration = undefined;
    }
  }

  #notify(): void {
    if (!this.#closing) this.#image.emit('update');
  }

  #context(op: string): ErrorContext {
    const pool = this.#image.pool;
    return { op, cluster: pool.cluster.name, pool: pool.name, namespace: pool.namespace, image: this.#image.name };
  }
}
