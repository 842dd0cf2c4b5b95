'use strict';
// One large-data operation with this library's public API (dist/), the
// counterpart of one `rbd` CLI command in bench/run.js's large data rows:
//
//   node bench/data_op.js --conf C --pool P --op export  --image I --file F      (image.exportTo(F))
//   node bench/data_op.js --conf C --pool P --op import  --image I --file F      (pool.importFrom(F, I))
//   node bench/data_op.js --conf C --pool P --op export-diff --image I --snap S --file F  (exportDiff(image, F, { toSnapshot: S }))
//   node bench/data_op.js --conf C --pool P --op copy    --image I --dest D      (image.copy(pool, D))
//
// bench/run.js times the whole process (like the CLI's: start, connect, the
// work, close) with /usr/bin/time; this prints one JSON line with the time of
// the call alone as information.
const { Cluster, exportDiff } = require('../dist');

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  return o;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const depth = process.env.BENCH_QUEUE_DEPTH ? { queueDepth: Number(process.env.BENCH_QUEUE_DEPTH) } : undefined;
  const cluster = await Cluster.connect({ confPath: a.conf });
  try {
    const pool = await cluster.openPool(a.pool);
    const t0 = process.hrtime.bigint();
    let bytes = null;
    if (a.op === 'import') {
      bytes = await pool.importFrom(a.file, a.image, depth);
    } else {
      const image = await pool.openImage(a.image);
      try {
        if (a.op === 'export') bytes = await image.exportTo(a.file, depth);
        else if (a.op === 'export-diff') bytes = (await exportDiff(image, a.file, { toSnapshot: a.snap })).bytesWritten;
        else if (a.op === 'copy') await image.copy(pool, a.dest);
        else throw new Error(`unknown --op ${a.op}`);
      } finally {
        await image.close();
      }
    }
    const callSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(JSON.stringify({ op: a.op, bytes, callSeconds }) + '\n');
  } finally {
    await cluster.close();
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
