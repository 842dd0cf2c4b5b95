/** Running a failover()/failback() over images: one ImageRun per image, a bounded number at a time, and the call's report. */
import { constants } from 'node:os';

import { Timeout } from '../core/errors';
import { checkAbort } from '../core/poll';
import type { Pool } from '../pool/pool';
import { inspect, type Copy } from './copies';
import type { Ctx } from './options';
import { MirrorStateError, type DrAction, type DrEvent, type DrImageReport, type DrReport } from './report';

const { ETIMEDOUT } = constants.errno;

/**
 * One image of a failover()/failback() call: its report, its deadline, and
 * the bookkeeping of its steps (lib/dr/handover.ts, force.ts, resync.ts).
 */
export class ImageRun {
  readonly report: DrImageReport;
  /** The call's context. */
  readonly c: Ctx;
  /** When the image's run started. */
  readonly t0 = Date.now();
  /** The bound of every wait of the image (t0 + timeoutMs). */
  readonly deadline: number;

  constructor(c: Ctx, image: string) {
    this.c = c;
    this.deadline = this.t0 + c.timeoutMs;
    this.report = {
      image,
      outcome: 'failed',
      before: { from: 'unknown', to: 'unknown' },
      after: { from: 'unknown', to: 'unknown' },
      actions: [],
      ms: 0,
    };
  }

  /** How every wait of the image polls: lib/dr's mode, the call's pollMs and signal, the image's deadline. */
  get polling(): { mode: 'between'; pollMs: number; deadline: number; signal: AbortSignal | undefined } {
    return { mode: 'between', pollMs: this.c.pollMs, deadline: this.deadline, signal: this.c.signal };
  }

  /** The image name. */
  get name(): string {
    return this.report.image;
  }

  /** Report progress of the image. */
  emit(phase: DrEvent['phase'], message: string, site?: string): void {
    this.c.emit({ image: this.name, phase, site, message });
  }

  /** Run one step: an event when it starts, an action in the report when it has finished. */
  async act<T>(step: DrAction['step'], site: string, message: string, fn: () => Promise<T>): Promise<T> {
    checkAbort(this.c.signal);
    this.emit(step, message, site);
    const t = Date.now();
    const v = await fn();
    this.report.actions.push({ step, site, ms: Date.now() - t });
    return v;
  }

  /** Fail the image with `error`, and `hint` as what to do next. */
  fail(error: Error, hint?: string): never {
    if (hint !== undefined) this.report.hint = hint;
    throw error;
  }

  /** A Timeout of a wait of the image on `pool`, `hint` (when given) becoming the report's hint. */
  timeout(pool: Pool, message: string, hint?: string): Timeout {
    if (hint !== undefined) this.report.hint = hint;
    return new Timeout(ETIMEDOUT, { op: this.c.operation, pool: pool.name, image: this.name, subject: 'image' }, message);
  }

  /** Read both copies, run `work` from there, read them again and verify the outcome. */
  async run(work: (from: Copy, to: Copy) => Promise<'done' | 'already'>): Promise<DrImageReport> {
    const c = this.c;
    const r = this.report;
    try {
      checkAbort(c.signal);
      this.emit('inspect', 'reading the state of both copies');
      const [from, to] = await Promise.all([inspect(c.from, this.name), inspect(c.to, this.name)]);
      r.before = { from: from.state, to: to.state };
      r.outcome = await work(from, to);
    } catch (err) {
      r.outcome = 'failed';
      r.error = err instanceof Error || (typeof err === 'object' && err !== null) ? (err as Error) : new Error(String(err));
    }
    const [from, to] = await Promise.all([
      c.from === null ? Promise.resolve<Copy>({ state: 'unknown' }) : inspect(c.from, this.name),
      inspect(c.to, this.name),
    ]);
    r.after = { from: from.state, to: to.state };
    if (r.outcome !== 'failed') {
      // Verify: the primary role must now be on `to` (and, unless forced, not on `from`).
      const wrong =
        to.state !== 'primary'
          ? `the copy on ${c.toSite} is ${to.state}, not primary`
          : c.mode === 'planned' && from.state === 'primary'
            ? `the copy on ${c.fromSite} is still primary`
            : undefined;
      if (wrong) {
        r.outcome = 'failed';
        r.error = new MirrorStateError(this.name, `verification failed for ${this.name}: ${wrong}`);
        r.hint ??= 'run the same call again';
      }
    }
    r.ms = Date.now() - this.t0;
    if (r.outcome === 'failed') {
      this.emit('failed', `${r.error?.message ?? 'failed'}${r.hint ? ` (${r.hint})` : ''}`);
    } else {
      this.emit('verify', `primary on ${c.toSite}${r.after.from !== 'unknown' ? `, ${r.after.from} on ${c.fromSite}` : ''}`);
      this.emit('done', r.outcome === 'already' ? 'nothing to do' : `done in ${r.ms} ms`);
    }
    return r;
  }
}

/** The images a call acts on: the named ones, or every mirrored image found on either site, in name order. */
async function imageNames(c: Ctx, pools: Array<Pool | null>): Promise<string[]> {
  if (c.named) return [...c.named];
  const names = new Set<string>();
  for (const pool of pools) {
    if (pool === null) continue;
    let infos;
    try {
      infos = await pool.mirror.imageInfos();
    } catch (err) {
      if (pool === c.to) throw err;
      continue; // an unreachable `from`: its images are listed by `to`
    }
    const ids = new Set(infos.filter((i) => i.state === 'enabled').map((i) => i.id));
    for (const s of await pool.listImageSpecs()) if (ids.has(s.id)) names.add(s.name);
  }
  return [...names].sort();
}

/** Run `work` for every image of the call, `concurrency` at a time, and report. */
export async function runAll(
  c: Ctx,
  concurrency: number,
  work: (run: ImageRun, from: Copy, to: Copy) => Promise<'done' | 'already'>,
): Promise<DrReport> {
  const t0 = Date.now();
  const names = await imageNames(c, [c.to, c.from]);
  const reports: DrImageReport[] = new Array(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const run = new ImageRun(c, names[i]);
      reports[i] = await run.run((from, to) => work(run, from, to));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return {
    operation: c.operation,
    mode: c.mode,
    from: c.fromSite,
    to: c.toSite,
    ok: reports.every((r) => r.outcome !== 'failed'),
    images: reports,
    ms: Date.now() - t0,
  };
}
