#!/usr/bin/env node
'use strict';
// Leak check (sharp's `valgrind --leak-check=full` run, for this addon): a small
// integration smoke of the SDK runs in a child node under valgrind, and every
// definite leak whose stack has a frame in the addon (xrbd.node, or a native/
// source line when it was built with -g) is ours and fails the check.
// Ceph's and Node's own allocations are suppressed by test/faults/valgrind.supp;
// what is left and not ours is reported ("other"), not failed on.
//
//   node scripts/leak-check.js --conf <ceph.conf> --pool <pool> [--image <name>] [--log <file>] [--end exit]
//
// --end exit: the smoke leaves by process.exit() with handles open and reads in
// flight (the exit guard releases them) instead of letting the loop drain.
//
// Env: XRBD_DIST (the compiled SDK, default <repo>/dist), XRBD_ADDON (the addon
// under test, default what the SDK loads), VALGRIND (default `valgrind`).
// The last line printed is `LEAK-CHECK {json}` (the figures); exit 0 when the
// smoke passed and no definite leak is ours, 1 otherwise.
//
// Valgrind makes node 20-50x slower: the smoke does each kind of call once or
// twice, not a workload.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const SUPP = path.join(root, 'test', 'faults', 'valgrind.supp');

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) out[argv[i].slice(2)] = argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : true;
  }
  return out;
}

// ------------------------------------------------------------------ the smoke (runs under valgrind)

async function smoke({ conf, pool: poolName, image: name, end }) {
  const { Cluster } = require(process.env.XRBD_DIST || path.join(root, 'dist'));
  const t0 = Date.now();
  const step = (s) => process.stdout.write(`smoke: ${s} (${Date.now() - t0} ms)\n`);
  const cluster = await Cluster.connect({ confPath: conf, timeoutMs: 120_000 });
  const pool = await cluster.openPool(poolName);
  await pool.createImage(name, 4 << 20, { features: ['layering', 'exclusive-lock', 'object-map', 'fast-diff'] });
  const image = await pool.openImage(name);
  step('open');

  // aio path (rbd_aio_* completed through the thread-safe function), with a few in flight at once
  const data = Buffer.alloc(4096, 7);
  await Promise.all([0, 1, 2, 3].map((i) => image.write(data, i * 4096)));
  const back = await image.read(0, 4096);
  if (!back.equals(data)) throw new Error('read back differs');
  await image.writeZeroes(8192, 4096);
  await image.flush();
  await image.write(Buffer.alloc(16), (4 << 20) - 8).catch(() => {}); // refused past the end (a JS-side error)
  step('aio');

  // worker path (PromiseWorker), including a failing call
  await image.stat();
  await pool.listImages();
  await image.metadata.set('leak-check', 'yes');
  await image.metadata.get('leak-check');
  await pool.openImage(`${name}-missing`).catch(() => {});
  step('workers');

  // the 'update' watch, fired by a snapshot
  const updated = new Promise((resolve) => image.once('update', resolve));
  await new Promise((r) => setTimeout(r, 500)); // let the registration land first
  await image.snapshots.create('s1');
  await Promise.race([updated, new Promise((r) => setTimeout(r, 30_000))]);
  await image.snapshots.list();
  await image.snapshots.remove('s1');
  step('snapshots, watch');

  // mirroring: status of an image and of the pool, and the status watcher's poll
  await image.mirror.enable('snapshot');
  await image.mirror.createSnapshot();
  await image.mirror.status();
  await pool.mirror.summary();
  const watcher = pool.mirror.watch({ intervalMs: 200 });
  watcher.on('change', () => {});
  await new Promise((r) => setTimeout(r, 1500));
  watcher.close();
  await image.mirror.disable({ force: true });
  step('mirror');

  // dropped handles: a second client with a pool and an image, never closed
  // (released by the environment cleanup hook / exit guard), and an image
  // forgotten and collected
  const c2 = await Cluster.connect({ confPath: conf, timeoutMs: 120_000 });
  const p2 = await c2.openPool(poolName);
  const i2 = await p2.openImage(name, { readOnly: true });
  await i2.read(0, 512);
  await (async () => {
    const forgotten = await pool.openImage(name, { readOnly: true });
    await forgotten.stat();
  })();
  for (let i = 0; i < 5; i++) {
    global.gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  step('dropped');

  image.removeAllListeners('update');
  await image.close();
  await pool.removeImage(name);
  await pool.close();
  await cluster.close();
  step('closed');
  // c2, p2, i2 stay open: the process ends with them. `--end exit` leaves by
  // process.exit() with writes still in flight (the exit guard's path);
  // otherwise the loop drains and Node's environment cleanup runs.
  if (end === 'exit') {
    for (let i = 0; i < 8; i++) i2.read(i * 4096, 4096).catch(() => {});
    p2.listImages().catch(() => {});
    process.exit(0);
  }
}

// ------------------------------------------------------------------ valgrind's log

/**
 * Loss records of a valgrind log: { bytes, blocks, kind, frames[] }. Only the
 * kinds valgrind was told to show (definite) appear.
 */
function parseLeaks(text) {
  const lines = text.split('\n').map((l) => l.replace(/^==\d+==\s?/, ''));
  const records = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^([\d,]+) (?:\([\d,]+ direct, [\d,]+ indirect\) )?bytes in ([\d,]+) blocks are (definitely|indirectly|possibly) lost/.exec(lines[i]);
    if (!m) continue;
    const frames = [];
    for (i++; i < lines.length && /^\s+(at|by) /.test(lines[i]); i++) frames.push(lines[i].trim());
    records.push({ bytes: Number(m[1].replace(/,/g, '')), blocks: Number(m[2].replace(/,/g, '')), kind: m[3], frames });
  }
  const summary = {};
  for (const kind of ['definitely lost', 'indirectly lost', 'possibly lost', 'suppressed']) {
    const m = new RegExp(`${kind}: ([\\d,]+) bytes in ([\\d,]+) blocks`).exec(text);
    summary[kind.split(' ')[0]] = m ? { bytes: Number(m[1].replace(/,/g, '')), blocks: Number(m[2].replace(/,/g, '')) } : null;
  }
  const errors = /ERROR SUMMARY: ([\d,]+) errors/.exec(text);
  return { records, summary, errorCount: errors ? Number(errors[1].replace(/,/g, '')) : null };
}

/** A frame in the addon: its object file, or one of its sources when built with -g. */
const OURS = /xrbd\.node|[\s(/]native\/[\w/]+\.(cc|h):\d+/;

/** Memory errors (invalid read/write, uninitialised use...) with a frame in the addon. */
function ourErrors(text) {
  const lines = text.split('\n').map((l) => l.replace(/^==\d+==\s?/, ''));
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^(Invalid (read|write|free)|Mismatched free|Conditional jump|Use of uninitialised|Syscall param)/.test(lines[i])) continue;
    const head = lines[i];
    const frames = [];
    for (i++; i < lines.length && /^\s+(at|by) /.test(lines[i]); i++) frames.push(lines[i].trim());
    if (frames.some((f) => OURS.test(f))) out.push({ head, frames });
  }
  return out;
}

// ------------------------------------------------------------------ driver

async function main() {
  const a = args(process.argv.slice(2));
  if (a.smoke) return smoke(a);
  if (!a.conf || !a.pool) {
    console.error('usage: node scripts/leak-check.js --conf <ceph.conf> --pool <pool> [--image <name>] [--log <file>]');
    process.exit(2);
  }
  const image = a.image || `leak-check-${process.pid}-${Date.now()}`;
  const log = a.log || path.join(os.tmpdir(), `xrbd-valgrind-${process.pid}.log`);
  const vg = [
    '--leak-check=full',
    // Possible leaks are shown (and counted) but only definite ones fail.
    '--show-leak-kinds=definite,possible',
    '--errors-for-leak-kinds=definite',
    `--suppressions=${SUPP}`,
    '--num-callers=40',
    `--fullpath-after=${root}/`, // a -g build's frames read native/<file>.cc:<line>
    // V8 writes machine code into heap pages: tell valgrind to re-check them.
    '--smc-check=all-non-file',
    '--trace-children=no',
    `--log-file=${log}`,
  ];
  const end = a.end === 'exit' ? 'exit' : 'natural';
  const node = [process.execPath, '--expose-gc', __filename, '--smoke', '--conf', a.conf, '--pool', a.pool, '--image', image, '--end', end];
  const t0 = Date.now();
  const child = spawn(process.env.VALGRIND || 'valgrind', [...vg, ...node], { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  const { code, signal } = await new Promise((resolve) => child.on('exit', (c, s) => resolve({ code: c, signal: s })));
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
  const { records, summary, errorCount } = parseLeaks(text);
  const definite = records.filter((r) => r.kind === 'definitely');
  const ours = definite.filter((r) => r.frames.some((f) => OURS.test(f)));
  const possibleOurs = records.filter((r) => r.kind === 'possibly' && r.frames.some((f) => OURS.test(f)));
  const errors = ourErrors(text);
  for (const r of ours) console.log(`OURS: ${r.bytes} bytes in ${r.blocks} blocks definitely lost\n  ${r.frames.join('\n  ')}`);
  for (const r of definite.filter((x) => !ours.includes(x))) {
    console.log(`other (not ours, not suppressed): ${r.bytes} bytes in ${r.blocks} blocks\n  ${r.frames.slice(0, 12).join('\n  ')}`);
  }
  for (const r of possibleOurs) console.log(`possibly lost, ours (not failed on): ${r.bytes} bytes in ${r.blocks} blocks\n  ${r.frames.join('\n  ')}`);
  for (const e of errors) console.log(`OURS: ${e.head}\n  ${e.frames.join('\n  ')}`);
  const report = {
    end,
    exitCode: code,
    signal,
    seconds,
    log,
    definite: { records: definite.length, bytes: definite.reduce((n, r) => n + r.bytes, 0) },
    ours: { records: ours.length, bytes: ours.reduce((n, r) => n + r.bytes, 0) },
    possiblyOurs: { records: possibleOurs.length, bytes: possibleOurs.reduce((n, r) => n + r.bytes, 0) },
    ourErrors: errors.length,
    valgrindErrors: errorCount,
    summary,
  };
  console.log(`LEAK-CHECK ${JSON.stringify(report)}`);
  process.exit(code === 0 && signal === null && ours.length === 0 && errors.length === 0 ? 0 : 1);
}

module.exports = { parseLeaks, ourErrors, OURS };

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(3);
  });
}
