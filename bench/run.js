'use strict';
// `npm run bench`: this library against fio's rbd ioengine and the official
// Python binding (python3-rbd), judged by cost per op, plus large data rows
// against the `rbd` CLI and DR scale rows. Figures only: targets are printed,
// never asserted (the command fails only when a run itself fails).
//
//   node bench/run.js [--quick] [--repeats N] [--cases 4k-randwrite-qd1,...]
//                     [--no-rss] [--no-data] [--no-dr] [--no-save] [--keep-lab]
//
// Cost per op (4 KiB write/read, QD1 and QD32; 4 MiB sequential write/read, QD4):
// - Every client runs a fixed number of submissions; the LD_PRELOAD shim
//   bench/shim/opwindow.c (built here with cc, into bench/tmp/shim) wraps
//   rbd_aio_create_completion(), which each client calls once per I/O, and cuts
//   the window by op count: after WARM submissions, exactly OPS more.
// - Instructions per op: the client under valgrind --tool=callgrind
//   --instr-atstart=no; the shim starts instrumentation at the window's first
//   submission and stops + dumps at its end (callgrind.h client requests): the
//   whole process, every thread (librbd's, librados', the client's own).
//   4 KiB rows only (at 4 MiB the count is the data copy's).
// - A second run of the same case without valgrind gives, over the same kind of
//   window: CPU per op and voluntary context switches per op (getrusage
//   RUSAGE_SELF: every thread), syscalls per op (a perf counter of the
//   raw_syscalls:sys_enter tracepoint, inherited by every thread; '-' when the
//   kernel refuses it), IOPS and MiB/s (information: this host is shared).
// - fio runs with thread=1 (one process: its job thread, librbd's threads).
// - Repeats are interleaved case by case with the client order rotated; each
//   ratio is printed with its round-to-round spread (half the range of the
//   per-round ratios).
// Also: RSS growth and event-loop delay of this library (bench/node_rbd_bench.js
// --rss); large data (bench/data_op.js vs `rbd export/import/export-diff/cp` on
// an image with 50 % random data); DR scale (bench/dr_scale.js on a two-site
// lab: planned failover, failback, pool-wide demote/promote of 1/10/50 images,
// watching a 200-image pool).
//
// Labs: the single-site lab in bench/tmp/lab on mon port BENCH_BASE_PORT, else
// XRBD_LAB_BASE_PORT + 900 (memstore, no mirroring; the tests' port plan,
// test/setup/ports.ts), and for the DR rows a two-site lab in bench/tmp/drlab on
// BENCH_DR_BASE_PORT, else XRBD_LAB_BASE_PORT + 200 (+ 300 for the second site:
// the plan's free range), each stopped when its rows are done (also on
// SIGINT/SIGTERM). Raw output: bench/results/<date>-<host>[-quick].txt and .json.
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const TMP = path.join(__dirname, 'tmp');
const LAB_DIR = path.join(TMP, 'lab');
const DR_LAB_DIR = path.join(TMP, 'drlab');
const RESULTS = path.join(__dirname, 'results');
const LAB_BASE = Number(process.env.XRBD_LAB_BASE_PORT || 17100);
const BASE_PORT = Number(process.env.BENCH_BASE_PORT || LAB_BASE + 900);
const DR_BASE_PORT = Number(process.env.BENCH_DR_BASE_PORT || LAB_BASE + 200);
const POOL = 'bench';
const DR_POOL = 'drbench';
const IMAGE = 'bench-img';
const IMAGE_BYTES = 1024 * 1048576;
const PYTHON = '/usr/bin/python3'; // the system python: the pyenv one on PATH has no rbd module
const SHIM_SRC = path.join(__dirname, 'shim', 'opwindow.c');
const SHIM = path.join(TMP, 'shim', 'opwindow.so');

const CASES = [
  { id: '4k-randwrite-qd1', op: 'write', bs: 4096, qd: 1, pattern: 'rand', fioRw: 'randwrite', callgrind: true },
  { id: '4k-randwrite-qd32', op: 'write', bs: 4096, qd: 32, pattern: 'rand', fioRw: 'randwrite', callgrind: true },
  { id: '4k-randread-qd1', op: 'read', bs: 4096, qd: 1, pattern: 'rand', fioRw: 'randread', callgrind: true },
  { id: '4k-randread-qd32', op: 'read', bs: 4096, qd: 32, pattern: 'rand', fioRw: 'randread', callgrind: true },
  { id: '4m-seqwrite-qd4', op: 'write', bs: 4194304, qd: 4, pattern: 'seq', fioRw: 'write', callgrind: false },
  { id: '4m-seqread-qd4', op: 'read', bs: 4194304, qd: 4, pattern: 'seq', fioRw: 'read', callgrind: false },
];
const CLIENTS = ['fio', 'python-rbd', 'node-rbd'];
const LABEL = { fio: 'fio', 'python-rbd': 'python-rbd', 'node-rbd': '**@x/rbd**' };

// Window sizes (submissions). The callgrind window of issue 14: 4,000 warm-up, 10,000 counted.
const PROFILES = {
  full: {
    repeats: 2,
    cg: { warm: 4000, ops: 10000 },
    native4k: { warm: 4000, ops: 12000 },
    native4m: { warm: 16, ops: 160 },
    rssOps: 1_000_000, rssMaxSeconds: 240,
    dataMiB: 1024, dataRepeats: 2,
    drCounts: [1, 10, 50], watchImages: 200, watchSeconds: 60,
  },
  quick: {
    repeats: 1,
    cg: { warm: 3000, ops: 3000 },
    native4k: { warm: 2000, ops: 6000 },
    native4m: { warm: 8, ops: 48 },
    rssOps: 100_000, rssMaxSeconds: 15,
    dataMiB: 128, dataRepeats: 1,
    // 50 watched images, not 200: making 200 mirrored images was most of --quick's 8.2 min
    drCounts: [1, 10], watchImages: 50, watchSeconds: 15,
  },
};

const TARGETS = {
  instrVsPython: 0.95, // 4 KiB rows: instructions per op ≤ 0.95 × python-rbd's
  instrVsFio: 1.05, // … and ≤ 1.05 × fio's
  cpu4mVsFio: 1.0, // 4 MiB rows: CPU per op ≤ fio's
  ctxQd32VsFio: 1.0, // QD32 rows: voluntary context switches per op ≤ fio's
  dataVsCli: 0.95, // large data: ≥ 0.95 × the rbd CLI's MiB/s
  failover50Seconds: 60, // planned failover of 50 images < 60 s
  watchCorePct: 2, // watching a 200-image pool at the default interval < 2 % of one core
  eldP99Ms: 10, // event-loop delay p99 < 10 ms (4 KiB QD32 write)
  rssGrowthMiB: 20, // RSS growth < 20 MiB over 1,000,000 ops
};

// ------------------------------------------------------------------ arguments

function parseArgs(argv) {
  const o = { quick: false, repeats: null, cases: null, rss: true, data: true, dr: true, save: true, keepLab: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--repeats') o.repeats = Number(val());
    else if (a === '--cases') o.cases = val().split(',');
    else if (a === '--no-rss') o.rss = false;
    else if (a === '--no-data') o.data = false;
    else if (a === '--no-dr') o.dr = false;
    else if (a === '--no-save') o.save = false;
    else if (a === '--keep-lab') o.keepLab = true;
    else throw new Error(`unknown argument ${a}`);
  }
  o.profile = { ...PROFILES[o.quick ? 'quick' : 'full'] };
  if (o.repeats !== null) {
    if (!Number.isInteger(o.repeats) || o.repeats < 0) throw new Error('bad --repeats');
    o.profile.repeats = o.repeats;
  }
  if (o.cases) for (const c of o.cases) if (!CASES.some((x) => x.id === c)) throw new Error(`unknown case ${c}`);
  return o;
}

// ------------------------------------------------------------------ output

const lines = [];
function out(line = '') {
  lines.push(line);
  process.stdout.write(line + '\n');
}
const note = (m) => process.stderr.write(`bench: ${m}\n`);

const fmt = (v, d = 0) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
const kfmt = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : `${(v / 1000).toFixed(1)}k`);
const mean = (xs) => {
  const v = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};
/** Round-to-round spread: half the range, relative to the mean ('1 round' when there is one). */
function spread(xs) {
  const v = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x));
  if (v.length < 2) return null;
  const m = mean(v);
  return m ? (Math.max(...v) - Math.min(...v)) / 2 / Math.abs(m) : null;
}
const sp = (xs) => {
  const s = spread(xs);
  return s === null ? '' : ` ±${(s * 100).toFixed(1)}%`;
};

// ------------------------------------------------------------------ processes

let current = null; // the running child, killed on SIGINT/SIGTERM

function runProcess(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...(opts.env || {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    current = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (opts.echoStderr) process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs || 300_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      current = null;
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      if (code === 0) resolve({ stdout, stderr });
      else reject(Object.assign(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}:\n${stderr.slice(-2000)}`), { stdout }));
    });
  });
}

/** Whole-process wall and CPU (user + sys, every thread) of a command, by /usr/bin/time. */
async function timed(cmd, args, opts = {}) {
  const tf = path.join(TMP, `time-${process.pid}.txt`);
  const r = await runProcess('/usr/bin/time', ['-f', '%e %U %S', '-o', tf, cmd, ...args], opts);
  const [wall, user, sys] = fs.readFileSync(tf, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  fs.rmSync(tf, { force: true });
  return { ...r, wall, cpu: user + sys };
}

function lastJsonLine(text) {
  const l = text.trim().split('\n').filter((x) => x.startsWith('{')).pop();
  if (!l) throw new Error(`no JSON in output: ${text.slice(-500)}`);
  return JSON.parse(l);
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    return `? (${e.message.split('\n')[0]})`;
  }
}

// ------------------------------------------------------------------ the shim

function buildShim() {
  for (const tool of ['cc', 'valgrind']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} not found: run scripts/setup-system.sh (it installs build-essential and valgrind)`);
    }
  }
  fs.mkdirSync(path.dirname(SHIM), { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-Werror', '-shared', '-fPIC', '-o', SHIM, SHIM_SRC, '-ldl'], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** The raw_syscalls:sys_enter tracepoint id, or 0 when tracefs cannot be read. */
function syscallTracepoint() {
  for (const d of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    try {
      return Number(fs.readFileSync(path.join(d, 'events/raw_syscalls/sys_enter/id'), 'utf8').trim()) || 0;
    } catch {
      /* next */
    }
  }
  return 0;
}
let SYSCALL_ID = 0;

// ------------------------------------------------------------------ one counted run

let addonEnv = {};

function fioJob(c, total) {
  return [
    '[global]', 'ioengine=rbd', 'clientname=admin', `pool=${POOL}`, `rbdname=${IMAGE}`, 'invalidate=0', 'norandommap=1',
    'randrepeat=0', 'thread=1', `[${c.id}]`, `rw=${c.fioRw}`, `bs=${c.bs}`, `iodepth=${c.qd}`, `number_ios=${total}`,
    // number_ios alone does not stop a sequential job at the end of the image: let it wrap
    `io_size=${total * c.bs}`,
  ].join('\n') + '\n';
}

/** fio's own count of the job's I/Os (a cross-check of the submissions planned). */
function fioIos(file, c) {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')).jobs[0];
  return (c.op === 'write' ? j.write : j.read).total_ios;
}

/**
 * One client, one case, `warm` + `ops` (+ a tail) submissions; the shim's window
 * covers exactly `ops`. callgrind: under valgrind, instructions counted in the window.
 */
async function countedRun(client, c, conf, { warm, ops, callgrind, tag }) {
  const total = warm + ops + c.qd + 16; // the window closes at submission warm + ops + 1; the rest drains
  const dir = path.join(TMP, 'win');
  fs.mkdirSync(dir, { recursive: true });
  const winOut = path.join(dir, `${tag}.json`);
  const cgBase = path.join(dir, `${tag}.callgrind`);
  fs.rmSync(winOut, { force: true });
  for (const f of fs.readdirSync(dir)) if (f.startsWith(`${tag}.callgrind`)) fs.rmSync(path.join(dir, f));
  const env = {
    LD_PRELOAD: SHIM, XRBD_WIN_WARMUP: String(warm), XRBD_WIN_OPS: String(ops), XRBD_WIN_OUT: winOut,
    XRBD_WIN_SYSCALL_ID: callgrind ? '' : String(SYSCALL_ID), CEPH_CONF: conf,
  };
  let cmd;
  let args;
  const common = ['--conf', conf, '--pool', POOL, '--image', IMAGE, '--op', c.op, '--bs', String(c.bs), '--qd', String(c.qd), '--pattern', c.pattern];
  if (client === 'fio') {
    const job = path.join(dir, `${tag}.fio`);
    fs.writeFileSync(job, fioJob(c, total));
    cmd = 'fio';
    args = ['--output-format=json', `--output=${path.join(dir, `${tag}.fio.json`)}`, job];
  } else if (client === 'python-rbd') {
    cmd = PYTHON;
    args = [path.join(__dirname, 'python_rbd_bench.py'), ...common, '--ops', String(total)];
  } else {
    cmd = process.execPath;
    args = [path.join(__dirname, 'node_rbd_bench.js'), ...common, '--ops', String(total), '--warmupOps', String(warm), '--eld', callgrind ? '0' : '1'];
    Object.assign(env, addonEnv);
  }
  if (callgrind) {
    args = ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${cgBase}.%p`, cmd, ...args];
    cmd = 'valgrind';
  }
  const r = await runProcess(cmd, args, { env, timeoutMs: 600_000 });
  if (!fs.existsSync(winOut)) throw new Error(`${client} ${c.id}: the shim's window never closed (${total} submissions planned)`);
  const w = JSON.parse(fs.readFileSync(winOut, 'utf8'));
  const res = { client, case: c.id, kind: callgrind ? 'callgrind' : 'native', window: w };
  if (callgrind) {
    const dumps = fs.readdirSync(dir).filter((f) => f.startsWith(`${tag}.callgrind.`) && f.endsWith('.1'));
    if (dumps.length !== 1) throw new Error(`${client} ${c.id}: expected one callgrind window dump, found ${dumps.length}`);
    const text = fs.readFileSync(path.join(dir, dumps[0]), 'utf8');
    const m = text.match(/^totals:\s+(\d+)/m) || text.match(/^summary:\s+(\d+)/m);
    if (!m) throw new Error(`${client} ${c.id}: no totals in ${dumps[0]}`);
    res.instructions = Number(m[1]);
    res.instrPerOp = res.instructions / w.ops;
    for (const f of fs.readdirSync(dir)) if (f.startsWith(`${tag}.callgrind`)) fs.rmSync(path.join(dir, f));
  } else {
    const secs = w.wallUs / 1e6;
    res.iops = w.ops / secs;
    res.mibps = (w.ops * c.bs) / secs / 1048576;
    res.cpuUsPerOp = (w.userUs + w.sysUs) / w.ops;
    res.vcswPerOp = w.nvcsw / w.ops;
    res.ivcswPerOp = w.nivcsw / w.ops;
    res.syscallsPerOp = w.syscalls === null ? null : w.syscalls / w.ops;
    if (client === 'node-rbd') res.eventLoopDelayMs = lastJsonLine(r.stdout).eventLoopDelayMs;
    if (client === 'fio') res.fioIos = fioIos(path.join(dir, `${tag}.fio.json`), c);
  }
  return res;
}

// ------------------------------------------------------------------ environment

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = (cpuinfo.match(/^model name\s*:\s*(.*)$/m) || [])[1] || '?';
  const flags = (cpuinfo.match(/^flags\s*:\s*(.*)$/m) || [])[1] || '';
  return {
    host: os.hostname(),
    nproc: Number(sh('nproc', [])),
    cpuModel: model.trim(),
    hypervisor: flags.includes('hypervisor'),
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    ceph: sh('ceph', ['--version']),
    fio: sh('fio', ['--version']),
    valgrind: sh('valgrind', ['--version']),
    python: sh(PYTHON, ['-c', 'import sys, rbd; print(sys.version.split()[0], "rbd", rbd.__file__)']),
    node: process.version,
    objectstore: `memstore OSD (${process.env.MEMSTORE_BYTES || 4294967296} bytes) on the same host, 1 mon + 1 mgr + 1 osd, pool size 1`,
  };
}

function snapshotAddon(from) {
  const src = path.resolve(from);
  const dst = path.join(TMP, 'addon', 'a', 'xrbd.node');
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.copyFileSync(src, dst);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(dst)).digest('hex');
  return { env: { XRBD_ADDON: dst }, info: { from: path.relative(ROOT, src), built: fs.statSync(src).mtime.toISOString(), sha256: sha.slice(0, 16) } };
}

// ------------------------------------------------------------------ labs

const { Lab } = require(path.join(ROOT, 'dist', 'lab'));
const labs = new Set();

async function startLab(opts) {
  note(`starting a lab in ${opts.dir} (mon port ${opts.basePort})`);
  const lab = await Lab.start({ ...opts, log: (l) => process.stderr.write(`  ${l}\n`) });
  labs.add(lab);
  return lab;
}

async function stopLab(lab, keep) {
  if (!labs.has(lab)) return;
  labs.delete(lab);
  if (keep) return;
  note('stopping a bench lab');
  await lab.stop({ purge: true }).catch((e) => note(`lab stop: ${e.message}`));
}

/** The client ceph.conf of a site: its own, plus no librbd cache (no client gets a write-back cache the others lack). */
function clientConf(site, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'ceph.conf'); // must be called ceph.conf: $cluster in the keyring path comes from it
  const siteConf = fs.readFileSync(site.confPath, 'utf8');
  if (!/^\[client\]$/m.test(siteConf)) throw new Error(`no [client] section in ${site.confPath}`);
  fs.writeFileSync(conf, siteConf.replace(/^\[client\]$/m, '[client]\nrbd cache = false'), { mode: 0o600 });
  return conf;
}

// ------------------------------------------------------------------ sections

async function perOpRows(record, cases, conf, p) {
  for (let r = 0; r < p.repeats; r++) {
    for (const c of cases) {
      const order = CLIENTS.map((_, i) => CLIENTS[(i + r) % CLIENTS.length]);
      for (const client of order) {
        const tag = `${c.id}-${client}-${r}`;
        const nat = await countedRun(client, c, conf, { ...(c.bs > 65536 ? p.native4m : p.native4k), callgrind: false, tag });
        nat.repeat = r;
        record.runs.push(nat);
        let msg = `[${r + 1}/${p.repeats}] ${c.id.padEnd(18)} ${client.padEnd(10)} ${fmt(nat.cpuUsPerOp, 1).padStart(7)} µs/op ${fmt(nat.vcswPerOp, 2).padStart(6)} vcsw/op ${fmt(nat.syscallsPerOp, 1).padStart(6)} sysc/op ${fmt(nat.iops).padStart(6)} IOPS`;
        if (c.callgrind) {
          const cg = await countedRun(client, c, conf, { ...p.cg, callgrind: true, tag: `${tag}-cg` });
          cg.repeat = r;
          record.runs.push(cg);
          msg += `  ${kfmt(cg.instrPerOp).padStart(7)} instr/op`;
        }
        note(msg);
      }
    }
  }
}

async function rssRow(record, conf, p) {
  note(`RSS over ${p.rssOps} ops (4 KiB, QD32, half writes half reads, first 64 MiB, ${p.rssMaxSeconds} s cap)`);
  const { stdout } = await runProcess(
    process.execPath,
    ['--expose-gc', path.join(__dirname, 'node_rbd_bench.js'), '--conf', conf, '--pool', POOL, '--image', IMAGE, '--rss', String(p.rssOps), '--qd', '32', '--region', String(64 * 1048576), '--maxSeconds', String(p.rssMaxSeconds)],
    { timeoutMs: (p.rssMaxSeconds + 120) * 1000, env: addonEnv },
  );
  record.rss = lastJsonLine(stdout);
}

/** A sparse raw file of `mib` MiB: every other MiB random, the rest a hole (50 % random data). */
function makeSource(file, mib) {
  const fd = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < mib; i += 2) fs.writeSync(fd, crypto.randomBytes(1048576), 0, 1048576, i * 1048576);
    fs.ftruncateSync(fd, mib * 1048576);
  } finally {
    fs.closeSync(fd);
  }
}

function sameBytes(a, b) {
  try {
    execFileSync('cmp', ['-s', a, b]);
    return true;
  } catch {
    return false;
  }
}

async function dataRows(record, lab, conf, p) {
  const dir = path.join(TMP, 'data');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const mib = p.dataMiB;
  const src = path.join(dir, 'src.raw');
  makeSource(src, mib);
  note(`large data rows: ${mib} MiB image, 50 % random data (every other MiB), ${p.dataRepeats} round(s)`);
  // the per-op image goes: the memstore OSD holds the data image, an import and a copy at once
  await lab.rbd('bench', ['rm', '--no-progress', `${POOL}/${IMAGE}`]);
  const rbd = (args) => timed('rbd', ['-c', conf, '--no-progress', ...args]);
  const sdk = (args) => timed(process.execPath, [path.join(__dirname, 'data_op.js'), '--conf', conf, '--pool', POOL, ...args], { env: addonEnv });
  const rm = (name) => lab.rbd('bench', ['rm', '--no-progress', `${POOL}/${name}`]);
  const rows = [];
  const add = (row, tool, t, check) => {
    const call = tool === 'sdk' ? lastJsonLine(t.stdout).callSeconds : null;
    rows.push({ row, tool, wall: t.wall, cpu: t.cpu, mibps: mib / t.wall, callMibps: call ? mib / call : null, cpuMsPerMiB: (t.cpu * 1000) / mib, check });
  };
  await rbd(['import', src, `${POOL}/data`]); // the image every other row reads (untimed)
  await rbd(['snap', 'create', `${POOL}/data@s1`]);
  for (let r = 0; r < p.dataRepeats; r++) {
    const cliFirst = r % 2 === 0;
    const pair = async (fnCli, fnSdk) => {
      if (cliFirst) {
        await fnCli();
        await fnSdk();
      } else {
        await fnSdk();
        await fnCli();
      }
    };
    // export
    const eCli = path.join(dir, 'e-cli.raw');
    const eSdk = path.join(dir, 'e-sdk.raw');
    await pair(
      async () => add('export', 'rbd', await rbd(['export', `${POOL}/data`, eCli]), sameBytes(eCli, src) ? 'same bytes as the source' : 'DIFFERS from the source'),
      async () => add('export', 'sdk', await sdk(['--op', 'export', '--image', 'data', '--file', eSdk]), sameBytes(eSdk, src) ? 'same bytes as the source' : 'DIFFERS from the source'),
    );
    fs.rmSync(eCli, { force: true });
    fs.rmSync(eSdk, { force: true });
    // import
    await pair(
      async () => {
        add('import', 'rbd', await rbd(['import', src, `${POOL}/imp-cli`]), '');
        await rm('imp-cli');
      },
      async () => {
        const t = await sdk(['--op', 'import', '--image', 'imp-sdk', '--file', src]);
        const back = path.join(dir, 'imp-back.raw');
        await rbd(['export', `${POOL}/imp-sdk`, back]);
        add('import', 'sdk', t, sameBytes(back, src) ? 'rbd export of it: same bytes as the source' : 'rbd export of it DIFFERS from the source');
        fs.rmSync(back, { force: true });
        await rm('imp-sdk');
      },
    );
    // export-diff (the whole image up to s1)
    const dCli = path.join(dir, 'd-cli.diff');
    const dSdk = path.join(dir, 'd-sdk.diff');
    await pair(
      async () => add('export-diff', 'rbd', await rbd(['export-diff', `${POOL}/data@s1`, dCli]), ''),
      async () => add('export-diff', 'sdk', await sdk(['--op', 'export-diff', '--image', 'data', '--snap', 's1', '--file', dSdk]), ''),
    );
    rows[rows.length - 1].check = rows[rows.length - 2].check = sameBytes(dCli, dSdk) ? 'the two diffs: same bytes' : 'the two diffs DIFFER';
    fs.rmSync(dCli, { force: true });
    fs.rmSync(dSdk, { force: true });
    // copy
    await pair(
      async () => {
        add('copy', 'rbd', await rbd(['cp', `${POOL}/data`, `${POOL}/cp-cli`]), '');
        await rm('cp-cli');
      },
      async () => {
        add('copy', 'sdk', await sdk(['--op', 'copy', '--image', 'data', '--dest', 'cp-sdk']), '');
        await rm('cp-sdk');
      },
    );
  }
  record.data = { mib, rows };
  fs.rmSync(dir, { recursive: true, force: true });
}

async function drRows(record, p, keep) {
  const lab = await startLab({ dir: DR_LAB_DIR, basePort: DR_BASE_PORT, pool: DR_POOL, sites: ['site-a', 'site-b'] });
  try {
    note(`DR scale rows: ${p.drCounts.join(', ')} images, then watching ${p.watchImages}`);
    const run = runProcess(
      process.execPath,
      [path.join(__dirname, 'dr_scale.js'), '--confA', lab.sites[0].confPath, '--confB', lab.sites[1].confPath, '--pool', DR_POOL,
        '--counts', p.drCounts.join(','), '--watchImages', String(p.watchImages), '--watchSeconds', String(p.watchSeconds)],
      { env: addonEnv, timeoutMs: 1_800_000, echoStderr: true },
    );
    // a failed run still prints the rows it finished
    const { stdout } = await run.catch((e) => {
      if (e.stdout && e.stdout.includes('{')) record.dr = lastJsonLine(e.stdout);
      throw e;
    });
    record.dr = lastJsonLine(stdout);
  } finally {
    await stopLab(lab, keep);
  }
}

// ------------------------------------------------------------------ main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const p = opts.profile;
  const cases = opts.cases ? CASES.filter((c) => opts.cases.includes(c.id)) : CASES;
  const started = new Date();
  const t0 = Date.now();
  buildShim();
  SYSCALL_ID = syscallTracepoint();
  const m = machine();
  const addon = snapshotAddon(process.env.XRBD_ADDON || require('node-gyp-build').path(ROOT));
  addonEnv = addon.env;
  m.addon = addon.info;
  out(`@x/rbd benchmark${opts.quick ? ' (--quick)' : ''} — ${started.toISOString()}`);
  out(`machine: ${m.host}, ${m.nproc} × ${m.cpuModel}${m.hypervisor ? ' (VM)' : ''}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}`);
  out(`software: ${m.ceph}; ${m.fio}; ${m.valgrind}; python ${m.python}; node ${m.node}`);
  out(`addon: ${m.addon.from} (built ${m.addon.built}, sha256 ${m.addon.sha256}…), loaded from a copy in bench/tmp/addon`);
  out(`cluster: ${m.objectstore}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  out(
    `plan: ${cases.length} cases × ${CLIENTS.length} clients × ${p.repeats} interleaved rounds; windows cut by op count (shim on rbd_aio_create_completion): ` +
      `callgrind ${p.cg.warm} warm-up + ${p.cg.ops} counted, native 4 KiB ${p.native4k.warm} + ${p.native4k.ops}, 4 MiB ${p.native4m.warm} + ${p.native4m.ops}; ` +
      `syscall counter ${SYSCALL_ID ? `raw_syscalls:sys_enter (id ${SYSCALL_ID})` : 'unavailable'}`,
  );
  out();

  const onSignal = (sig) => {
    note(`${sig}, cleaning up`);
    if (current) current.kill('SIGKILL');
    Promise.all([...labs].map((l) => stopLab(l, opts.keepLab))).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const record = { version: 2, started: started.toISOString(), machine: m, options: opts, targets: TARGETS, runs: [], rss: null, data: null, dr: null, sections: {} };
  // A section that fails is reported (and fails the command at the end), the others still run and are saved.
  record.errors = [];
  const section = async (name, fn) => {
    const s0 = Date.now();
    try {
      await fn();
    } catch (e) {
      record.errors.push({ section: name, error: String(e && e.stack ? e.stack : e) });
      note(`${name} FAILED: ${e && e.stack ? e.stack : e}`);
    }
    record.sections[name] = (Date.now() - s0) / 1000;
    note(`${name} done in ${record.sections[name].toFixed(0)} s`);
  };
  try {
    const lab = await startLab({ dir: LAB_DIR, basePort: BASE_PORT, sites: ['bench'], pool: POOL, mirroring: false });
    try {
      const conf = clientConf(lab.sites[0], path.join(TMP, 'client'));
      record.clientConf = 'site ceph.conf + [client] rbd cache = false';
      await lab.rbd('bench', ['create', '--size', `${IMAGE_BYTES / 1048576}M`, `${POOL}/${IMAGE}`]);
      record.imageInfo = JSON.parse(await lab.rbd('bench', ['info', '--format', 'json', `${POOL}/${IMAGE}`]));
      note('prefilling the image (rbd bench, 4 MiB sequential writes)');
      await runProcess('rbd', ['-c', conf, 'bench', '--io-type', 'write', '--io-size', '4M', '--io-pattern', 'seq', '--io-total', `${IMAGE_BYTES}`, `${POOL}/${IMAGE}`]);
      out(`image: ${POOL}/${IMAGE}, ${IMAGE_BYTES / 1048576} MiB, order ${record.imageInfo.order}, features ${record.imageInfo.features.join(',')}, prefilled; clients: rbd cache = false`);
      out();
      await section('per-op', () => perOpRows(record, cases, conf, p));
      if (opts.rss) await section('rss', () => rssRow(record, conf, p));
      if (opts.data) await section('data', () => dataRows(record, lab, conf, p));
    } finally {
      await stopLab(lab, opts.keepLab);
    }
    if (opts.dr) await section('dr', () => drRows(record, p, opts.keepLab));
  } finally {
    await Promise.all([...labs].map((l) => stopLab(l, opts.keepLab)));
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  report(record, cases, p);
  record.finished = new Date().toISOString();
  record.elapsedSeconds = (Date.now() - t0) / 1000;
  out(`elapsed: ${record.elapsedSeconds.toFixed(0)} s (${Object.entries(record.sections).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')})`);

  if (opts.save) {
    fs.mkdirSync(RESULTS, { recursive: true });
    const stamp = started.toISOString().replace(/:\d\d\.\d+Z$/, '').replace(/[T:]/g, '-');
    const base = path.join(RESULTS, `${stamp}-${m.host}${opts.quick ? '-quick' : ''}`);
    fs.writeFileSync(`${base}.json`, JSON.stringify(record, null, 2) + '\n');
    fs.writeFileSync(`${base}.txt`, lines.join('\n') + '\n');
    out(`saved: ${path.relative(ROOT, base)}.txt, .json`);
  }
  if (record.errors.length) {
    for (const e of record.errors) out(`FAILED section ${e.section}: ${e.error.split('\n')[0]}`);
    process.exitCode = 1;
  }
}

// ------------------------------------------------------------------ report

function summarize(record, cases) {
  const rows = [];
  for (const c of cases) {
    const by = {};
    for (const client of CLIENTS) {
      const nat = record.runs.filter((x) => x.case === c.id && x.client === client && x.kind === 'native');
      const cg = record.runs.filter((x) => x.case === c.id && x.client === client && x.kind === 'callgrind');
      const col = (rs, k) => rs.map((x) => x[k]);
      const stat = (rs, k) => ({ mean: mean(col(rs, k)), each: col(rs, k) });
      by[client] = {
        instrPerOp: stat(cg, 'instrPerOp'),
        cpuUsPerOp: stat(nat, 'cpuUsPerOp'),
        vcswPerOp: stat(nat, 'vcswPerOp'),
        syscallsPerOp: stat(nat, 'syscallsPerOp'),
        iops: stat(nat, 'iops'),
        mibps: stat(nat, 'mibps'),
        rounds: nat.length,
      };
      if (client === 'node-rbd') by[client].eldP99Ms = mean(nat.map((x) => x.eventLoopDelayMs && x.eventLoopDelayMs.p99));
    }
    // ratios per round (ours / theirs), then their mean and spread
    const ratio = (k, ref) => {
      const a = by['node-rbd'][k].each;
      const b = by[ref][k].each;
      const each = a.map((x, i) => (x !== null && b[i] ? x / b[i] : null)).filter((x) => x !== null);
      return { mean: mean(each), each };
    };
    const vs = {};
    for (const ref of ['python-rbd', 'fio']) {
      vs[ref] = {};
      for (const k of ['instrPerOp', 'cpuUsPerOp', 'vcswPerOp', 'syscallsPerOp', 'iops', 'mibps']) vs[ref][k] = ratio(k, ref);
    }
    rows.push({ case: c, by, vs });
  }
  return rows;
}

const rfmt = (r) => (r.mean === null ? '-' : `${r.mean.toFixed(2)}×${sp(r.each)}`);

function report(record, cases, p) {
  const rows = summarize(record, cases);
  record.summary = rows.map((r) => ({ case: r.case.id, by: r.by, vs: r.vs }));
  const targets = [];
  // A ratio that was not measured (--repeats 0: no per-op rows) is '-×': not run, not a miss.
  const target = (name, value, pass) =>
    targets.push(/^-×/.test(value) ? { name, value: 'not run', pass: null } : { name, value, pass });
  const small = rows.filter((r) => r.case.callgrind);
  const big = rows.filter((r) => !r.case.callgrind);

  if (small.length) {
    out(`Cost per op, 4 KiB (mean of ${p.repeats} round(s); ±: round-to-round spread). instr/op: callgrind, whole process, ${p.cg.ops} ops after ${p.cg.warm};`);
    out(`CPU, voluntary context switches, syscalls per op and IOPS: the same clients without valgrind, ${p.native4k.ops} ops after ${p.native4k.warm}.`);
    out();
    out('| case | client | instr/op | syscalls/op | vol. ctx sw/op | CPU µs/op | IOPS (info) |');
    out('|---|---|---:|---:|---:|---:|---:|');
    for (const r of small) {
      for (const client of CLIENTS) {
        const x = r.by[client];
        out(
          `| ${r.case.id} | ${LABEL[client]} | ${kfmt(x.instrPerOp.mean)}${sp(x.instrPerOp.each)} | ${fmt(x.syscallsPerOp.mean, 1)}${sp(x.syscallsPerOp.each)} | ` +
            `${fmt(x.vcswPerOp.mean, 2)}${sp(x.vcswPerOp.each)} | ${fmt(x.cpuUsPerOp.mean, 1)}${sp(x.cpuUsPerOp.each)} | ${fmt(x.iops.mean)}${sp(x.iops.each)} |`,
        );
      }
    }
    out();
    out('@x/rbd ÷ the other client, 4 KiB (± spread of the per-round ratio):');
    out();
    out('| case | instr/op vs python | instr/op vs fio | ctx sw/op vs fio | syscalls/op vs fio | CPU/op vs fio | IOPS vs python | IOPS vs fio |');
    out('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of small) {
      out(
        `| ${r.case.id} | ${rfmt(r.vs['python-rbd'].instrPerOp)} | ${rfmt(r.vs.fio.instrPerOp)} | ${rfmt(r.vs.fio.vcswPerOp)} | ${rfmt(r.vs.fio.syscallsPerOp)} | ` +
          `${rfmt(r.vs.fio.cpuUsPerOp)} | ${rfmt(r.vs['python-rbd'].iops)} | ${rfmt(r.vs.fio.iops)} |`,
      );
      const ip = r.vs['python-rbd'].instrPerOp.mean;
      const ifio = r.vs.fio.instrPerOp.mean;
      target(`${r.case.id}: instr/op ≤ ${TARGETS.instrVsPython}× python-rbd`, `${fmt(ip, 3)}×`, ip !== null && ip <= TARGETS.instrVsPython);
      target(`${r.case.id}: instr/op ≤ ${TARGETS.instrVsFio}× fio`, `${fmt(ifio, 3)}×`, ifio !== null && ifio <= TARGETS.instrVsFio);
      if (r.case.qd === 32) {
        const cx = r.vs.fio.vcswPerOp.mean;
        target(`${r.case.id}: vol. ctx switches/op ≤ fio's`, `${fmt(cx, 2)}× (${fmt(r.by['node-rbd'].vcswPerOp.mean, 2)} vs ${fmt(r.by.fio.vcswPerOp.mean, 2)})`, cx !== null && cx <= TARGETS.ctxQd32VsFio);
      }
    }
    out();
  }
  if (big.length) {
    out(`4 MiB sequential, QD4 (${p.native4m.ops} ops after ${p.native4m.warm}, no valgrind):`);
    out();
    out('| case | client | CPU µs/op | vol. ctx sw/op | syscalls/op | MiB/s (info) | CPU/op vs fio | MiB/s vs fio |');
    out('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const r of big) {
      for (const client of CLIENTS) {
        const x = r.by[client];
        const ours = client === 'node-rbd';
        out(
          `| ${r.case.id} | ${LABEL[client]} | ${fmt(x.cpuUsPerOp.mean, 0)}${sp(x.cpuUsPerOp.each)} | ${fmt(x.vcswPerOp.mean, 1)}${sp(x.vcswPerOp.each)} | ` +
            `${fmt(x.syscallsPerOp.mean, 0)}${sp(x.syscallsPerOp.each)} | ${fmt(x.mibps.mean, 0)}${sp(x.mibps.each)} | ${ours ? rfmt(r.vs.fio.cpuUsPerOp) : ''} | ${ours ? rfmt(r.vs.fio.mibps) : ''} |`,
        );
      }
      const cv = r.vs.fio.cpuUsPerOp.mean;
      target(`${r.case.id}: CPU/op ≤ fio's`, `${fmt(cv, 2)}×`, cv !== null && cv <= TARGETS.cpu4mVsFio);
    }
    out();
  }
  const wq = rows.find((r) => r.case.id === '4k-randwrite-qd32');
  if (wq && wq.by['node-rbd'].eldP99Ms !== null) {
    const v = wq.by['node-rbd'].eldP99Ms;
    out(`Event-loop delay of @x/rbd during 4k-randwrite-qd32 (native runs, after the warm-up): p99 ${fmt(v, 2)} ms`);
    target('event-loop delay p99 < 10 ms (4k-randwrite-qd32)', `${fmt(v, 2)} ms`, v < TARGETS.eldP99Ms);
  }
  if (record.rss) {
    const x = record.rss;
    out(
      `RSS over ${x.ops} ops (4 KiB, QD32, half writes/half reads${x.forcedGc ? ', after forced gc' : ''}${x.capped ? `, stopped by the ${p.rssMaxSeconds} s cap` : ''}): ` +
        `before ${fmt(x.before.rss / 1048576, 1)} MiB, after ${fmt(x.after.rss / 1048576, 1)} MiB, growth ${fmt(x.rssGrowthMiB, 1)} MiB ` +
        `(heapUsed ${fmt(x.before.heapUsed / 1048576, 1)} → ${fmt(x.after.heapUsed / 1048576, 1)} MiB; ${fmt(x.iops)} IOPS, ${fmt(x.cpuUsPerOp, 1)} µs/op)`,
    );
    target(`RSS growth < 20 MiB over ${x.ops} ops`, `${fmt(x.rssGrowthMiB, 1)} MiB`, x.rssGrowthMiB < TARGETS.rssGrowthMiB);
  }
  out();

  if (record.data) {
    const d = record.data;
    out(`Large data, ${d.mib} MiB image with 50 % random data (every other MiB), whole process timed (start, connect, work, close: /usr/bin/time), file on local disk:`);
    out();
    out('| row | tool | MiB/s | CPU s | CPU ms/MiB | ratio MiB/s vs rbd | ratio CPU vs rbd | MiB/s of the call alone (info) | check |');
    out('|---|---|---:|---:|---:|---:|---:|---:|---|');
    for (const row of ['export', 'import', 'export-diff', 'copy']) {
      const cli = d.rows.filter((x) => x.row === row && x.tool === 'rbd');
      const sdk = d.rows.filter((x) => x.row === row && x.tool === 'sdk');
      if (!cli.length || !sdk.length) continue;
      const rat = (k) => {
        const each = sdk.map((x, i) => x[k] / cli[i][k]);
        return { mean: mean(each), each };
      };
      const rm = rat('mibps');
      const rc = rat('cpu');
      const cmdName = { export: 'rbd export', import: 'rbd import', 'export-diff': 'rbd export-diff', copy: 'rbd cp' }[row];
      const api = { export: 'image.exportTo()', import: 'pool.importFrom()', 'export-diff': 'exportDiff()', copy: 'image.copy()' }[row];
      const stat = (xs, k, dgt) => `${fmt(mean(xs.map((x) => x[k])), dgt)}${sp(xs.map((x) => x[k]))}`;
      out(`| ${row} | ${cmdName} | ${stat(cli, 'mibps', 0)} | ${stat(cli, 'cpu', 2)} | ${stat(cli, 'cpuMsPerMiB', 2)} | | | | ${[...new Set(cli.map((x) => x.check).filter(Boolean))].join('; ')} |`);
      out(`| ${row} | **@x/rbd** ${api} | ${stat(sdk, 'mibps', 0)} | ${stat(sdk, 'cpu', 2)} | ${stat(sdk, 'cpuMsPerMiB', 2)} | ${rfmt(rm)} | ${rfmt(rc)} | ${stat(sdk, 'callMibps', 0)} | ${[...new Set(sdk.map((x) => x.check).filter(Boolean))].join('; ')} |`);
      target(`${row}: MiB/s ≥ ${TARGETS.dataVsCli}× ${cmdName}`, `${fmt(rm.mean, 2)}×`, rm.mean >= TARGETS.dataVsCli);
    }
    out();
  }

  if (record.dr) {
    out('DR scale (two-site lab, snapshot-mode mirrored images of 64 MiB, 1 MiB written each; the pool grows cumulatively):');
    out();
    out('| images | planned failover s (per image) | failback s (per image) | pool-wide demote s (per image) | pool-wide promote s (per image) | rbd mirror pool demote / promote s |');
    out('|---:|---:|---:|---:|---:|---:|');
    for (const r of record.dr.rows) {
      const pi = (s) => `${fmt(s, 1)} (${fmt(s / r.images, 2)})`;
      out(`| ${r.images} | ${pi(r.failoverSeconds)} | ${pi(r.failbackSeconds)} | ${fmt(r.poolDemoteSeconds, 2)} (${fmt(r.poolDemoteSeconds / r.poolDemoted, 3)}) | ${fmt(r.poolPromoteSeconds, 2)} (${fmt(r.poolPromoteSeconds / r.poolPromoted, 3)}) | ${fmt(r.cliPoolDemoteSeconds, 2)} / ${fmt(r.cliPoolPromoteSeconds, 2)} |`);
    }
    out();
    if (record.dr.error) out(`DR rows stopped early: ${record.dr.error}`);
    const r50 = record.dr.rows.find((r) => r.images === 50);
    if (r50) target(`planned failover of 50 images < ${TARGETS.failover50Seconds} s`, `${fmt(r50.failoverSeconds, 1)} s`, r50.failoverSeconds < TARGETS.failover50Seconds);
    else target(`planned failover of 50 images < ${TARGETS.failover50Seconds} s`, 'not run (--quick does 1 and 10)', null);
    if (record.dr.watch) {
      const w = record.dr.watch;
      out(`Watching a ${w.images}-image pool (pool.mirror.watch(), CPU of the watching process):`);
      out();
      out('| interval | window s | polls | CPU ms/poll | % of one core | event-loop delay p99 / max ms |');
      out('|---|---:|---:|---:|---:|---:|');
      for (const x of w.windows) {
        out(`| ${x.intervalMs === 'default' ? 'default (5000 ms)' : `${x.intervalMs} ms`} | ${fmt(x.seconds, 0)} | ${x.polls} | ${fmt(x.cpuMsPerPoll, 1)} | ${fmt(x.corePct, 2)} | ${fmt(x.eventLoopDelayMs.p99, 1)} / ${fmt(x.eventLoopDelayMs.max, 1)} |`);
      }
      out();
      const def = w.windows.find((x) => x.intervalMs === 'default');
      target(`watching a ${w.images}-image pool at the default interval < ${TARGETS.watchCorePct} % of one core`, `${fmt(def.corePct, 2)} %`, def.corePct < TARGETS.watchCorePct);
    }
  }

  out('Targets (reported, never asserted; they never fail the command):');
  for (const t of targets) out(`  ${t.pass === null ? '----' : t.pass ? 'MET ' : 'MISS'}  ${t.name}: ${t.value}`);
  out();
  record.targetResults = targets;
}

main().catch((e) => {
  process.stderr.write(`bench: ${e && e.stack ? e.stack : e}\n`);
  Promise.all([...labs].map((l) => stopLab(l, false))).finally(() => process.exit(1));
});
