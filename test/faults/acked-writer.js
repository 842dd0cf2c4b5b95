'use strict';
// Child process of lab-faults.test.ts (scenario "client killed mid-write"): opens
// an image (exclusive-lock) with the built SDK and writes block after block of a
// known pattern, printing each block's index on stdout once its write resolved —
// the acknowledged-writes log the parent checks after killing this process.
//   node acked-writer.js <dist dir> <ceph.conf> <pool> <image> <block size> <blocks> <seed>
const { createHash } = require('node:crypto');
const [distDir, confPath, poolName, imageName, bs, count, seed] = process.argv.slice(2);

/** The pattern of block i: sha256(seed:i) repeated (the parent computes the same). */
function pattern(i, size) {
  const h = createHash('sha256').update(`${seed}:${i}`).digest();
  const b = Buffer.alloc(size);
  for (let o = 0; o < size; o += h.length) h.copy(b, o);
  return b;
}

(async () => {
  const { Cluster } = require(distDir);
  const cluster = await Cluster.connect({ confPath, timeoutMs: 20_000 });
  const pool = await cluster.openPool(poolName);
  const image = await pool.openImage(imageName);
  const size = Number(bs);
  process.stdout.write('open\n');
  for (let i = 0; i < Number(count); i++) {
    await image.write(pattern(i, size), i * size);
    process.stdout.write(`${i}\n`);
  }
  process.stdout.write('done\n');
  await image.close();
  await pool.close();
  await cluster.close();
})().catch((err) => {
  process.stderr.write(`acked-writer: ${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
