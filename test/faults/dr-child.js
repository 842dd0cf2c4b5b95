'use strict';
// Child process of dr-faults.test.ts (scenarios "orchestrator killed mid-call"): runs one
// failover() or failback() with the built SDK, printing every DrEvent as it comes
// ('EVENT <json>', flushed at once) so that the parent can kill this process (-9) at a
// given step, then the report ('REPORT <json>').
//   node dr-child.js <json config>
// config: { dist, fromConf, toConf, pool, call: 'failover' | 'failback', mode?, images, timeoutMs }
const cfg = JSON.parse(process.argv[2]);
const { Cluster, failover, failback } = require(cfg.dist);

const out = (line) => process.stdout.write(line + '\n');
const describe = (err) => (err ? { class: err.constructor && err.constructor.name, code: err.code, message: String(err.message).slice(0, 400) } : undefined);

(async () => {
  const from = await Cluster.connect({ confPath: cfg.fromConf, timeoutMs: 20_000 });
  const to = await Cluster.connect({ confPath: cfg.toConf, timeoutMs: 20_000 });
  try {
    const fromPool = await from.openPool(cfg.pool);
    const toPool = await to.openPool(cfg.pool);
    const opts = {
      from: fromPool,
      to: toPool,
      images: cfg.images,
      timeoutMs: cfg.timeoutMs,
      pollMs: 500,
      onEvent: (e) => out('EVENT ' + JSON.stringify(e)),
    };
    const r = cfg.call === 'failback' ? await failback(opts) : await failover({ ...opts, mode: cfg.mode || 'planned' });
    out(
      'REPORT ' +
        JSON.stringify({
          ok: r.ok,
          images: r.images.map((x) => ({
            image: x.image,
            outcome: x.outcome,
            before: x.before,
            after: x.after,
            actions: x.actions.map((a) => `${a.step}@${a.site}`),
            error: describe(x.error),
            hint: x.hint,
          })),
        }),
    );
  } finally {
    await to.close();
    await from.close();
  }
})().catch((err) => {
  out('FATAL ' + JSON.stringify(describe(err)));
  process.exitCode = 3;
});
