'use strict';
// Where a client's CPU goes, by thread: runs a command, samples
// /proc/<pid>/task/*/stat after `--skip` seconds and again `--secs` later, and
// prints the CPU time of each thread group (by thread name) over that window.
//
//   node bench/thread_cpu.js --skip 2 --secs 5 -- node bench/node_rbd_bench.js --conf ... --seconds 8
//
// Used for the analysis in README.md (Benchmark); not part of `npm run bench`.
const { spawn } = require('node:child_process');
const fs = require('node:fs');

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0) throw new Error('usage: thread_cpu.js [--skip S] [--secs S] -- command args...');
const opts = { skip: 2, secs: 5 };
for (let i = 0; i < sep; i += 2) opts[argv[i].replace(/^--/, '')] = Number(argv[i + 1]);
const [cmd, ...args] = argv.slice(sep + 1);

function sample(pid) {
  const m = new Map();
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return m;
  }
  for (const tid of tids) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      const st = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const cs = (k) => Number((st.match(new RegExp(`^${k}:\\s*(\\d+)`, 'm')) || [])[1] || 0);
      // utime + stime; context switches (voluntary: went to sleep, e.g. epoll_wait / futex)
      m.set(tid, { name, ticks: Number(f[11]) + Number(f[12]), vcs: cs('voluntary_ctxt_switches'), ncs: cs('nonvoluntary_ctxt_switches') });
    } catch {
      /* thread gone */
    }
  }
  return m;
}

const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  await sleep(opts.skip * 1000);
  const a = sample(child.pid);
  await sleep(opts.secs * 1000);
  const b = sample(child.pid);
  const groups = new Map();
  for (const [tid, x] of b) {
    // group numbered threads: msgr-worker-0/1/2 → msgr-worker-*, io_context_pool etc.
    const g = x.name.replace(/[-_]?\d+$/, '*');
    const p = a.get(tid) ?? { ticks: 0, vcs: 0, ncs: 0 };
    const acc = groups.get(g) ?? { ticks: 0, vcs: 0, ncs: 0 };
    acc.ticks += x.ticks - p.ticks;
    acc.vcs += x.vcs - p.vcs;
    acc.ncs += x.ncs - p.ncs;
    groups.set(g, acc);
  }
  const total = [...groups.values()].reduce((s, v) => s + v.ticks, 0);
  const rows = [...groups].filter(([, v]) => v.ticks > 0 || v.vcs > 0).sort((p, q) => q[1].ticks - p[1].ticks);
  process.stderr.write(`thread CPU over ${opts.secs} s (pid ${child.pid}, ${cmd}): total ${(total / 100).toFixed(2)} s\n`);
  for (const [g, v] of rows) {
    process.stderr.write(
      `  ${g.padEnd(20)} ${(v.ticks / 100).toFixed(2).padStart(6)} s  ${((100 * v.ticks) / total).toFixed(1).padStart(5)}%` +
        `  ctx switches/s: ${(v.vcs / opts.secs).toFixed(0).padStart(6)} voluntary ${(v.ncs / opts.secs).toFixed(0).padStart(5)} involuntary\n`,
    );
  }
})();
child.on('close', (code) => process.exitCode = code ?? 1);
