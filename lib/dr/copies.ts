/** Reading where one copy of an image stands on a site: its mirroring role, its status, its journal. */
import { constants } from 'node:os';

import { RbdError } from '../core/errors';
import type { Image, OpenImageOptions } from '../image/image';
import type { MirrorImageStatus } from '../mirror/image-mirror';
import type { JournalClient } from '../mirror/journal';
import { newestPosition } from '../mirror/journal-position';
import type { JournalPosition } from '../mirror/status';
import type { Pool } from '../pool/pool';
import type { DrCopyState } from './report';

const { EBUSY, EINVAL, EAGAIN, ENOENT, EROFS } = constants.errno;

/**
 * What a non-forced promote answers while the copy has not replayed the
 * peer's demotion yet: EBUSY (journal mode), EINVAL or EROFS (snapshot mode:
 * the demotion snapshot is not copied yet / rbd-mirror still holds the image),
 * EAGAIN, ENOENT (re-created by a resync). Retried until the deadline.
 */
export const NOT_YET = new Set([EBUSY, EINVAL, EAGAIN, ENOENT, EROFS]);

/** "target T/E; peers connected at T/E, ..." for messages. */
export function positions(clients: readonly JournalClient[], target: JournalPosition | null): string {
  const at = (p: JournalPosition | null): string => (p ? `${p.tagTid}/${p.entryTid}` : 'nothing');
  const peers = clients.filter((x) => x.id !== '').map((x) => `${x.state} at ${at(newestPosition(x.commitPosition))}`);
  return `target ${target ? at(target) : 'none'}; peers ${peers.length ? peers.join(', ') : 'none registered'}`;
}

/** The image's journal on `pool`: its clients, and the newest position of its own (master) client. */
export async function journalOf(pool: Pool, name: string): Promise<{ clients: JournalClient[]; master: JournalPosition | null }> {
  const j = await withImage(pool, name, (image) => image.mirror.journalStatus());
  const m = j.clients.find((x) => x.id === '');
  return { clients: j.clients, master: m ? newestPosition(m.commitPosition) : null };
}

/** Where one copy stands (and why it could not be read, when it could not). */
export interface Copy {
  state: DrCopyState;
  error?: Error;
  globalId?: string;
}

/** The errno of an RbdError (or of an error carrying one). */
export function errnoOf(err: unknown): number | undefined {
  return err instanceof RbdError ? err.errno : (err as { errno?: number } | null)?.errno;
}

/** The mirroring site name of the pool's cluster (its cluster name when it has none or cannot be read). */
export async function siteName(pool: Pool): Promise<string> {
  try {
    const name = await pool.mirror.siteName();
    if (name) return name;
  } catch {
    /* fall through */
  }
  return pool.cluster.name;
}

/** Run `fn` on the image opened on `pool` (with `options`), closing it after. */
export async function withImage<T>(pool: Pool, name: string, fn: (image: Image) => Promise<T>, options?: OpenImageOptions): Promise<T> {
  const image = await pool.openImage(name, options);
  try {
    return await fn(image);
  } finally {
    await image.close().catch(() => undefined);
  }
}

/** Where the copy on `pool` stands ('unknown' without a pool). */
export async function inspect(pool: Pool | null, name: string): Promise<Copy> {
  if (pool === null) return { state: 'unknown' };
  try {
    return await withImage(pool, name, async (image) => {
      const info = await image.mirror.info();
      if (info.state === 'disabled') return { state: 'not-mirrored' as const };
      return { state: info.primary ? ('primary' as const) : ('non-primary' as const), globalId: info.globalId };
    });
  } catch (err) {
    if (errnoOf(err) === ENOENT) return { state: 'missing' };
    return { state: 'unreachable', error: err as Error };
  }
}

/** The local status of a non-primary copy; null when it cannot be read. */
export async function localStatus(pool: Pool, name: string): Promise<MirrorImageStatus | null> {
  try {
    return await withImage(pool, name, (image) => image.mirror.status());
  } catch {
    return null;
  }
}

/** Whether rbd-mirror reports the copy as split-brain. */
export function isSplitBrain(status: MirrorImageStatus | null): boolean {
  const l = status?.local;
  return !!l && /split-brain/i.test(l.description);
}

