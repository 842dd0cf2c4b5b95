/** xrbd's disaster-recovery commands: failover / failback (lib/dr/dr.ts) and drill (lib/dr/drill.ts). */
import { spawn } from 'node:child_process';

import type { Cluster } from '../cluster/cluster';
import { failback, failover, type DrReport } from '../dr/dr';
import { drill, type DrillHandle } from '../dr/drill';
import { AbortError } from '../mirror/wait';
import type { Pool } from '../pool/pool';
import { EXIT, UsageError, type Command } from './args';
import type { Run } from './commands';
import { drReportJson, formatDrEvent, formatDrReport, formatDrill } from './format';

export async function dr(run: Run, cmd: Extract<Command, { name: 'failover' | 'failback' }>): Promise<number> {
  const forced = cmd.name === 'failover' && cmd.mode === 'forced';
  let fromPool: Pool | null = null;
  let fromCluster: Cluster | null = null;
  if (!cmd.fromUnreachable) {
    try {
      fromCluster = await run.connect(run.g, 'the from site');
      fromPool = await run.openPool(fromCluster, cmd.pool);
    } catch (err) {
      if (!forced || err instanceof AbortError) throw err;
      run.note(`xrbd: ${err instanceof Error ? err.message : String(err)}`);
      run.note('xrbd: going on without the from site (from: null): its copies are not demoted and may still be primary');
    }
  }
  const toCluster = await run.connect(cmd.to, 'the to site');
  if (fromCluster !== null && fromCluster.fsid() === toCluster.fsid()) {
    // Two handles on one cluster would demote and re-promote the same copy.
    throw new UsageError(
      `${cmd.name}: the global flags and the --to-* flags reach the same cluster (fsid ${toCluster.fsid()}): name the other site with --to-*`,
      cmd.name,
    );
  }
  const toPool = await run.openPool(toCluster, { pool: cmd.toPool ?? cmd.pool.pool, namespace: cmd.pool.namespace });
  const common = {
    images: cmd.images.length ? cmd.images : undefined,
    timeoutMs: run.waitMs,
    signal: run.signal,
    onEvent: (e: Parameters<typeof formatDrEvent>[0]) => run.note(formatDrEvent(e)),
  };
  let report: DrReport;
  if (cmd.name === 'failover') report = await failover({ ...common, mode: cmd.mode, from: fromPool, to: toPool });
  else report = await failback({ ...common, from: fromPool as Pool, to: toPool });
  if (run.g.json) run.json(drReportJson(report));
  else run.out(formatDrReport(report));
  if (run.signal.aborted) return EXIT.interrupted;
  return report.ok ? EXIT.ok : EXIT.partial;
}

/** Run `sh -c CMD` with the drill image named in its environment; resolves with its exit code. */
function execTest(cmd: string, d: DrillHandle, run: Run): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', cmd], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, XRBD_DRILL_SPEC: d.spec, XRBD_DRILL_POOL: d.pool, XRBD_DRILL_NAMESPACE: d.namespace, XRBD_DRILL_IMAGE: d.image },
    });
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    run.signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', reject);
    child.once('exit', (code, sig) => {
      run.signal.removeEventListener('abort', onAbort);
      resolve(code ?? (sig ? 128 : 1));
    });
  });
}

/** `xrbd drill POOL/IMAGE --primary-conf PATH [--keep | --exec CMD]`: see lib/dr/drill.ts. */
export async function drillCommand(run: Run, cmd: Extract<Command, { name: 'drill' }>): Promise<number> {
  const secondaryCluster = await run.connect(run.g, 'the drill site');
  const primaryCluster: Cluster = await run.connect(cmd.primary, 'the primary site');
  if (secondaryCluster.fsid() === primaryCluster.fsid()) {
    throw new UsageError(`drill: the global flags and the --primary-* flags reach the same cluster (fsid ${primaryCluster.fsid()}): name the primary site with --primary-*`, 'drill');
  }
  const secondary = await run.openPool(secondaryCluster, cmd.spec);
  const primary = await run.openPool(primaryCluster, { pool: cmd.primaryPool ?? cmd.spec.pool, namespace: cmd.spec.namespace });
  run.note(`drill ${cmd.spec.pool}/${cmd.spec.namespace ? `${cmd.spec.namespace}/` : ''}${cmd.spec.image}: making a drill image from a consistent point...`);
  const d = await drill({ primary, secondary, image: cmd.spec.image, timeoutMs: run.waitMs, ...(cmd.drillName ? { drillName: cmd.drillName } : {}) });
  let testCode: number | null = null;
  let cleaned = false;
  try {
    if (cmd.exec !== undefined) {
      run.note(`drill: ${d.spec} verified (sha256 ${d.checksums.drill}); running: ${cmd.exec}`);
      testCode = await execTest(cmd.exec, d, run);
    }
  } finally {
    if (!cmd.keep) {
      await d.cleanup();
      cleaned = true;
    }
  }
  if (run.g.json) run.json({ ...d, open: undefined, cleanup: undefined, test: testCode === null ? null : { command: cmd.exec, exitCode: testCode }, cleanedUp: cleaned });
  else run.out(formatDrill(d, testCode, cleaned));
  if (run.signal.aborted) return EXIT.interrupted;
  return testCode === null || testCode === 0 ? EXIT.ok : EXIT.failed;
}
