/**
 * The test lab itself, against real daemons (no mocks).
 *  - the shared two-site lab started by the jest global setup: both clusters up,
 *    the pool mirrored in image mode with one peer each way, rbd-mirror healthy;
 *  - robustness, on a SEPARATE single-site lab in a temp dir on other ports
 *    (XRBD_LAB_BASE_PORT + 400, default 17500; test/setup/ports.ts) so that the
 *    shared lab is not disturbed.
 */
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { Lab, findLabDaemons, isAlive } from '../../../lib/lab';
import type { LabOptions } from '../../../lib/lab';
import { getLab, serverCephRelease } from '../../setup/lab-env';
import { PORTS } from '../../setup/ports';

const ROBUST_PORT = PORTS.labRobustness;

// lab starts take seconds; do not rely on the project-level testTimeout (jest reads it globally only)
jest.setTimeout(120_000);

describe('shared two-site lab', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await getLab();
  });

  it('has two sites whose clusters answer ceph -s with distinct fsids', async () => {
    expect(lab.sites.map((s) => s.name)).toEqual(['site-a', 'site-b']);
    const fsids: string[] = [];
    for (const s of lab.sites) {
      const st = JSON.parse(await lab.ceph(s.name, ['-s', '--format', 'json'])) as {
        fsid: string;
        health: { status: string };
        osdmap: { num_up_osds?: number; osdmap?: { num_up_osds: number } };
      };
      expect(st.fsid).toBe(s.fsid);
      const up = st.osdmap.num_up_osds ?? st.osdmap.osdmap?.num_up_osds;
      expect(up).toBe(1);
      fsids.push(st.fsid);
      expect(s.monHost).toMatch(/^v2:127\.0\.0\.1:\d+$/);
      expect(s.clientId).toBe('admin');
      expect(s.key).toMatch(/^AQ/);
      expect(s.mirrorClientId).toBe(`rbd-mirror.${s.name}`);
      await expect(fsp.stat(s.keyringPath)).resolves.toMatchObject({ mode: expect.any(Number) });
      expect((await fsp.stat(s.keyringPath)).mode & 0o077).toBe(0);
    }
    expect(new Set(fsids).size).toBe(2);
  });

  it('has the pool on both sites, mirrored in image mode with one peer each way', async () => {
    const [a, b] = lab.sites;
    for (const [s, other] of [
      [a, b],
      [b, a],
    ]) {
      const pools = JSON.parse(await lab.ceph(s.name, ['osd', 'pool', 'ls', '--format', 'json'])) as string[];
      expect(pools).toContain(lab.pool);
      const info = JSON.parse(await lab.rbd(s.name, ['mirror', 'pool', 'info', lab.pool, '--format', 'json'])) as {
        mode: string;
        site_name: string;
        peers: Array<{ site_name: string; direction: string; client_name: string }>;
      };
      expect(info.mode).toBe('image');
      expect(info.site_name).toBe(s.name);
      expect(info.peers).toHaveLength(1);
      expect(info.peers[0]).toMatchObject({ site_name: other.name, direction: 'rx-tx' });
    }
  });

  it('reports both rbd-mirror daemons healthy', async () => {
    await lab.waitForMirrorDaemons({ timeoutMs: 30_000 });
    for (const s of lab.sites) {
      const st = JSON.parse(
        await lab.rbd(s.name, ['mirror', 'pool', 'status', lab.pool, '--format', 'json', '--verbose']),
      ) as { summary: { daemon_health: string }; daemons: Array<{ client_id: string; health: string; leader: boolean }> };
      expect(st.summary.daemon_health).toBe('OK');
      expect(st.daemons).toEqual(
        expect.arrayContaining([expect.objectContaining({ client_id: s.name, health: 'OK', leader: true })]),
      );
    }
  });

  it("records each site's Ceph version, the one its daemons report in `ceph versions`", async () => {
    for (const s of lab.sites) {
      expect(s.cephVersion).toMatch(/^\d+\.\d+\.\d+$/);
      const versions = JSON.parse(await lab.ceph(s.name, ['versions', '--format', 'json'])) as Record<string, Record<string, number>>;
      for (const daemon of ['mon', 'mgr', 'osd']) {
        expect(Object.keys(versions[daemon])).toEqual([expect.stringMatching(new RegExp(`^ceph version ${s.cephVersion!.replace(/\./g, '\\.')} `))]);
      }
    }
    expect(serverCephRelease()).toEqual(lab.sites[0].cephVersion!.split('.').slice(0, 2).map(Number));
  });

  it('attaches by directory, knows its daemons, and rejects unknown site names', async () => {
    const again = await Lab.attach(lab.dir);
    expect(again).not.toBeNull();
    expect(again!.sites.map((s) => s.fsid)).toEqual(lab.sites.map((s) => s.fsid));
    const pids = await lab.pids();
    // The daemons themselves (pids() also lists the rbd/ceph CLI calls of suites running alongside, which come and go).
    const daemons = (await findLabDaemons(lab.dir)).filter((p) => /(^|\/)(ceph-mon|ceph-mgr|ceph-osd|rbd-mirror)$/.test(p.cmdline.split(' ')[0]));
    expect(daemons.length).toBeGreaterThanOrEqual(8); // mon, mgr, osd, rbd-mirror × 2
    for (const d of daemons) {
      expect(await isAlive(d.pid)).toBe(true);
      expect(pids).toContain(d.pid);
    }
    expect(() => lab.site('site-z')).toThrow(/no site 'site-z'/);
    await expect(lab.ceph('site-a', ['osd', 'pool', 'get', 'no-such-pool', 'size'])).rejects.toThrow(/no-such-pool|ENOENT/);
  });
});

describe(`lab robustness (separate single-site lab on ports ${ROBUST_PORT}+)`, () => {
  let tmp: string;
  const labs: Lab[] = [];
  const opts = (dir: string, extra: Partial<LabOptions> = {}): LabOptions => ({
    dir,
    sites: ['solo'],
    mirroring: false,
    basePort: ROBUST_PORT,
    timeoutMs: 45_000,
    ...extra,
  });

  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'xrbd-lab-test-'));
  });
  afterAll(async () => {
    for (const l of labs) await l.stop({ purge: true }).catch(() => undefined);
    // nothing of the robustness labs may survive
    const left = await findLabDaemons(tmp);
    for (const p of left) process.kill(p.pid, 'SIGKILL');
    await fsp.rm(tmp, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  it('fails fast, naming the port, when the mon port is taken', async () => {
    const server = net.createServer();
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(ROBUST_PORT, '127.0.0.1', () => res());
    });
    try {
      const t0 = Date.now();
      await expect(Lab.start(opts(path.join(tmp, 'taken')))).rejects.toThrow(new RegExp(`${ROBUST_PORT}.*in use`));
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await new Promise<void>((res) => server.close(() => res()));
    }
    expect(await findLabDaemons(path.join(tmp, 'taken'))).toEqual([]);
  });

  it('starts over a directory left behind by a killed run, restarts a site on its data, and leaves nothing after stop()', async () => {
    const dir = path.join(tmp, 'killed');
    const first = await Lab.start(opts(dir));
    labs.push(first);
    const oldFsid = first.site('solo').fsid;
    const oldPids = await first.pids();
    expect(oldPids.length).toBe(4);
    for (const p of oldPids) process.kill(p, 'SIGKILL');
    for (const p of oldPids) while (await isAlive(p)) await new Promise((r) => setTimeout(r, 50));
    expect(await Lab.attach(dir)).toBeNull(); // lab.json is there but the daemons are dead

    const second = await Lab.start(opts(dir));
    labs.push(second);
    const solo = second.site('solo');
    expect(solo.fsid).not.toBe(oldFsid);
    expect((await second.ceph('solo', ['fsid'])).trim()).toBe(solo.fsid);
    const newPids = await second.pids();
    expect(newPids.length).toBe(4);
    expect(newPids.filter((p) => oldPids.includes(p))).toEqual([]);

    // a site restart (clean stop + resume) keeps fsid, keys and pool data (memstore saves on umount)
    await second.rbd('solo', ['create', '--size', '4M', `${second.pool}/keep-me`]);
    await second.stopSite('solo');
    for (const p of newPids) expect(await isAlive(p)).toBe(false);
    expect(await Lab.attach(dir)).toBeNull();
    await second.startSite('solo');
    expect((await second.ceph('solo', ['fsid'])).trim()).toBe(solo.fsid);
    expect(await second.rbd('solo', ['ls', second.pool])).toContain('keep-me');
    expect(await Lab.attach(dir)).not.toBeNull();

    await second.stop();
    await second.stop(); // idempotent
    expect(await second.pids()).toEqual([]);
    expect(await findLabDaemons(dir)).toEqual([]);
    await second.stop({ purge: true });
    await expect(fsp.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reports a daemon that dies at start-up, naming its log file, within the timeout', async () => {
    // fault injection: a ceph-osd that formats its store (--mkfs) but exits when launched
    const bin = path.join(tmp, 'fakebin');
    await fsp.mkdir(bin, { recursive: true });
    const real = await which('ceph-osd');
    await fsp.writeFile(
      path.join(bin, 'ceph-osd'),
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = "--mkfs" ] && exec ${real} "$@"; done\n` +
        `echo "fault injection: this ceph-osd refuses to run" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    const dir = path.join(tmp, 'dying');
    const t0 = Date.now();
    let err: Error | undefined;
    try {
      labs.push(await Lab.start(opts(dir, { env: { PATH: `${bin}:${process.env.PATH ?? ''}` }, timeoutMs: 30_000 })));
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeDefined();
    expect(err!.message).toContain('ceph-osd.0 exited during start-up');
    expect(err!.message).toContain(path.join(dir, 'solo', 'log', 'ceph-osd.0.log'));
    expect(Date.now() - t0).toBeLessThan(30_000);
    // what the script had started (mon, mgr) was stopped again
    expect(await findLabDaemons(dir)).toEqual([]);
  });
});

async function which(prog: string): Promise<string> {
  for (const d of (process.env.PATH ?? '').split(':')) {
    const p = path.join(d || '.', prog);
    try {
      await fsp.access(p, 1);
      return p;
    } catch {
      /* next */
    }
  }
  throw new Error(`${prog} not found in PATH`);
}
