'use strict';
// One benchmark case with this library (dist/, so `npm run build:ts` first).
//
//   node --expose-gc bench/node_rbd_bench.js --conf C --pool P --image I \
//       --op write|read --bs 4096 --qd 32 --pattern rand|seq --warmup 1 --seconds 5
//   node --expose-gc bench/node_rbd_bench.js --conf C --pool P --image I \
//       --op write|read --bs 4096 --qd 32 --pattern rand|seq --ops 14000 --warmupOps 4000
//   node --expose-gc bench/node_rbd_bench.js --conf C --pool P --image I --rss 1000000 --qd 32 --region 67108864 [--maxSeconds 240]
//
// With --ops the run is cut by op count, not time: exactly `ops` I/Os are
// submitted, then the loops drain (bench/run.js measures a window of them with
// the LD_PRELOAD shim bench/shim/opwindow.c); the event-loop delay is recorded
// from half the `warmupOps`th completion on (--eld 0: not at all).
//   (analysis only: --api native calls the addon directly, bypassing the TypeScript layer)
//
// Keeps `qd` promises in flight: `qd` async loops, each awaiting
// image.write(buffer, offset) / image.read(buffer, offset) (zero copy, one
// preallocated Buffer per loop). CPU time is process.cpuUsage() (every thread
// of the process: V8, libuv, librbd's), over the measured window only. The
// event-loop delay (perf_hooks.monitorEventLoopDelay) is recorded over the same
// window. Prints one JSON line.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const crypto = require('node:crypto');
const { Cluster } = require('../dist');

function parseArgs(argv) {
  const o = { warmup: 1, seconds: 5, region: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    const v = argv[i + 1];
    o[k] = ['conf', 'pool', 'image', 'op', 'pattern', 'api'].includes(k) ? v : Number(v);
  }
  return o;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const now = () => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function timedCase(image, size, a) {
  const region = a.region ? Math.min(size, a.region) : size;
  const blocks = Math.floor(region / a.bs);
  let seq = 0;
  const nextOffset = a.pattern === 'rand' ? () => Math.floor(Math.random() * blocks) * a.bs : () => (seq++ % blocks) * a.bs;
  const bufs = Array.from({ length: a.qd }, () => crypto.randomBytes(a.bs));
  let done = 0;
  let stop = false;
  const isWrite = a.op === 'write';
  const ELD_RES_MS = 1;
  const eld = monitorEventLoopDelay({ resolution: ELD_RES_MS });
  if (a.ops) return countedCase(image, a, nextOffset, bufs, eld, ELD_RES_MS);
  let loop = async (buf) => {
    while (!stop) {
      await (isWrite ? image.write(buf, nextOffset()) : image.read(buf, nextOffset()));
      done++;
    }
  };
  if (a.api === 'native') {
    // Analysis only (--api native): the addon's io functions called directly,
    // without the TypeScript layer (argument checks, Resource.run's in-flight
    // bookkeeping, two async function frames): the floor of the native bridge.
    const io = require('../dist/image/io').io();
    let native;
    await image._call('bench', async (n) => {
      native = n;
    });
    loop = async (buf) => {
      while (!stop) {
        await (isWrite ? io.write(native, buf, nextOffset(), 0) : io.readInto(native, buf, nextOffset(), 0));
        done++;
      }
    };
  }
  const loops = Promise.all(bufs.map(loop));
  await sleep(a.warmup * 1000);
  eld.enable();
  const c0 = cpuSeconds(), n0 = done, t0 = now();
  await sleep(a.seconds * 1000);
  const c1 = cpuSeconds(), n1 = done, t1 = now();
  eld.disable();
  stop = true;
  await loops;
  const ops = n1 - n0;
  const secs = t1 - t0;
  return {
    client: a.api === 'native' ? 'node-rbd-native' : 'node-rbd',
    ops,
    seconds: secs,
    iops: ops / secs,
    mibps: (ops * a.bs) / secs / 1048576,
    cpuSeconds: c1 - c0,
    cpuUsPerOp: ops ? ((c1 - c0) * 1e6) / ops : null,
    eventLoopDelayMs: eldFigures(eld, ELD_RES_MS),
  };
}

// The histogram holds the interval between the sampling timer's runs, i.e.
// resolution + delay: the delay is what exceeds the resolution.
function eldFigures(eld, res) {
  return {
    p50: Math.max(0, eld.percentile(50) / 1e6 - res),
    p99: Math.max(0, eld.percentile(99) / 1e6 - res),
    max: Math.max(0, eld.max / 1e6 - res),
    resolutionMs: res,
  };
}

/** Exactly a.ops I/Os submitted by a.qd loops; the window itself is cut by the shim. */
async function countedCase(image, a, nextOffset, bufs, eld, res) {
  const isWrite = a.op === 'write';
  let issued = 0;
  let done = 0;
  // The histogram starts halfway through the warm-up, never at the window's
  // edge: a change of code path there (the first enable()) costs a
  // deoptimization and recompile inside the window, ~40 M instructions under
  // callgrind. --eld 0 (the callgrind runs): no histogram at all (its 1 ms
  // timer would fire once per op or so at valgrind's speed).
  const eldAt = a.eld === 0 ? -1 : Math.floor((a.warmupOps || 0) / 2);
  const loop = async (buf) => {
    while (issued < a.ops) {
      issued++;
      await (isWrite ? image.write(buf, nextOffset()) : image.read(buf, nextOffset()));
      if (++done === eldAt) eld.enable();
    }
  };
  const t0 = now();
  await Promise.all(bufs.map(loop));
  eld.disable();
  return { client: 'node-rbd', submitted: issued, seconds: now() - t0, eventLoopDelayMs: eldFigures(eld, res) };
}

/** RSS growth over `a.rss` small ops (half 4 KiB writes, half 4 KiB reads, QD a.qd) on the first a.region bytes. */
async function rssCase(image, size, a) {
  const bs = 4096;
  const blocks = Math.floor(Math.min(size, a.region || 64 * 1048576) / bs);
  const bufs = Array.from({ length: a.qd }, () => crypto.randomBytes(bs));
  const gc = typeof global.gc === 'function' ? () => global.gc() : null;
  const run = async (total, deadline = Infinity) => {
    let issued = 0;
    const loop = async (buf, slot) => {
      while (issued < total && (issued & 1023 || now() < deadline)) {
        const i = issued++;
        const off = Math.floor(Math.random() * blocks) * bs;
        if ((i + slot) & 1) await image.write(buf, off);
        else await image.read(buf, off);
      }
    };
    await Promise.all(bufs.map(loop));
    return issued;
  };
  const mem = async () => {
    if (gc) {
      gc();
      await sleep(50);
      gc();
    }
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  };
  await run(20000); // warm-up: JIT, librbd caches and thread pools settle
  const before = await mem();
  const t0 = now();
  const c0 = cpuSeconds();
  const ops = await run(a.rss, a.maxSeconds ? t0 + a.maxSeconds : Infinity);
  const c1 = cpuSeconds();
  const t1 = now();
  const after = await mem();
  return {
    client: 'node-rbd',
    ops,
    requestedOps: a.rss,
    capped: ops < a.rss,
    seconds: t1 - t0,
    iops: ops / (t1 - t0),
    cpuUsPerOp: ((c1 - c0) * 1e6) / ops,
    forcedGc: !!gc,
    before,
    after,
    rssGrowthMiB: (after.rss - before.rss) / 1048576,
  };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const cluster = await Cluster.connect({ confPath: a.conf });
  let image;
  try {
    const pool = await cluster.openPool(a.pool);
    image = await pool.openImage(a.image);
    const size = Number((await image.stat()).size);
    const result = a.rss ? await rssCase(image, size, a) : await timedCase(image, size, a);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    if (image) await image.close();
    await cluster.close();
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
