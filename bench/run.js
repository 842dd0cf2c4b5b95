'use strict';
// `npm run bench`: this library's data path against fio's rbd ioengine and the
// official Python binding (python3-rbd), on a private single-site lab.
//
//   node bench/run.js [--repeats 2] [--seconds 5] [--warmup 1] [--rss-ops 1000000] [--rss-max-seconds 240]
//                     [--cases 4k-randwrite-qd32,...] [--no-rss] [--no-save] [--keep-lab]
//                     [--baseline-addon path/to/other/xrbd.node]
//
// - Starts its OWN lab (bench/tmp/lab, mon port BENCH_BASE_PORT, else XRBD_LAB_BASE_PORT + 900 = 18000 by default, memstore, no mirroring),
//   never the shared one in .lab, and stops it at the end (also on SIGINT/SIGTERM).
// - One 1 GiB image (default features), prefilled, used by all three clients one
//   after another, same pattern, same size; the order of the clients rotates per
//   repeat and repeats are interleaved case by case.
// - All three clients read one client-only ceph.conf: the lab's plus `rbd cache =
//   false`, so that no client gets a write-back cache the others lack.
// - CPU per op is the whole client process (every thread, librbd's included):
//   this library: process.cpuUsage() over the measured window (bench/node_rbd_bench.js);
//   python-rbd: getrusage(RUSAGE_SELF) over the measured window (bench/python_rbd_bench.py);
//   fio: its own usr_cpu/sys_cpu come from getrusage(RUSAGE_THREAD) (fio_getrusage) and
//   so leave out librbd's threads, where most of the work is; instead the whole fio
//   process is measured (/usr/bin/time) and the cost of a tiny run of the same job
//   (process start, connect, open, close) is subtracted. fio's own figure is kept
//   in the JSON as fioThreadCpuUsPerOp.
// - Raw output: bench/results/<date>-<host>.txt and .json.
// - The addon: XRBD_ADDON if set, else the one node-gyp-build finds (build/Release).
//   --baseline-addon adds a fourth client, node-rbd-base: the same bench script with
//   that addon, run in the same lab and the same rotation as the others, for an A/B
//   comparison of two builds under the same conditions.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const TMP = path.join(__dirname, 'tmp');
const LAB_DIR = path.join(TMP, 'lab');
const RESULTS = path.join(__dirname, 'results');
// BENCH_BASE_PORT, else XRBD_LAB_BASE_PORT + 900 (default 17100 + 900): the tests' port plan, test/setup/ports.ts
const BASE_PORT = Number(process.env.BENCH_BASE_PORT || Number(process.env.XRBD_LAB_BASE_PORT || 17100) + 900);
const POOL = 'bench';
const IMAGE = 'bench-img';
const IMAGE_BYTES = 1024 * 1048576;
const PYTHON = '/usr/bin/python3'; // the system python: the pyenv one on PATH has no rbd module

const CASES = [
  { id: '4k-randwrite-qd1', op: 'write', bs: 4096, qd: 1, pattern: 'rand', fioRw: 'randwrite' },
  { id: '4k-randwrite-qd32', op: 'write', bs: 4096, qd: 32, pattern: 'rand', fioRw: 'randwrite' },
  { id: '4k-randread-qd1', op: 'read', bs: 4096, qd: 1, pattern: 'rand', fioRw: 'randread' },
  { id: '4k-randread-qd32', op: 'read', bs: 4096, qd: 32, pattern: 'rand', fioRw: 'randread' },
  { id: '4m-seqwrite-qd4', op: 'write', bs: 4194304, qd: 4, pattern: 'seq', fioRw: 'write' },
  { id: '4m-seqread-qd4', op: 'read', bs: 4194304, qd: 4, pattern: 'seq', fioRw: 'read' },
];
let CLIENTS = ['fio', 'python-rbd', 'node-rbd']; // + 'node-rbd-base' with --baseline-addon

const TARGETS = {
  iops4kQd32: 0.9, // ≥ 90 % of fio's IOPS at 4 KiB QD32
  mibps4m: 0.95, // ≥ 95 % of fio's MiB/s at 4 MiB
  cpuPerOp: 1.5, // client CPU per op ≤ 1.5 × fio's
  eldP99Ms: 10, // event-loop delay p99 < 10 ms (4 KiB QD32 write)
  rssGrowthMiB: 20, // RSS growth < 20 MiB over 1,000,000 ops
};

// ------------------------------------------------------------------ arguments

function parseArgs(argv) {
  const o = {
    repeats: Number(process.env.BENCH_REPEATS || 2),
    seconds: Number(process.env.BENCH_SECONDS || 5),
    warmup: 1,
    rssOps: Number(process.env.BENCH_RSS_OPS || 1_000_000),
    rssMaxSeconds: Number(process.env.BENCH_RSS_MAX_SECONDS || 240),
    cases: null,
    rss: true,
    save: true,
    keepLab: false,
    baselineAddon: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--repeats') o.repeats = Number(val());
    else if (a === '--seconds') o.seconds = Number(val());
    else if (a === '--warmup') o.warmup = Number(val());
    else if (a === '--rss-ops') o.rssOps = Number(val());
    else if (a === '--rss-max-seconds') o.rssMaxSeconds = Number(val());
    else if (a === '--cases') o.cases = val().split(',');
    else if (a === '--no-rss') o.rss = false;
    else if (a === '--no-save') o.save = false;
    else if (a === '--keep-lab') o.keepLab = true;
    else if (a === '--baseline-addon') o.baselineAddon = val();
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['repeats', 'seconds', 'warmup', 'rssOps', 'rssMaxSeconds']) {
    if (!Number.isFinite(o[k]) || o[k] < 0) throw new Error(`bad --${k}`);
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

const fmt = (v, d = 0) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
const pct = (v) => (v === null || !Number.isFinite(v) ? '-' : `${(v * 100).toFixed(0)}%`);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

// ------------------------------------------------------------------ processes

let current = null; // the running child, killed on SIGINT/SIGTERM

function runProcess(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...(opts.env || {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    current = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs || 180_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      current = null;
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}:\n${stderr.slice(-2000)}`));
    });
  });
}

function lastJsonLine(text) {
  const l = text.trim().split('\n').filter((x) => x.startsWith('{')).pop();
  if (!l) throw new Error(`no JSON in output: ${text.slice(-500)}`);
  return JSON.parse(l);
}

/** Busy CPU time of the whole host (all cores, seconds) from /proc/stat. */
function hostCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const hz = 100;
  const idle = f[3] + (f[4] || 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / hz, total: total / hz };
}

// ------------------------------------------------------------------ clients

function fioJob(c, conf, opts) {
  const lines = [
    '[global]',
    'ioengine=rbd',
    'clientname=admin',
    `pool=${POOL}`,
    `rbdname=${IMAGE}`,
    'invalidate=0',
    'norandommap=1',
    'randrepeat=0',
    `[${c.id}]`,
    `rw=${c.fioRw}`,
    `bs=${c.bs}`,
    `iodepth=${c.qd}`,
  ];
  if (opts.baseline) lines.push(`io_size=${16 * c.bs}`);
  else lines.push('time_based=1', `runtime=${opts.seconds}`);
  return lines.join('\n') + '\n';
}

async function runFioOnce(c, conf, opts) {
  const tag = `${c.id}${opts.baseline ? '-baseline' : ''}`;
  const jobFile = path.join(TMP, 'fio', `${tag}.fio`);
  const timeFile = path.join(TMP, 'fio', `${tag}.time`);
  const outFile = path.join(TMP, 'fio', `${tag}.json`);
  fs.mkdirSync(path.dirname(jobFile), { recursive: true });
  const job = fioJob(c, conf, opts);
  fs.writeFileSync(jobFile, job);
  await runProcess('/usr/bin/time', ['-f', '%U %S %e', '-o', timeFile, 'fio', '--output-format=json', `--output=${outFile}`, jobFile], {
    env: { CEPH_CONF: conf },
  });
  const [user, sys, wall] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  const j = JSON.parse(fs.readFileSync(outFile, 'utf8')).jobs[0];
  const d = c.op === 'write' ? j.write : j.read;
  return {
    job,
    ops: d.total_ios,
    seconds: j.job_runtime / 1000,
    iops: d.iops,
    mibps: d.bw_bytes / 1048576,
    processCpuSeconds: user + sys,
    processWallSeconds: wall,
    fioThreadCpuSeconds: ((j.usr_cpu + j.sys_cpu) / 100) * (j.job_runtime / 1000),
    latencyMeanUs: d.lat_ns.mean / 1000,
    latencyP99Us: d.clat_ns && d.clat_ns.percentile ? d.clat_ns.percentile['99.000000'] / 1000 : null,
  };
}

const fioBaselines = new Map(); // op → [{cpu, ops}]

async function runFio(c, conf, opts) {
  // The fixed cost of a fio run (start, connect, open, first op, close) for this op type, measured once per repeat.
  const key = `${c.op}-${c.bs}-${opts.repeat}`;
  if (!fioBaselines.has(key)) {
    const b = await runFioOnce(c, conf, { baseline: true });
    fioBaselines.set(key, { cpu: b.processCpuSeconds, ops: b.ops });
  }
  const base = fioBaselines.get(key);
  const r = await runFioOnce(c, conf, { seconds: opts.warmup + opts.seconds });
  const cpu = r.processCpuSeconds - base.cpu;
  return {
    client: 'fio',
    ops: r.ops,
    seconds: r.seconds,
    iops: r.iops,
    mibps: r.mibps,
    cpuSeconds: cpu,
    cpuUsPerOp: (cpu * 1e6) / (r.ops - base.ops),
    fioThreadCpuUsPerOp: (r.fioThreadCpuSeconds * 1e6) / r.ops,
    baselineCpuSeconds: base.cpu,
    processCpuSeconds: r.processCpuSeconds,
    latencyMeanUs: r.latencyMeanUs,
    latencyP99Us: r.latencyP99Us,
    job: r.job,
  };
}

function clientArgs(c, conf, opts) {
  return [
    '--conf', conf, '--pool', POOL, '--image', IMAGE, '--op', c.op, '--bs', String(c.bs), '--qd', String(c.qd),
    '--pattern', c.pattern, '--warmup', String(opts.warmup), '--seconds', String(opts.seconds),
  ];
}

async function runPython(c, conf, opts) {
  const { stdout } = await runProcess(PYTHON, [path.join(__dirname, 'python_rbd_bench.py'), ...clientArgs(c, conf, opts)]);
  return lastJsonLine(stdout);
}

// The addon the node clients load: a copy taken at start (XRBD_ADDON), so that a
// rebuild by someone else in the same tree during the run cannot change or remove it.
let addonEnv = {};
let baseAddonEnv = {};

function snapshotAddon(from, name) {
  const src = path.resolve(from);
  const dst = path.join(TMP, 'addon', name, 'xrbd.node');
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.copyFileSync(src, dst);
  const sha = require('node:crypto').createHash('sha256').update(fs.readFileSync(dst)).digest('hex');
  return { env: { XRBD_ADDON: dst }, info: { from: path.relative(ROOT, src), built: fs.statSync(src).mtime.toISOString(), sha256: sha.slice(0, 16) } };
}

async function runNode(c, conf, opts, env = addonEnv) {
  const { stdout } = await runProcess(process.execPath, ['--expose-gc', path.join(__dirname, 'node_rbd_bench.js'), ...clientArgs(c, conf, opts)], { env });
  return lastJsonLine(stdout);
}

const runNodeBase = async (c, conf, opts) => ({ ...(await runNode(c, conf, opts, baseAddonEnv)), client: 'node-rbd-base' });

const RUNNERS = { fio: runFio, 'python-rbd': runPython, 'node-rbd': runNode, 'node-rbd-base': runNodeBase };

// ------------------------------------------------------------------ environment

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    return `? (${e.message.split('\n')[0]})`;
  }
}

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
    python: sh(PYTHON, ['-c', 'import sys, rbd; print(sys.version.split()[0], "rbd", rbd.__file__)']),
    node: process.version,
    objectstore: `memstore OSD (${process.env.MEMSTORE_BYTES || 4294967296} bytes) on the same host, 1 mon + 1 mgr + 1 osd + rbd-mirror (idle), pool size 1`,
  };
}

// ------------------------------------------------------------------ main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cases = opts.cases ? CASES.filter((c) => opts.cases.includes(c.id)) : CASES;
  const started = new Date();
  const t0 = Date.now();
  const m = machine();
  const addon = snapshotAddon(process.env.XRBD_ADDON || require('node-gyp-build').path(ROOT), 'a');
  addonEnv = addon.env;
  m.addon = addon.info;
  if (opts.baselineAddon) {
    const base = snapshotAddon(opts.baselineAddon, 'base');
    baseAddonEnv = base.env;
    m.baselineAddon = base.info;
    CLIENTS = [...CLIENTS, 'node-rbd-base'];
  }
  out(`@x/rbd benchmark — ${started.toISOString()}`);
  out(`machine: ${m.host}, ${m.nproc} × ${m.cpuModel}${m.hypervisor ? ' (VM)' : ''}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}`);
  out(`software: ${m.ceph}; ${m.fio}; python ${m.python}; node ${m.node}`);
  out(`addon: ${m.addon.from} (built ${m.addon.built}, sha256 ${m.addon.sha256}…), loaded from a copy in bench/tmp/addon`);
  if (m.baselineAddon) {
    out(`baseline addon (client node-rbd-base): ${m.baselineAddon.from} (built ${m.baselineAddon.built}, sha256 ${m.baselineAddon.sha256}…)`);
  }
  out(`cluster: ${m.objectstore}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  out(`plan: ${cases.length} cases × ${CLIENTS.length} clients × ${opts.repeats} repeats, ${opts.warmup} s warm-up + ${opts.seconds} s each; RSS over ${opts.rss ? opts.rssOps : 0} ops`);
  out();

  const { Lab } = require(path.join(ROOT, 'dist', 'lab'));
  let lab = null;
  let stopping = null;
  const stopLab = () => {
    if (!stopping) {
      stopping = (async () => {
        if (opts.keepLab) return;
        const l = lab || (await Lab.open(LAB_DIR));
        if (l) {
          process.stderr.write('bench: stopping the bench lab\n');
          await l.stop({ purge: true }).catch((e) => process.stderr.write(`bench: lab stop: ${e.message}\n`));
        }
      })();
    }
    return stopping;
  };
  const onSignal = (sig) => {
    process.stderr.write(`bench: ${sig}, cleaning up\n`);
    if (current) current.kill('SIGKILL');
    stopLab().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const record = { version: 1, started: started.toISOString(), machine: m, options: opts, targets: TARGETS, runs: [], rss: null };
  try {
    process.stderr.write(`bench: starting a private lab in ${LAB_DIR} (mon port ${BASE_PORT})\n`);
    lab = await Lab.start({
      dir: LAB_DIR, basePort: BASE_PORT, sites: ['bench'], pool: POOL, mirroring: false,
      log: (l) => process.stderr.write(`  ${l}\n`),
    });
    const site = lab.sites[0];
    // The clients' ceph.conf: the site's, plus no librbd cache for anyone. It must be
    // called ceph.conf: $cluster (keyring = .../$cluster.$name.keyring) comes from its name.
    const confDir = path.join(TMP, 'client');
    fs.mkdirSync(confDir, { recursive: true });
    const conf = path.join(confDir, 'ceph.conf');
    const siteConf = fs.readFileSync(site.confPath, 'utf8');
    if (!/^\[client\]$/m.test(siteConf)) throw new Error(`no [client] section in ${site.confPath}`);
    fs.writeFileSync(conf, siteConf.replace(/^\[client\]$/m, '[client]\nrbd cache = false'), { mode: 0o600 });
    record.clientConf = 'site ceph.conf + [client] rbd cache = false';

    await lab.rbd('bench', ['create', '--size', `${IMAGE_BYTES / 1048576}M`, `${POOL}/${IMAGE}`]);
    record.imageInfo = JSON.parse(await lab.rbd('bench', ['info', '--format', 'json', `${POOL}/${IMAGE}`]));
    process.stderr.write('bench: prefilling the image (rbd bench, 4 MiB sequential writes)\n');
    await runProcess('rbd', ['-c', conf, 'bench', '--io-type', 'write', '--io-size', '4M', '--io-pattern', 'seq', '--io-total', `${IMAGE_BYTES}`, `${POOL}/${IMAGE}`]);
    out(`image: ${POOL}/${IMAGE}, ${IMAGE_BYTES / 1048576} MiB, order ${record.imageInfo.order}, features ${record.imageInfo.features.join(',')}, prefilled; clients: rbd cache = false`);
    out();

    // Interleaved: for each repeat, each case, the three clients back to back (order rotating).
    for (let r = 0; r < opts.repeats; r++) {
      for (const c of cases) {
        const order = CLIENTS.map((_, i) => CLIENTS[(i + r) % CLIENTS.length]);
        for (const client of order) {
          const h0 = hostCpu();
          const l0 = os.loadavg()[0];
          const res = await RUNNERS[client](c, conf, { ...opts, repeat: r });
          const h1 = hostCpu();
          const run = { repeat: r, case: c.id, ...res, hostBusyPct: (100 * (h1.busy - h0.busy)) / (h1.total - h0.total), load1: l0 };
          record.runs.push(run);
          process.stderr.write(
            `  [${r + 1}/${opts.repeats}] ${c.id.padEnd(18)} ${client.padEnd(10)} ${fmt(res.iops).padStart(7)} IOPS ${fmt(res.mibps, 1).padStart(7)} MiB/s ${fmt(res.cpuUsPerOp, 1).padStart(7)} µs/op  host busy ${fmt(run.hostBusyPct)}%\n`,
          );
        }
      }
    }

    if (opts.rss) {
      process.stderr.write(`bench: RSS over ${opts.rssOps} ops (4 KiB, QD32, half writes half reads, first 64 MiB)\n`);
      const { stdout } = await runProcess(
        process.execPath,
        ['--expose-gc', path.join(__dirname, 'node_rbd_bench.js'), '--conf', conf, '--pool', POOL, '--image', IMAGE, '--rss', String(opts.rssOps), '--qd', '32', '--region', String(64 * 1048576), '--maxSeconds', String(opts.rssMaxSeconds)],
        { timeoutMs: 600_000, env: addonEnv },
      );
      record.rss = lastJsonLine(stdout);
    }
  } finally {
    await stopLab();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  report(record, cases, opts);
  record.finished = new Date().toISOString();
  record.elapsedSeconds = (Date.now() - t0) / 1000;
  out(`elapsed: ${record.elapsedSeconds.toFixed(0)} s`);

  if (opts.save) {
    fs.mkdirSync(RESULTS, { recursive: true });
    const stamp = started.toISOString().replace(/:\d\d\.\d+Z$/, '').replace(/[T:]/g, '-');
    const base = path.join(RESULTS, `${stamp}-${m.host}`);
    record.summary = summarize(record, cases);
    fs.writeFileSync(`${base}.json`, JSON.stringify(record, null, 2) + '\n');
    fs.writeFileSync(`${base}.txt`, lines.join('\n') + '\n');
    out(`saved: ${path.relative(ROOT, base)}.txt, .json`);
  }
}

function summarize(record, cases) {
  const rows = [];
  for (const c of cases) {
    const by = {};
    for (const client of CLIENTS) {
      const rs = record.runs.filter((x) => x.case === c.id && x.client === client);
      by[client] = {
        iops: mean(rs.map((x) => x.iops)),
        mibps: mean(rs.map((x) => x.mibps)),
        cpuUsPerOp: mean(rs.map((x) => x.cpuUsPerOp)),
        repeats: rs.length,
      };
      if (client === 'fio') by[client].fioThreadCpuUsPerOp = mean(rs.map((x) => x.fioThreadCpuUsPerOp));
      if (client.startsWith('node-rbd')) by[client].eventLoopDelayP99Ms = mean(rs.map((x) => x.eventLoopDelayMs.p99));
    }
    const ours = by['node-rbd'];
    const fio = by.fio;
    const py = by['python-rbd'];
    const base = by['node-rbd-base'];
    rows.push({
      case: c.id,
      ...by,
      ...(base ? { base: { iopsVsFio: base.iops / fio.iops, cpuVsFio: base.cpuUsPerOp / fio.cpuUsPerOp, iopsVsPython: base.iops / py.iops } } : {}),
      iopsVsFio: ours.iops / fio.iops,
      cpuVsFio: ours.cpuUsPerOp / fio.cpuUsPerOp,
      iopsVsPython: ours.iops / py.iops,
      cpuVsPython: ours.cpuUsPerOp / py.cpuUsPerOp,
      beatsPython: ours.iops > py.iops,
    });
  }
  return rows;
}

function report(record, cases, opts) {
  const rows = summarize(record, cases);
  out(`Results (mean of ${opts.repeats} interleaved repeats; CPU = whole client process per op, see bench/run.js)`);
  out();
  out('| case | client | IOPS | MiB/s | CPU µs/op | IOPS vs fio | CPU/op vs fio | vs python-rbd (IOPS) |');
  out('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    for (const client of CLIENTS) {
      const x = row[client];
      const ours = client === 'node-rbd';
      const base = client === 'node-rbd-base';
      const vs = ours ? row : base ? row.base : null;
      out(
        `| ${row.case} | ${ours ? '**@x/rbd**' : base ? '@x/rbd (baseline addon)' : client} | ${fmt(x.iops)} | ${fmt(x.mibps, 1)} | ${fmt(x.cpuUsPerOp, 1)} | ` +
          (vs
            ? `${pct(vs.iopsVsFio)} | ${fmt(vs.cpuVsFio, 2)}× | ${vs.iopsVsPython > 1 ? 'ahead' : 'BEHIND'} (${fmt(vs.iopsVsPython, 2)}×) |`
            : '| | |'),
      );
    }
  }
  out();
  if (rows.length && rows[0]['node-rbd-base']) {
    out('A/B, this addon vs the baseline addon, same lab, interleaved (per repeat: IOPS, CPU µs/op):');
    for (const row of rows) {
      const runs = (client) => record.runs.filter((x) => x.case === row.case && x.client === client);
      const each = (client) => runs(client).map((x) => `${fmt(x.iops)}/${fmt(x.cpuUsPerOp, 1)}`).join(' ');
      const a = row['node-rbd'];
      const b = row['node-rbd-base'];
      out(
        `  ${row.case}: IOPS ${fmt(a.iops / b.iops, 3)}×, CPU/op ${fmt(a.cpuUsPerOp / b.cpuUsPerOp, 3)}× ` +
          `(this: ${each('node-rbd')}; baseline: ${each('node-rbd-base')}; fio: ${each('fio')}; python: ${each('python-rbd')})`,
      );
    }
    out();
  }
  out('fio\'s own usr+sys figure (its job thread only, RUSAGE_THREAD; not comparable): ' +
    rows.map((r) => `${r.case} ${fmt(r.fio.fioThreadCpuUsPerOp, 1)} µs/op`).join(', '));
  out();

  // Targets
  const res = [];
  const target = (name, value, pass) => res.push({ name, value, pass });
  for (const row of rows) {
    if (row.case.endsWith('-qd32') && row.case.startsWith('4k')) target(`${row.case}: IOPS ≥ 90% of fio`, pct(row.iopsVsFio), row.iopsVsFio >= TARGETS.iops4kQd32);
    if (row.case.startsWith('4m')) {
      const v = row['node-rbd'].mibps / row.fio.mibps;
      target(`${row.case}: MiB/s ≥ 95% of fio`, pct(v), v >= TARGETS.mibps4m);
    }
  }
  for (const row of rows) target(`${row.case}: CPU/op ≤ 1.5× fio`, `${fmt(row.cpuVsFio, 2)}×`, row.cpuVsFio <= TARGETS.cpuPerOp);
  for (const row of rows) target(`${row.case}: ahead of python-rbd (IOPS)`, `${fmt(row.iopsVsPython, 2)}×`, row.beatsPython);
  const wq = rows.find((r) => r.case === '4k-randwrite-qd32');
  if (wq) {
    const p99 = wq['node-rbd'].eventLoopDelayP99Ms;
    target('event-loop delay p99 < 10 ms (4k-randwrite-qd32)', `${fmt(p99, 2)} ms`, p99 < TARGETS.eldP99Ms);
  }
  if (record.rss) {
    const g = record.rss.rssGrowthMiB;
    const n = record.rss.capped ? `${record.rss.ops} ops (stopped by the ${opts.rssMaxSeconds} s cap; the target is for ${record.rss.requestedOps})` : `${record.rss.ops} ops`;
    target(`RSS growth < 20 MiB over ${n}`, `${fmt(g, 1)} MiB`, g < TARGETS.rssGrowthMiB);
  }
  if (record.rss) {
    const x = record.rss;
    out(
      `RSS over ${x.ops} ops (4 KiB, QD32, half writes/half reads${x.forcedGc ? ', after forced gc' : ''}): ` +
        `before ${fmt(x.before.rss / 1048576, 1)} MiB, after ${fmt(x.after.rss / 1048576, 1)} MiB, growth ${fmt(x.rssGrowthMiB, 1)} MiB ` +
        `(heapUsed ${fmt(x.before.heapUsed / 1048576, 1)} → ${fmt(x.after.heapUsed / 1048576, 1)} MiB; ${fmt(x.iops)} IOPS, ${fmt(x.cpuUsPerOp, 1)} µs/op)`,
    );
    out();
  }
  out('Targets (informational; they never fail the command):');
  for (const t of res) out(`  ${t.pass ? 'PASS' : 'MISS'}  ${t.name}: ${t.value}`);
  out();
  record.targetResults = res;
}

main().catch((e) => {
  process.stderr.write(`bench: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
