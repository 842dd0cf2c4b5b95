'use strict';
// Child process of dr-faults.test.ts (scenario "frozen site"): the SDK's client of a site
// whose daemons the parent freezes (SIGSTOP) while this process has I/O in flight. Run in
// a child so that a call that never settles shows as a process that does not exit.
//   node frozen-client.js <json config>
// config: { dist, confA, confB, pool, images: [names on site-a, primary there], opTimeoutMs }
// Protocol: prints 'ready' once connected with writers running and watchers registered,
// waits for 'frozen' on stdin (the parent has stopped every daemon of site-a), then:
// waits for the in-flight writes to settle, makes a list of calls on site-a (each timed),
// waits for the pool watcher's warning, runs a forced failover to site-b with the frozen
// site as `from`, closes everything and prints 'RESULT <json>'. It never calls
// process.exit(): the parent checks that it exits by itself (nothing left pending).
const cfg = JSON.parse(process.argv[2]);
const { Cluster, failover } = require(cfg.dist);

const OP = cfg.opTimeoutMs;
const out = (line) => process.stdout.write(line + '\n');
const result = { calls: [], writers: [], warnings: [], updates: 0, changes: 0, changesFrozen: 0, updatesFrozen: 0, report: null };

function describe(err) {
  if (!err) return null;
  return { class: err.constructor && err.constructor.name, name: err.name, code: err.code, errno: err.errno, message: String(err.message).slice(0, 300) };
}

/**
 * Run `fn`, record how long it took to settle and how. Never throws. A call still pending after
 * `capMs` is recorded as hung and left behind (the process then cannot exit: the parent sees that).
 */
async function timed(call, fn, capMs = cfg.capMs) {
  out(`call ${call}`);
  const t0 = Date.now();
  const rec = { call, ms: -1, ok: false, hung: false };
  result.calls.push(rec);
  let timer;
  const cap = new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), capMs)));
  const p = (async () => fn())().then(
    (v) => {
      rec.ms = Date.now() - t0;
      rec.ok = true;
      if (typeof v !== 'object' && typeof v !== 'function') rec.value = v;
      if (rec.hung) out(`late ${call} ${rec.ms} ms ok`);
      return v;
    },
    (err) => {
      rec.ms = Date.now() - t0;
      rec.error = describe(err);
      if (rec.hung) out(`late ${call} ${rec.ms} ms ${err && err.code}`);
      return undefined;
    },
  );
  const v = await Promise.race([p, cap]);
  clearTimeout(timer);
  if (v === 'hung' && rec.ms < 0) {
    rec.hung = true;
    out(`hung ${call} (pending after ${capMs} ms)`);
    return undefined;
  }
  out(`settled ${call} ${rec.ms} ms ${rec.ok ? 'ok' : rec.error && rec.error.code}`);
  return v;
}

function stdinLine(want) {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d) => {
      buf += d.toString();
      if (buf.split('\n').includes(want)) {
        process.stdin.off('data', onData);
        process.stdin.destroy(); // an open stdin would keep this process alive
        resolve();
      }
    };
    process.stdin.on('data', onData);
  });
}

(async () => {
  const a = await Cluster.connect({ confPath: cfg.confA, timeoutMs: OP, operationTimeoutMs: OP });
  const b = await Cluster.connect({ confPath: cfg.confB, timeoutMs: 20_000 });
  const poolA = await a.openPool(cfg.pool);
  const poolB = await b.openPool(cfg.pool);
  const images = [];
  for (const name of cfg.images) images.push(await poolA.openImage(name));

  // watchers: the pool's mirror status poll, and the header update watch of each image
  const watcher = poolA.mirror.watch({ intervalMs: 1000 });
  let frozenAt = 0;
  watcher.on('change', () => (frozenAt ? result.changesFrozen++ : result.changes++));
  watcher.on('warning', (err) => result.warnings.push({ ms: frozenAt ? Date.now() - frozenAt : -1, error: describe(err) }));
  for (const img of images) {
    img.on('update', () => (frozenAt ? result.updatesFrozen++ : result.updates++));
    img.on('warning', (err) => result.warnings.push({ ms: frozenAt ? Date.now() - frozenAt : -1, image: img.name, error: describe(err) }));
  }

  // writers: 16 KiB blocks one after the other, until a write fails
  const writers = images.map((img, i) => {
    const w = { image: img.name, acked: 0, error: null, settledMs: -1 };
    result.writers.push(w);
    w.done = (async () => {
      const block = Buffer.alloc(16 * 1024, 0x40 + i);
      for (let n = 0; ; n++) {
        try {
          await img.write(block, ((n * 16 * 1024) % (4 * 1024 * 1024)));
          w.acked++;
        } catch (err) {
          w.error = describe(err);
          w.settledMs = frozenAt ? Date.now() - frozenAt : -1;
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    return w;
  });
  await new Promise((r) => setTimeout(r, 1000)); // writes flowing
  out('ready');
  await stdinLine('frozen');
  frozenAt = Date.now();

  await Promise.all(writers.map((w) => w.done));
  for (const w of writers) delete w.done;
  out('writers settled');

  const img = images[0];
  await timed('cluster.stats()', () => a.stats());
  await timed('cluster.monCommand(status)', () => a.monCommand({ prefix: 'status', format: 'json' }));
  await timed('cluster.listPools()', () => a.listPools());
  await timed('pool.listImages()', () => poolA.listImages());
  await timed('pool.stats()', () => poolA.stats());
  await timed('pool.openImage()', () => poolA.openImage(cfg.images[0]).then((i) => i.close()));
  await timed('pool.createImage()', () => poolA.createImage(`frozen-new-${process.pid}`, 1024 * 1024));
  await timed('pool.mirror.siteName()', () => poolA.mirror.siteName());
  await timed('pool.mirror.summary()', () => poolA.mirror.summary());
  await timed('pool.mirror.status()', () => poolA.mirror.status());
  await timed('pool.mirror.imageInfos()', () => poolA.mirror.imageInfos());
  await timed('image.read()', () => img.read(0, 4096));
  await timed('image.write()', () => img.write(Buffer.alloc(4096, 1), 0));
  await timed('image.flush()', () => img.flush());
  await timed('image.stat()', () => img.stat());
  await timed('image.snapshots.create()', () => img.snapshots.create(`frozen-${process.pid}`));
  await timed('image.snapshots.list()', () => img.snapshots.list());
  await timed('image.mirror.info()', () => img.mirror.info());
  await timed('image.mirror.status()', () => img.mirror.status());
  await timed('image.mirror.createSnapshot()', () => images[images.length - 1].mirror.createSnapshot());
  await timed('image.lockOwners()', () => img.lockOwners());
  await timed('Cluster.connect()', () => Cluster.connect({ confPath: cfg.confA, timeoutMs: OP, operationTimeoutMs: OP }).then((c) => c.close()));

  // the pool watcher polls every second: by now it must have warned
  const until = Date.now() + 2 * OP + 2000;
  while (!result.warnings.some((w) => w.image === undefined) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));

  // forced failover to site-b, the frozen site as `from`
  const t0 = Date.now();
  try {
    const r = await failover({ mode: 'forced', from: poolA, to: poolB, images: cfg.images, timeoutMs: 120_000, pollMs: 500 });
    result.report = {
      ok: r.ok,
      from: r.from,
      to: r.to,
      ms: Date.now() - t0,
      images: r.images.map((x) => ({ image: x.image, outcome: x.outcome, before: x.before, after: x.after, actions: x.actions.map((s) => `${s.step}@${s.site}`), error: describe(x.error), hint: x.hint })),
    };
  } catch (err) {
    result.report = { rejected: describe(err), ms: Date.now() - t0 };
  }
  out('failover settled');

  watcher.close();
  for (let i = 0; i < images.length; i++) await timed(`image.close() #${i}`, () => images[i].close());
  await timed('cluster.close() site-a', () => a.close());
  await timed('cluster.close() site-b', () => b.close());
  out('RESULT ' + JSON.stringify(result));
})().catch((err) => {
  out('FATAL ' + JSON.stringify(describe(err)));
  process.exitCode = 3;
});
