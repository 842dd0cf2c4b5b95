/** Pool-wide promote and demote (`rbd mirror pool promote|demote`): every mirrored image of a role, a bounded number at a time. */
import type { RbdError } from '../core/errors';
import { closedError } from '../core/errors';
import { checkBoolean, checkInt, checkOptions } from '../core/validate';
import type { Image } from '../image/image';
import type { Pool } from '../pool/pool';
import { imageInfos } from './pool-status';

/** One image's outcome of a pool-wide promote or demote. */
export interface MirrorPoolActionResult {
  /** The image name. */
  image: string;
  /** Whether it was promoted (demoted). */
  ok: boolean;
  /** Why not, when it was not. */
  error?: RbdError;
}

/** Options of `pool.mirror.promote()` (like `rbd mirror pool promote`). */
export interface PoolPromoteOptions {
  /** Promote even if the peer did not demote cleanly (split-brain risk), like `--force`. */
  force?: boolean;
  /** Images handled at once. Default 10 (the CLI's rbd_concurrent_management_ops). */
  concurrency?: number;
}

export async function promote(pool: Pool, options?: PoolPromoteOptions): Promise<MirrorPoolActionResult[]> {
  const o = checkOptions<PoolPromoteOptions>(options);
  const force = o.force === undefined ? false : checkBoolean(o.force, 'force');
  const concurrency = o.concurrency === undefined ? 10 : checkInt(o.concurrency, 'concurrency', 1, 256);
  return forEachImage(pool, 'promote', false, concurrency, (image) => image.mirror.promote({ force }));
}

export async function demote(pool: Pool, options?: { concurrency?: number }): Promise<MirrorPoolActionResult[]> {
  const o = checkOptions<{ concurrency?: number }>(options);
  const concurrency = o.concurrency === undefined ? 10 : checkInt(o.concurrency, 'concurrency', 1, 256);
  return forEachImage(pool, 'demote', true, concurrency, (image) => image.mirror.demote());
}

async function forEachImage(
  pool: Pool,
  op: string,
  primary: boolean,
  concurrency: number,
  act: (image: Image) => Promise<void>,
): Promise<MirrorPoolActionResult[]> {
  if (pool.closed) throw closedError({ op: `mirror.${op}`, pool: pool.name }, 'pool');
  const infos = await imageInfos(pool);
  const wanted = new Set(infos.filter((i) => i.state === 'enabled' && i.primary === primary).map((i) => i.id));
  const names = (await pool.listImageSpecs()).filter((s) => wanted.has(s.id)).map((s) => s.name);
  const results: MirrorPoolActionResult[] = new Array(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const image = names[i];
      try {
        // Through an Image of this process, as image.mirror.promote()/demote()
        // would be called: the role gate holds this process's other handles
        // of the image (a handle writing while it is demoted: README "Known
        // issues") and the call waits for the new role to be seen.
        const handle = await pool.openImage(image);
        try {
          await act(handle);
        } finally {
          await handle.close();
        }
        results[i] = { image, ok: true };
      } catch (err) {
        results[i] = { image, ok: false, error: err as RbdError };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return results;
}
