#!/usr/bin/env node
'use strict';
// Stress for README "Known issues" (librbd 16.2.15's stack overflow in the pruning that
// follows a new mirror snapshot, CreatePrimaryRequest::unlink_peer <-> UnlinkPeerRequest):
// mirror snapshots taken back to back on snapshot-mode images that rbd-mirror is
// replicating to site-b, with the client's `rbd_mirroring_max_mirroring_snapshots` at
// librbd's own default (5; the lab's conf raises it to 100 on 16.2) so that nearly every
// new snapshot prunes an older one, some of them already unlinked by rbd-mirror.
//
//   node scripts/stress-mirror-snapshots.js --conf <site-a ceph.conf> --pool <pool>
//        [--rounds 10] [--snaps 60] [--images 3] [--limit 5|conf] [--gate on|off]
//
// Each round is a child process (so a crash ends only the round, and is counted): it
// opens every image through two Cluster connections, and per image runs a loop of
// write + createSnapshot() through either handle, with now and then a waitForReplication
// cut short by a timeout (the caller gives up, librbd goes on: what the mirror-wait suite
// did when it crashed), and a demote + promote. --gate off bypasses the SDK's role gate
// (lib/image/role-gate.ts) in the child, so the two handles' snapshots overlap in librbd
// (test only: the SDK has no such switch; the exports of dist/image/role-gate.js are
// replaced in the child's process). Prints one line per round and a summary:
//   STRESS-MIRROR-SNAPSHOTS {"rounds":..,"ok":..,"crashes":..,"failed":..,"snapshots":..,"pruned":..}
// Exits 1 when a round crashed (a signal or an abort) or failed.
const { spawn } = require('node:child_process');
const path = require('node:path');
const crypto = require('node:crypto');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
};
const DIST = process.env.XRBD_DIST || path.join(__dirname, '..', 'dist');

if (argv.includes('--child')) child().catch((e) => {
  console.error(`child: ${e && e.stack || e}`);
  process.exit(3);
});
else driver();

async function driver() {
  const conf = opt('conf');
  const pool = opt('pool');
  if (!conf || !pool) {
    console.error('usage: stress-mirror-snapshots.js --conf <ceph.conf> --pool <pool> [--rounds N] [--snaps N] [--images N] [--limit 5|conf] [--gate on|off]');
    process.exit(2);
  }
  const rounds = Number(opt('rounds', '10'));
  const total = { rounds: 0, ok: 0, crashes: 0, failed: 0, snapshots: 0, pruned: 0, seconds: 0 };
  const t0 = Date.now();
  for (let r = 1; r <= rounds; r++) {
    const t = Date.now();
    const res = await new Promise((resolve) => {
      const p = spawn(process.execPath, [__filename, '--child', ...argv, '--round', String(r)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      const timer = setTimeout(() => p.kill('SIGKILL'), 15 * 60_000);
      p.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, out });
      });
    });
    total.rounds++;
    const line = res.out.split('\n').find((l) => l.startsWith('ROUND '));
    const rec = line ? JSON.parse(line.slice(6)) : {};
    total.snapshots += rec.snapshots || 0;
    total.pruned += rec.pruned || 0;
    let verdict;
    // a signal, or an exit status of 128+n from a shell, or node's abort (134)
    if (res.signal || res.code === null || res.code >= 128) {
      total.crashes++;
      verdict = `CRASH (${res.signal || `exit ${res.code}`})`;
    } else if (res.code !== 0) {
      total.failed++;
      verdict = `failed (exit ${res.code})`;
    } else {
      total.ok++;
      verdict = 'ok';
    }
    console.log(`round ${r}/${rounds}: ${verdict} in ${((Date.now() - t) / 1000).toFixed(0)} s; ` +
      `${rec.snapshots ?? '?'} mirror snapshots, ${rec.pruned ?? '?'} pruned by librbd, limit ${rec.limit ?? '?'}, gate ${rec.gate ?? '?'}`);
  }
  total.seconds = Math.round((Date.now() - t0) / 1000);
  console.log(`STRESS-MIRROR-SNAPSHOTS ${JSON.stringify(total)}`);
  process.exit(total.crashes || total.failed ? 1 : 0);
}

async function child() {
  const conf = opt('conf');
  const poolName = opt('pool');
  const snaps = Number(opt('snaps', '60'));
  const nImages = Number(opt('images', '3'));
  const limit = opt('limit', '5');
  const gate = opt('gate', 'on');
  const round = opt('round', '0');
  if (gate === 'off') {
    const rg = require(path.join(DIST, 'image', 'role-gate.js'));
    rg.admitted = () => undefined;
    rg.withRoleChange = (_g, _image, fn) => fn();
  }
  const { Cluster } = require(DIST);
  const config = limit === 'conf' ? {} : { rbd_mirroring_max_mirroring_snapshots: Number(limit) };
  const conns = [await Cluster.connect({ confPath: conf, config }), await Cluster.connect({ confPath: conf, config })];
  const effective = conns[0].getConfig('rbd_mirroring_max_mirroring_snapshots');
  const pools = [await conns[0].openPool(poolName), await conns[1].openPool(poolName)];
  const tag = `xstress-${process.pid}-r${round}`;
  let created = 0;
  let pruned = 0;
  const names = Array.from({ length: nImages }, (_, i) => `${tag}-${i}`);
  const MiB = 1024 * 1024;
  try {
    await Promise.all(names.map(async (name, i) => {
      await pools[0].createImage(name, 8 * MiB, { features: ['layering', 'exclusive-lock'] });
      const h = [await pools[0].openImage(name), await pools[1].openImage(name)];
      let mine = 0;
      await h[0].mirror.enable('snapshot');
      mine++;
      for (let n = 0; n < snaps; n++) {
        const which = h[(n + i) % 2];
        const other = h[(n + i + 1) % 2];
        const ops = [which.write(crypto.randomBytes(64 * 1024), (n % 128) * 64 * 1024)];
        if (n % 3 === 0) ops.push(other.write(crypto.randomBytes(4096), ((n + 7) % 128) * 64 * 1024).catch(() => undefined));
        await Promise.all(ops);
        // two snapshots at once through the two handles every 4th step (serialised by the gate when it is on)
        const snapOps = [which.mirror.createSnapshot()];
        if (n % 4 === 1) snapOps.push(other.mirror.createSnapshot());
        const got = await Promise.allSettled(snapOps);
        for (const g of got) {
          if (g.status === 'fulfilled') mine++;
          else if (!/Busy|EBUSY|ReadOnly|EROFS/.test(String(g.reason))) throw g.reason;
        }
        if (n % 7 === 3) {
          // the caller gives up after 300 ms; librbd's snapshot (and the pruning) goes on
          await which.mirror.waitForReplication({ timeoutMs: 300 }).catch(() => undefined);
        }
        if (n % 15 === 14) {
          await which.mirror.demote();
          mine++; // a demote takes a (demoted) mirror snapshot
          await which.mirror.promote();
          mine++;
        }
      }
      const mirrorSnaps = (await h[0].snapshots.list()).filter((s) => s.namespace === 'mirror').length;
      created += mine;
      pruned += Math.max(0, mine - mirrorSnaps);
      for (const x of h) await x.close();
    }));
  } finally {
    for (const name of names) {
      const img = await pools[0].openImage(name).catch(() => undefined);
      if (img) {
        await img.mirror.disable({ force: true }).catch(() => undefined);
        await img.close().catch(() => undefined);
      }
      await pools[0].removeImage(name).catch(() => undefined);
    }
    for (const c of conns) await c.close().catch(() => undefined);
  }
  console.log(`ROUND ${JSON.stringify({ snapshots: created, pruned, limit: String(effective), gate })}`);
}
