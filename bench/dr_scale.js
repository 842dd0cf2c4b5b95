'use strict';
// DR scale rows of `npm run bench` (bench/run.js starts the two-site lab and
// runs this as a child), with this library's public API (dist/):
//
//   node bench/dr_scale.js --confA A.conf --confB B.conf --pool P --counts 1,10,50 --watchImages 200 --watchSeconds 60
//
// For each count n (cumulative: the pool grows to n snapshot-mirrored images,
// 64 MiB each, 1 MiB written): waits until site B replays all of them (not
// timed), then times
//   - failover({ mode: 'planned', from: A, to: B, images })   (every image must come back 'done')
//   - failback({ from: B, to: A, images })                     (idem)
//   - pool-wide demote on A: poolA.mirror.demote()             (every image of the pool)
//   - pool-wide promote on A: poolA.mirror.promote()           (the demote undone, no force)
//   - the same two with the CLI (`rbd mirror pool demote/promote`), for comparison
// Then grows the pool to `watchImages` images and watches it:
// pool.mirror.watch() at the default interval for watchSeconds (CPU of this
// process over the window, per poll and as % of one core; event-loop delay),
// and a second, shorter window at 1000 ms for a steadier CPU-per-poll figure.
// Polls are counted by wrapping PoolMirror.prototype.globalStatuses (what the
// watcher calls once per poll). Prints one JSON line.
const { execFileSync } = require('node:child_process');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { Cluster, failover, failback } = require('../dist');
const { PoolMirror } = require('../dist/mirror/pool-mirror');

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  return o;
}

const log = (m) => process.stderr.write(`  dr: ${m}\n`);
const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function statuses(pool) {
  const out = new Map();
  for await (const s of pool.mirror.globalStatuses()) out.set(s.name, s);
  return out;
}

/** Until every image in `names` reads `state` on the pool's own site, bounded. */
async function waitLocal(pool, names, state, timeoutMs) {
  const t0 = Date.now();
  for (;;) {
    const st = await statuses(pool);
    const missing = names.filter((n) => !st.has(n) || !st.get(n).local || st.get(n).local.state !== state);
    if (!missing.length) return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${missing.length} images not ${state} after ${timeoutMs} ms (e.g. ${missing[0]}: ${JSON.stringify(st.get(missing[0])?.local)})`);
    await sleep(1000);
  }
}

async function grow(poolA, have, n, log) {
  const buf = Buffer.alloc(1048576, 0x5a);
  const names = [];
  for (let i = have.length; i < n; i++) names.push(`dr-${String(i).padStart(3, '0')}`);
  const work = names.slice();
  const worker = async () => {
    for (let name = work.shift(); name; name = work.shift()) {
      await poolA.createImage(name, 64 * 1048576);
      const img = await poolA.openImage(name);
      try {
        await img.write(buf, 0);
        await img.mirror.enable('snapshot');
      } finally {
        await img.close();
      }
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: 8 }, worker));
  have.push(...names);
  log(`${names.length} images created and mirror-enabled (${have.length} in the pool) in ${(now() - t0).toFixed(1)} s`);
}

function checkReport(what, r) {
  if (!r.ok) {
    const bad = r.images.filter((x) => x.outcome !== 'done' && x.outcome !== 'already');
    throw new Error(`${what}: ${bad.length} images not done, e.g. ${JSON.stringify({ image: bad[0].image, outcome: bad[0].outcome, error: bad[0].error && bad[0].error.message, hint: bad[0].hint })}`);
  }
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const counts = a.counts.split(',').map(Number);
  const watchImages = Number(a.watchImages);
  const watchSeconds = Number(a.watchSeconds);
  const timeoutMs = Number(a.timeoutMs || 600000);
  const ca = await Cluster.connect({ confPath: a.confA });
  const cb = await Cluster.connect({ confPath: a.confB });
  const result = { rows: [], watch: null };
  let failed = null;
  try {
    const poolA = await ca.openPool(a.pool);
    const poolB = await cb.openPool(a.pool);
    const have = [];
    for (const n of counts) {
      await grow(poolA, have, n, log);
      const names = have.slice(0, n);
      const wait = await waitLocal(poolB, names, 'replaying', timeoutMs);
      log(`${n} images replaying on B after ${wait.toFixed(1)} s more`);
      const row = { images: n };
      let t0 = now();
      const fo = await failover({ mode: 'planned', from: poolA, to: poolB, images: names, timeoutMs });
      row.failoverSeconds = now() - t0;
      checkReport('failover', fo);
      log(`planned failover of ${n}: ${row.failoverSeconds.toFixed(1)} s`);
      const waitA = await waitLocal(poolA, names, 'replaying', timeoutMs); // A follows B before the way back (not timed)
      log(`${n} images replaying on A after ${waitA.toFixed(1)} s`);
      t0 = now();
      const fb = await failback({ from: poolB, to: poolA, images: names, timeoutMs });
      row.failbackSeconds = now() - t0;
      checkReport('failback', fb);
      log(`failback of ${n}: ${row.failbackSeconds.toFixed(1)} s`);
      const waitB = await waitLocal(poolB, names, 'replaying', timeoutMs);
      log(`${n} images replaying on B again after ${waitB.toFixed(1)} s`);
      t0 = now();
      const dem = await poolA.mirror.demote();
      row.poolDemoteSeconds = now() - t0;
      row.poolDemoted = dem.filter((x) => x.ok).length;
      t0 = now();
      const pro = await poolA.mirror.promote();
      row.poolPromoteSeconds = now() - t0;
      row.poolPromoted = pro.filter((x) => x.ok).length;
      if (row.poolDemoted !== have.length || row.poolPromoted !== have.length) {
        const bad = [...dem, ...pro].find((x) => !x.ok);
        throw new Error(`pool-wide demote/promote: ${row.poolDemoted}/${row.poolPromoted} of ${have.length} ok (${bad && bad.image}: ${bad && bad.error && bad.error.message})`);
      }
      log(`pool-wide demote ${row.poolDemoteSeconds.toFixed(2)} s, promote ${row.poolPromoteSeconds.toFixed(2)} s (${have.length} images)`);
      // the same with the rbd CLI, for comparison (rbd mirror pool demote / promote)
      t0 = now();
      execFileSync('rbd', ['-c', a.confA, 'mirror', 'pool', 'demote', a.pool], { stdio: 'ignore' });
      row.cliPoolDemoteSeconds = now() - t0;
      t0 = now();
      execFileSync('rbd', ['-c', a.confA, 'mirror', 'pool', 'promote', a.pool], { stdio: 'ignore' });
      row.cliPoolPromoteSeconds = now() - t0;
      log(`rbd mirror pool demote ${row.cliPoolDemoteSeconds.toFixed(2)} s, promote ${row.cliPoolPromoteSeconds.toFixed(2)} s`);
      result.rows.push(row);
    }

    if (watchImages > 0) {
      await grow(poolA, have, watchImages, log);
      await sleep(3000);
      let polls = 0;
      const orig = PoolMirror.prototype.globalStatuses;
      PoolMirror.prototype.globalStatuses = function (...args) {
        polls++;
        return orig.apply(this, args);
      };
      const listed = (await statuses(poolA)).size;
      const windows = [];
      for (const [intervalMs, seconds] of [[undefined, watchSeconds], [1000, Math.max(8, Math.round(watchSeconds / 3))]]) {
        const eld = monitorEventLoopDelay({ resolution: 10 });
        const w = poolA.mirror.watch(intervalMs === undefined ? {} : { intervalMs });
        let changes = 0;
        w.on('change', () => changes++);
        await sleep(200); // the first poll (the baseline) under way
        polls = 0;
        eld.enable();
        const c0 = cpu();
        const t0 = now();
        await sleep(seconds * 1000);
        const c1 = cpu();
        const t1 = now();
        eld.disable();
        const n = polls;
        w.close();
        windows.push({
          intervalMs: intervalMs === undefined ? 'default' : intervalMs,
          seconds: t1 - t0,
          polls: n,
          changes,
          cpuSeconds: c1 - c0,
          cpuMsPerPoll: n ? ((c1 - c0) * 1000) / n : null,
          corePct: (100 * (c1 - c0)) / (t1 - t0),
          eventLoopDelayMs: { p50: Math.max(0, eld.percentile(50) / 1e6 - 10), p99: Math.max(0, eld.percentile(99) / 1e6 - 10), max: Math.max(0, eld.max / 1e6 - 10), resolutionMs: 10 },
        });
        log(`watch of ${listed} images at ${intervalMs || 'the default'} ms: ${n} polls in ${(t1 - t0).toFixed(0)} s, ${(100 * (c1 - c0) / (t1 - t0)).toFixed(2)} % of a core`);
      }
      PoolMirror.prototype.globalStatuses = orig;
      result.watch = { images: listed, windows };
    }
  } catch (e) {
    failed = e;
    result.error = String(e && e.message ? e.message : e);
  } finally {
    await ca.close();
    await cb.close();
  }
  process.stdout.write(JSON.stringify(result) + '\n'); // the rows finished, also when a later one failed
  if (failed) throw failed;
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
