/**
 * `npm run demo`: a short walkthrough of what @x/rbd does today, on the
 * two-site lab it starts (or attaches to, when one is already running).
 *
 *   node dist/demo/index.js [--keep]      --keep leaves the lab running afterwards
 */
import { Cluster, ImageNotFound, RbdError } from '../index';
import { Lab } from '../lab';

const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
function step(title: string): void {
  console.log(`\n[${secs()}s] == ${title}`);
}
function say(line: string): void {
  console.log(`          ${line}`);
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');

  step('Two single-node Ceph clusters, site-a and site-b, each with an rbd-mirror daemon');
  let lab = await Lab.attach();
  const owned = lab === null;
  if (lab) say(`attached to the lab already running in ${lab.dir}`);
  else {
    lab = await Lab.start({ log: (l) => say(l) });
    say(`lab up in ${lab.dir}`);
  }
  const a = lab.site('site-a');
  const b = lab.site('site-b');

  try {
    step('Connect to both sites from one process');
    const v = Cluster.versions();
    say(`librados ${v.rados}, librbd ${v.rbd} (addon built against librbd ${v.rbdHeader})`);
    await using siteA = await Cluster.connect({ confPath: a.confPath });
    await using siteB = await Cluster.connect({ monHost: b.monHost, key: b.key, clientId: b.clientId });
    say(`site-a fsid ${siteA.fsid()}  (conf file ${a.confPath})`);
    say(`site-b fsid ${siteB.fsid()}  (mon host ${b.monHost} and a key, no conf file)`);

    step(`Open pool '${lab.pool}' on site-a and create an image ready for journal mirroring`);
    await using pool = await siteA.openPool(lab.pool);
    const name = `demo-${Date.now().toString(36)}`;
    await pool.createImage(name, 256 * 1024 * 1024, {
      features: ['layering', 'exclusive-lock', 'object-map', 'fast-diff', 'journaling'],
    });
    say(`created ${lab.pool}/${name}, 256 MiB`);
    say(`images in ${lab.pool}: ${(await pool.listImages()).join(', ')}`);

    step('Open it and read its header');
    {
      await using image = await pool.openImage(name);
      const st = await image.stat();
      say(`id ${st.id}, ${st.numObjects} objects of ${st.objectSize / 1024} KiB (order ${st.order})`);
      say(`block name prefix ${st.blockNamePrefix}`);
      say(`features: ${st.features.join(', ')}`);
      say(`created ${st.createdAt.toISOString()}`);
    }

    step('Errors are typed, with errno, code and the names involved');
    try {
      await pool.openImage('no-such-image');
    } catch (err) {
      if (!(err instanceof ImageNotFound)) throw err;
      say(`${err.name}: code ${err.code}, errno ${err.errno}, op ${err.op}, image '${err.image}'`);
    }
    try {
      await siteB.openPool('no-such-pool');
    } catch (err) {
      if (!(err instanceof RbdError)) throw err;
      say(`${err.name}: ${err.message}`);
    }

    step('Clean up');
    await pool.removeImage(name);
    say(`removed ${lab.pool}/${name}; handles close themselves at the end of their scope (await using)`);
  } finally {
    if (owned && !keep) {
      step('Stop the lab');
      await lab.stop({ purge: true });
      say('every daemon stopped');
    } else say(`\nthe lab keeps running in ${lab.dir} (stop it with: npm run lab -- stop)`);
  }
  console.log(`\ndemo finished in ${secs().trim()} s`);
}

main().catch((err: unknown) => {
  console.error(`\ndemo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
