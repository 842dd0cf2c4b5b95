/** Header update notifications (rbd_update_watch) surfaced as the image's 'update' event. */
import type { Image } from './image';
import { nativeArea } from './native';

/** The native functions of this area (native/watch.cc). */
interface NativeWatch {}

// eslint-disable-next-line @typescript-eslint/no-unused-vars
const api = (): NativeWatch => nativeArea<NativeWatch>('watch');

/**
 * @internal Registers the librbd update watch while the image has 'update'
 * listeners, and unregisters it when the last one goes or the image closes.
 */
export class UpdateWatch {
  readonly #image: Image;

  constructor(image: Image) {
    this.#image = image;
  }

  /** A listener for 'update' was added. */
  listenerAdded(): void {
    void this.#image;
  }

  /** A listener for 'update' was removed. */
  listenerRemoved(): void {}

  /** Called by Image before it closes: unregister the watch. */
  async close(): Promise<void> {}
}
