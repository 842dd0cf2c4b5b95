/**
 * `npm run demo`: a short walkthrough of what @x/rbd does today, on the
 * two-site lab it starts (or attaches to, when one is already running).
 *
 *   node dist/demo/index.js [--keep]      --keep leaves the lab running afterwards
 */
import { createHash, randomBytes } from 'node:crypto';
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

    step('Write and read data: rbd_aio_* completed through a thread-safe function, buffers used in place');
    const data = randomBytes(8 * 1024 * 1024);
    {
      await using image = await pool.openImage(name);
      const t = Date.now();
      await Promise.all(
        Array.from({ length: 32 }, (_, i) => image.write(data.subarray(i * 256 * 1024, (i + 1) * 256 * 1024), i * 256 * 1024)),
      );
      await image.flush();
      say(`wrote 8 MiB as 32 concurrent 256 KiB writes in ${Date.now() - t} ms`);
      const back = await image.read(0, data.length);
      say(`read back, sha256 ${sha(back).slice(0, 16)}… ${back.equals(data) ? 'matches' : 'DIFFERS'}`);
      await image.snapshots.create('before-mirroring');
      say(`snapshots: ${(await image.snapshots.list()).map((x) => `${x.name} (${x.size / 2 ** 20} MiB)`).join(', ')}`);
    }

    step('Mirror it to site-b in snapshot mode, and wait for the data to arrive');
    {
      await using image = await pool.openImage(name);
      await image.mirror.enable('snapshot');
      const info = await image.mirror.info();
      say(`mirroring enabled: global id ${info.globalId}, primary on site-a: ${info.primary}`);
      await image.mirror.createSnapshot();
      await using poolB = await siteB.openPool(lab.pool);
      const copy = await waitFor(60_000, async () => {
        try {
          await using remote = await poolB.openImage(name, { readOnly: true });
          const bytes = await remote.read(0, data.length);
          return bytes.equals(data) ? bytes : undefined;
        } catch {
          return undefined;
        }
      });
      say(`site-b holds an identical copy (sha256 ${sha(copy).slice(0, 16)}…) after ${secs().trim()} s into the demo`);
      const st = await image.mirror.status();
      say(`status on site-a: local ${st.local?.state ?? 'n/a'}; peers: ${st.peers.map((p) => `${p.siteName ?? p.mirrorUuid} ${p.state}${p.up ? ' (up)' : ''}`).join(', ') || 'none yet'}`);
      await image.mirror.disable();
      say('mirroring disabled again (site-b removes its copy)');
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
    {
      await using image = await pool.openImage(name);
      await image.snapshots.remove('before-mirroring');
    }
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

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Poll `probe` until it returns a value, for at most `ms` milliseconds. */
async function waitFor<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}


main().catch((err: unknown) => {
  console.error(`\ndemo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
