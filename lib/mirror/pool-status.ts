/**
 * The pool's mirrored images, listed page by page: statuses by state, every
 * image's status on every site, their modes and states, their rbd-mirror
 * instances, the image of a global id.
 */
import { checkInt, checkName, checkOptions } from '../core/validate';
import type { Pool } from '../pool/pool';
import type { MirrorImageStatus } from './image-mirror';
import { MIRROR_IMAGE_MODE } from '../core/constants';
import { PAGE, api, mirrorCall } from './pool-call';
import {
  mirrorImageMode,
  mirrorImageState,
  mirrorSiteStatuses,
  mirrorStatusState,
  type MirrorImageMode,
  type MirrorImageState,
  type MirrorPeerRef,
  type MirrorStatusState,
} from './status';

/**
 * A mirrored image's status on every site (rbd_mirror_image_global_status_t):
 * the shape `image.mirror.status()` reports, plus the image id.
 */
export interface MirrorPoolImageStatus extends MirrorImageStatus {
  /** The image id (what the list is paged and ordered by). */
  id: string;
}

/** A mirrored image's mode and state, as `pool.mirror.imageInfos()` lists them. */
export interface MirrorImageInfoEntry {
  /** The image id. */
  id: string;
  /** 'journal' or 'snapshot'. */
  mode: MirrorImageMode;
  /** The id shared by the image's copies on every site. */
  globalId: string;
  /** Whether mirroring is enabled for the image (or being enabled or disabled). */
  state: MirrorImageState;
  /** Whether this copy is the primary one. */
  primary: boolean;
}


export async function summary(pool: Pool): Promise<Partial<Record<MirrorStatusState, number>>> {
  const rows = await mirrorCall(pool, 'summary', (n) => api().statusSummary(n));
  const out: Partial<Record<MirrorStatusState, number>> = {};
  for (const [state, count] of rows) {
    const s = mirrorStatusState(state);
    out[s] = (out[s] ?? 0) + count;
  }
  return out;
}

export async function* globalStatuses(pool: Pool, options?: { pageSize?: number }): AsyncIterableIterator<MirrorPoolImageStatus> {
  const o = checkOptions<{ pageSize?: number }>(options);
  const size = o.pageSize === undefined ? PAGE : checkInt(o.pageSize, 'pageSize', 1, 4096);
  yield* globalStatusPages(pool, size);
}

/** globalStatuses() with a checked page size. */
export async function* globalStatusPages(pool: Pool, size: number): AsyncIterableIterator<MirrorPoolImageStatus> {
  const peers: MirrorPeerRef[] = await mirrorCall(pool, 'globalStatuses', (n) => api().peerList(n));
  let start = '';
  for (;;) {
    const page = await mirrorCall(pool, 'globalStatuses', (n) => api().globalStatusList(n, start, size));
    // librbd's status list leaves info.primary false (Pacific): take it from the
    // info list, which walks the same mirrored images in the same id order.
    const infos = page.length ? await mirrorCall(pool, 'globalStatuses', (n) => api().infoList(n, -1, start, size)) : [];
    const primary = new Map(infos.map((i) => [i.id, i.info.primary]));
    for (const { id, status } of page) {
      const { local, peers: sites } = mirrorSiteStatuses(status.siteStatuses, peers);
      yield {
        id,
        name: status.name,
        info: {
          globalId: status.info.globalId,
          state: mirrorImageState(status.info.state),
          primary: primary.get(id) ?? status.info.primary,
        },
        local,
        peers: sites,
      };
    }
    if (page.length < size) return;
    start = page[page.length - 1].id;
  }
}

export async function imageInfos(pool: Pool, options?: { mode?: 'journal' | 'snapshot' }): Promise<MirrorImageInfoEntry[]> {
  const o = checkOptions<{ mode?: 'journal' | 'snapshot' }>(options);
  const filter = o.mode === undefined ? -1 : MIRROR_IMAGE_MODE.check(o.mode, 'mode');
  const out: MirrorImageInfoEntry[] = [];
  let start = '';
  for (;;) {
    const page = await mirrorCall(pool, 'imageInfos', (n) => api().infoList(n, filter, start, PAGE));
    for (const r of page) {
      out.push({
        id: r.id,
        mode: mirrorImageMode(r.mode),
        globalId: r.info.globalId,
        state: mirrorImageState(r.info.state),
        primary: r.info.primary,
      });
    }
    if (page.length < PAGE) return out;
    start = page[page.length - 1].id;
  }
}

export async function instanceIds(pool: Pool): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let start = '';
  for (;;) {
    const page = await mirrorCall(pool, 'instanceIds', (n) => api().instanceIdList(n, start, PAGE));
    for (const [id, instance] of page) out.set(id, instance);
    if (page.length < PAGE) return out;
    start = page[page.length - 1][0];
  }
}

export async function findImageByGlobalId(pool: Pool, globalId: string): Promise<{ id: string; name: string } | null> {
  checkName(globalId, 'globalId');
  const hit = (await imageInfos(pool)).find((i) => i.globalId === globalId);
  if (!hit) return null;
  const spec = (await pool.listImageSpecs()).find((s) => s.id === hit.id);
  return spec ? { id: spec.id, name: spec.name } : null;
}
