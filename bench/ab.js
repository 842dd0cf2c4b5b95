'use strict';
// A/B of two builds of the addon on a busy host: this library's client only,
// the two addons alternated run by run (A B B A A B ...), so that drifts in the
// host's load hit both alike. Not part of `npm run bench`; for judging a
// data-path change when a full run's repeats vary more than the change.
//
//   node bench/run.js --repeats 0 --no-rss --no-save --keep-lab   # a prefilled bench lab, left running
//   node bench/ab.js --a build-h5/Release/xrbd.node --b build/Release/xrbd.node \
//       [--rounds 6] [--seconds 4] [--cases 4k-randwrite-qd32,4k-randread-qd32,4k-randwrite-qd1,4k-randread-qd1]
//       [--conf bench/tmp/client/ceph.conf] [--pool bench] [--image bench-img] [--out bench/results/x-ab.txt]
//   node bench/ab.js --stop-lab                                   # stop and purge that lab
//
// Prints each run and, per case, the median IOPS and CPU µs/op of A and B and
// their ratio. Each addon is copied first (a rebuild during the run cannot change it).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const TMP = path.join(__dirname, 'tmp');
const CASES = {
  '4k-randwrite-qd1': { op: 'write', bs: 4096, qd: 1 },
  '4k-randwrite-qd32': { op: 'write', bs: 4096, qd: 32 },
  '4k-randread-qd1': { op: 'read', bs: 4096, qd: 1 },
  '4k-randread-qd32': { op: 'read', bs: 4096, qd: 32 },
};

function parseArgs(argv) {
  const o = {
    rounds: 6,
    seconds: 4,
    cases: Object.keys(CASES),
    conf: path.join(TMP, 'client', 'ceph.conf'),
    pool: 'bench',
    image: 'bench-img',
    out: null,
    a: null,
    b: null,
    stopLab: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'stop-lab') o.stopLab = true;
    else if (k === 'cases') o.cases = argv[++i].split(',');
    else if (k === 'rounds' || k === 'seconds') o[k] = Number(argv[++i]);
    else if (['conf', 'pool', 'image', 'out', 'a', 'b'].includes(k)) o[k] = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  for (const c of o.cases) if (!CASES[c]) throw new Error(`unknown case ${c}`);
  return o;
}

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err.slice(-1000)}`))));
  });
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function copyAddon(src, tag) {
  const dst = path.join(TMP, 'addon-ab', tag, 'xrbd.node');
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.copyFileSync(path.resolve(src), dst);
  return dst;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.stopLab) {
    const { Lab } = require(path.join(ROOT, 'dist', 'lab'));
    const lab = await Lab.open(path.join(TMP, 'lab'));
    if (lab) await lab.stop({ purge: true });
    return;
  }
  if (!o.a || !o.b) throw new Error('--a and --b (two xrbd.node files) are required');
  const addons = { A: copyAddon(o.a, 'a'), B: copyAddon(o.b, 'b') };
  const lines = [];
  const say = (l) => {
    lines.push(l);
    process.stdout.write(l + '\n');
  };
  say(`bench/ab.js ${new Date().toISOString()}: A = ${o.a}, B = ${o.b}; ${o.rounds} rounds × ${o.seconds} s, order A B B A ...`);
  const results = {};
  for (let r = 0; r < o.rounds; r++) {
    for (const id of o.cases) {
      const c = CASES[id];
      for (const which of r % 2 ? ['B', 'A'] : ['A', 'B']) {
        const args = ['--expose-gc', path.join(__dirname, 'node_rbd_bench.js'), '--conf', o.conf, '--pool', o.pool, '--image', o.image,
          '--op', c.op, '--bs', String(c.bs), '--qd', String(c.qd), '--pattern', 'rand', '--warmup', '1', '--seconds', String(o.seconds)];
        const res = JSON.parse((await run(process.execPath, args, { XRBD_ADDON: addons[which] })).trim().split('\n').pop());
        ((results[id] ??= { A: [], B: [] })[which]).push(res);
        const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
        say(`  round ${r + 1} ${id.padEnd(18)} ${which}: ${res.iops.toFixed(0).padStart(6)} IOPS ${res.cpuUsPerOp.toFixed(1).padStart(6)} µs/op  (load ${load})`);
      }
    }
  }
  say('');
  say('| case | A IOPS (median) | B IOPS (median) | A/B IOPS | A CPU µs/op | B CPU µs/op | A/B CPU/op | A wins IOPS (rounds) |');
  say('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const id of o.cases) {
    const { A, B } = results[id];
    const ia = median(A.map((x) => x.iops));
    const ib = median(B.map((x) => x.iops));
    const ca = median(A.map((x) => x.cpuUsPerOp));
    const cb = median(B.map((x) => x.cpuUsPerOp));
    const wins = A.filter((x, i) => x.iops > B[i].iops).length;
    say(`| ${id} | ${ia.toFixed(0)} | ${ib.toFixed(0)} | ${(ia / ib).toFixed(3)} | ${ca.toFixed(1)} | ${cb.toFixed(1)} | ${(ca / cb).toFixed(3)} | ${wins}/${A.length} |`);
  }
  if (o.out) fs.writeFileSync(o.out, lines.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
