/**
 * What dr-faults.test.ts and dr-partition.test.ts both do on their two-site labs: images made, written,
 * hashed and compared on both sites, the primary role read on each, DR events awaited, calls bounded.
 */
import { createHash, randomBytes } from 'node:crypto';

import type { DrEvent, DrReport, Image, Pool } from '../../lib';
import type { Lab } from '../../lib/lab';
import { type FaultCounts, tally } from './tally';

export type Site = 'site-a' | 'site-b';
export const other = (s: Site): Site => (s === 'site-a' ? 'site-b' : 'site-a');

export const MiB = 1024 * 1024;
export const SIZE = 8 * MiB;
export const BLOCK = 16 * 1024;

export const sleep = (ms: number): Promise<void> => new Promise<void>((r) => setTimeout(r, ms));
export const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** `p`, or a rejection after `ms` (counted as a hang in `counts`). */
export async function bounded<T>(what: string, ms: number, p: Promise<T>, counts?: FaultCounts): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (counts) counts.hangs++;
      reject(new Error(`${what} did not settle within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run one scenario, its counts tallied as `<prefix>:<suite>` whatever happens; every fault survived if it passes. */
export async function scenario(prefix: string, suite: string, body: (counts: FaultCounts) => Promise<void>): Promise<void> {
  const counts: FaultCounts = { scenarios: 1, faults: 0, survived: 0, badInputs: 0, crashes: 0, hangs: 0, mismatches: 0 };
  try {
    await body(counts);
    counts.survived = counts.faults;
  } finally {
    tally(`${prefix}:${suite}`, counts);
  }
}

/** The events of an in-process DR call; `at(phase)` resolves when the first event of that phase comes. */
export function eventLog(): { onEvent: (e: DrEvent) => void; at: (phase: DrEvent['phase']) => Promise<DrEvent>; events: DrEvent[] } {
  const events: DrEvent[] = [];
  const waiters: Array<{ phase: DrEvent['phase']; resolve: (e: DrEvent) => void }> = [];
  return {
    events,
    onEvent: (e) => {
      events.push(e);
      for (const w of waiters.filter((x) => x.phase === e.phase)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    },
    at: (phase) => {
      const seen = events.find((e) => e.phase === phase);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ phase, resolve }));
    },
  };
}

/** A report (in-process or a child's) on one line per image. */
export interface ReportLike {
  images: Array<{ image: string; outcome: string; before: { from: string; to: string }; after: { from: string; to: string }; actions: Array<string | { step: string; site: string }>; error?: { message: string } }>;
}
export const pretty = (r: DrReport | ReportLike): string =>
  (r as ReportLike).images
    .map((x) => `${x.image} ${x.outcome} ${x.before.from}/${x.before.to} -> ${x.after.from}/${x.after.to} [${x.actions.map((a) => (typeof a === 'string' ? a : `${a.step}@${a.site}`)).join(' ')}]${x.error ? ` ${x.error.message}` : ''}`)
    .join('; ');

/** The image helpers of a suite whose pools are `pool(site)` and lab `lab()`; names made unique by `uniq`. */
export function imageHelpers(pool: (site: Site) => Pool, lab: () => Lab, uniq: (what: string) => string) {
  async function withImage<T>(site: Site, name: string, fn: (img: Image) => Promise<T>, readOnly = false): Promise<T> {
    const img = await pool(site).openImage(name, readOnly ? { readOnly: true } : undefined);
    try {
      return await fn(img);
    } finally {
      await img.close();
    }
  }
  const hashImage = (site: Site, name: string): Promise<string> => withImage(site, name, async (i) => sha256((await i.read(0, SIZE)) as Buffer), true);
  const imageId = (site: Site, name: string): Promise<string> => withImage(site, name, async (i) => (await i.stat()).id, true);
  const isPrimary = (site: Site, name: string): Promise<boolean> => withImage(site, name, async (i) => (await i.mirror.info()).primary);

  /** Writes a known block on `site` (the primary copy), flushed: an acknowledged write the scenario must find later. */
  async function ackedWrite(site: Site, name: string, block: number): Promise<Buffer> {
    const data = randomBytes(BLOCK);
    await withImage(site, name, async (i) => {
      await i.write(data, block * BLOCK);
      await i.flush();
    });
    return data;
  }

  /** Until the copy on `other(primary)` has the sha256 of the primary's (bounded); counts a mismatch if it never gets there. */
  async function converged(primary: Site, names: string[], counts: FaultCounts, ms = 120_000): Promise<void> {
    for (const name of names) {
      await withImage(primary, name, (i) => i.mirror.waitForReplication({ timeoutMs: ms, pollMs: 500 }));
      const want = await hashImage(primary, name);
      const deadline = Date.now() + ms;
      let got = '';
      while ((got = await hashImage(other(primary), name)) !== want) {
        if (Date.now() > deadline) {
          counts.mismatches++;
          throw new Error(`${name}: the copy on ${other(primary)} (sha256 ${got}) differs from ${primary}'s (${want}) after ${ms} ms`);
        }
        await sleep(1000);
      }
    }
  }

  /** Where the primary role of each image is: 'site-a', 'site-b', 'both' or 'none'. */
  async function roles(names: string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const n of names) {
      const [a, b] = [await isPrimary('site-a', n), await isPrimary('site-b', n)];
      out[n] = a && b ? 'both' : a ? 'site-a' : b ? 'site-b' : 'none';
    }
    return out;
  }

  /** Images primary on site-a, 2 MiB of data each, mirrored (journal, snapshot, ...), fully replicated to site-b. */
  async function mirroredImages(prefix: string, modes: Array<'journal' | 'snapshot'>, counts: FaultCounts): Promise<string[]> {
    const names: string[] = [];
    for (const mode of modes) {
      const name = uniq(`${prefix}-${mode[0]}`);
      await pool('site-a').createImage(name, SIZE, { features: ['layering', 'exclusive-lock'] });
      await withImage('site-a', name, async (img) => {
        await img.write(randomBytes(2 * MiB), 0);
        await img.flush();
        await img.mirror.enable(mode);
      });
      names.push(name);
    }
    const deadline = Date.now() + 60_000;
    for (const name of names) {
      while (!(await pool('site-b').listImages()).includes(name)) {
        if (Date.now() > deadline) throw new Error(`${name} did not appear on site-b within 60 s`);
        await sleep(500);
      }
    }
    await converged('site-a', names, counts, 90_000);
    return names;
  }

  async function dropImages(names: string[]): Promise<void> {
    for (const n of names) {
      for (const site of ['site-a', 'site-b'] as const) {
        await lab().rbd(site, ['mirror', 'image', 'disable', '--force', `${lab().pool}/${n}`]).catch(() => undefined);
      }
      for (const site of ['site-a', 'site-b'] as const) {
        await lab().rbd(site, ['rm', '--no-progress', `${lab().pool}/${n}`]).catch(() => undefined);
      }
    }
  }

  return { withImage, hashImage, imageId, isPrimary, ackedWrite, converged, roles, mirroredImages, dropImages };
}
