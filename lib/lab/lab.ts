// The lab controller: N single-node Ceph sites (docker/ceph-site.sh) on 127.0.0.1 (or, with `netns`, two sites
// in network namespaces of the lab's own: lib/lab/netns.ts), with RBD mirroring set up between the first two. Self-contained: it does not
// import the SDK, it drives the `ceph`/`rbd` CLIs and the site script.
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';

import { run, sleep } from './exec';
import { setUpMirroring } from './mirroring';
import { cleanNetwork, createNetwork, cutSync, healNetwork, planNetwork, type LabCut, type LabNetwork } from './netns';
import { findLabDaemons, isAlive, recordedPids } from './procs';
import type { LabAdoptOptions, LabDaemon, LabFile, LabFileSite, LabMirrorMode, LabObjectstore, LabOptions, LabSignal, LabSiteInfo } from './types';
import { thaw, type ThawResult } from './thaw';
import { checkDaemon, daemonRecord, parseJson, readJson, scriptError, validName, waitGone, writeSecretJson } from './util';

export type { LabAdoptOptions, LabDaemon, LabMirrorMode, LabObjectstore, LabOptions, LabSignal, LabSiteInfo } from './types';

const LAB_FILE = 'lab.json';
const SITE_FILE = 'site.json';
const DEFAULT_SITES = ['site-a', 'site-b'];
const DEFAULT_POOL = 'rbd-lab';
const DEFAULT_BASE_PORT = 17100;
const DEFAULT_TIMEOUT_MS = 120_000;
const CLI_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;

/** Root of this package (lib/lab/*.ts and dist/lab/*.js both sit two levels down). */
export const packageRoot: string = path.resolve(__dirname, '..', '..');

/** The default lab directory: env XRBD_LAB_DIR, else `<package root>/.lab`. */
export function defaultLabDir(): string {
  return path.resolve(process.env.XRBD_LAB_DIR || path.join(packageRoot, '.lab'));
}

/** Path of docker/ceph-site.sh (env XRBD_CEPH_SITE_SCRIPT overrides). */
export function siteScriptPath(): string {
  return process.env.XRBD_CEPH_SITE_SCRIPT || path.join(packageRoot, 'docker', 'ceph-site.sh');
}

interface MirrorPoolStatus {
  summary?: { health?: string; daemon_health?: string; image_health?: string };
  daemons?: Array<{ client_id?: string; health?: string; leader?: boolean; callouts?: string[] }>;
}

/**
 * A running lab: started (`Lab.start()`), attached to (`Lab.attach()`) or
 * adopted (`Lab.adopt()`, sites started elsewhere, e.g. in containers).
 */
export class Lab {
  /** The lab directory (lab.json and one directory per site). */
  readonly dir: string;
  /** The RBD pool on every site. */
  readonly pool: string;
  /** The sites, in order (mirroring is set up between the first two). */
  readonly sites: readonly LabSiteInfo[];

  readonly #file: LabFile;
  readonly #log: (line: string) => void;
  readonly #env: NodeJS.ProcessEnv;

  private constructor(file: LabFile, log?: (line: string) => void, env?: Record<string, string | undefined>) {
    this.#file = file;
    this.dir = file.dir;
    this.pool = file.pool;
    this.sites = Object.freeze(
      file.sites.map((s) =>
        Object.freeze({
          name: s.name,
          dir: s.dir,
          fsid: s.fsid,
          monHost: s.monHost,
          confPath: s.confPath,
          keyringPath: s.keyringPath,
          clientId: s.clientId,
          key: s.key,
          mirrorClientId: s.mirrorClientId,
          logDir: s.logDir,
          ...(s.cephVersion ? { cephVersion: s.cephVersion } : {}),
        }),
      ),
    );
    this.#log = log ?? (() => undefined);
    this.#env = { ...process.env, ...(env ?? {}) };
  }

  // ------------------------------------------------------------------ lifecycle

  /** Start a fresh lab (sites in parallel, then the mirroring set-up). Whatever ran in `dir` before is stopped and wiped. */
  static async start(opts: LabOptions = {}): Promise<Lab> {
    const t0 = Date.now();
    const dir = path.resolve(opts.dir ?? defaultLabDir());
    const names = opts.sites ?? DEFAULT_SITES;
    const pool = opts.pool ?? DEFAULT_POOL;
    const basePort = opts.basePort ?? DEFAULT_BASE_PORT;
    const objectstore = opts.objectstore ?? 'memstore';
    const mirrorMode = opts.mirrorMode ?? 'image';
    const mirroring = opts.mirroring ?? true;
    const network = opts.netns ? planNetwork(basePort, names.length) : undefined;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const log = opts.log ?? (() => undefined);
    const env: NodeJS.ProcessEnv = { ...process.env, ...(opts.env ?? {}) };
    const deadline = t0 + timeoutMs;
    const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

    if (names.length === 0) throw new Error('Lab.start: at least one site is required');
    if (new Set(names).size !== names.length) throw new Error(`Lab.start: duplicate site names in ${names.join(', ')}`);
    for (const n of names) if (!validName(n)) throw new Error(`Lab.start: bad site name '${n}'`);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(pool)) throw new Error(`Lab.start: bad pool name '${pool}'`);
    if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 100 * names.length > 65535)
      throw new Error(`Lab.start: bad basePort ${basePort}`);
    if (mirroring && names.length < 2) throw new Error('Lab.start: mirroring needs at least two sites (or pass mirroring: false)');

    await fsp.mkdir(dir, { recursive: true });
    // A previous lab in this dir (possibly killed): stop it before its sites are wiped.
    const previous = await readJson<LabFile>(path.join(dir, LAB_FILE));
    if (previous) {
      log(`lab: stopping the previous lab in ${dir}`);
      await new Lab(previous, log, opts.env).stop().catch(() => undefined);
    }
    await fsp.rm(path.join(dir, LAB_FILE), { force: true });
    if (network) await createNetwork(network); // (what a crashed run with this base port left is removed first)

    const script = siteScriptPath();
    const perSiteSecs = Math.max(10, Math.floor((deadline - Date.now()) / 1000) - 5);
    log(`lab: starting ${names.length} site(s) in ${dir}`);
    const results = await Promise.allSettled(
      names.map(async (name, i): Promise<LabFileSite> => {
        const monPort = basePort + 100 * i;
        const siteDir = path.join(dir, name);
        const net = network?.sites[i];
        const args = [
          script, 'start', '--dir', siteDir, '--name', name,
          '--mon-port', String(monPort), '--port-min', String(monPort + 1), '--port-max', String(monPort + 99),
          '--objectstore', objectstore, '--timeout', String(perSiteSecs),
          ...(net ? ['--addr', net.addr, '--netns', net.netns] : []),
        ];
        try {
          await run('bash', args, {
            timeoutMs: perSiteSecs * 1000 + 30_000,
            env,
            onStderrLine: (l) => log(`[${name}] ${l}`),
          });
        } catch (e) {
          throw new Error(`lab: site ${name} (mon port ${monPort}) failed to start: ${scriptError(e)}`);
        }
        const info = await readJson<Omit<LabSiteInfo, 'dir'> & { objectstore: LabObjectstore }>(path.join(siteDir, SITE_FILE));
        if (!info) throw new Error(`lab: site ${name} started but ${path.join(siteDir, SITE_FILE)} is missing`);
        return {
          name: info.name, dir: siteDir, fsid: info.fsid, monHost: info.monHost, confPath: info.confPath,
          keyringPath: info.keyringPath, clientId: info.clientId, key: info.key, mirrorClientId: info.mirrorClientId,
          logDir: info.logDir, monPort, portMin: monPort + 1, portMax: monPort + 99, objectstore,
          ...(info.cephVersion ? { cephVersion: info.cephVersion } : {}),
        };
      }),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const file: LabFile = {
      version: 1, dir, pool, basePort, objectstore, mirrorMode, mirroring, ...(network ? { network } : {}),
      createdAt: new Date().toISOString(),
      sites: names.map((name, i) => {
        const r = results[i];
        if (r.status === 'fulfilled') return r.value;
        const monPort = basePort + 100 * i;
        // placeholder so that stop() can clean up a half-started lab
        return {
          name, dir: path.join(dir, name), fsid: '', monHost: `v2:${network?.sites[i].addr ?? '127.0.0.1'}:${monPort}`,
          confPath: path.join(dir, name, 'ceph.conf'), keyringPath: '', clientId: 'admin', key: '',
          mirrorClientId: `rbd-mirror.${name}`, logDir: path.join(dir, name, 'log'),
          monPort, portMin: monPort + 1, portMax: monPort + 99, objectstore,
        };
      }),
    };
    const lab = new Lab(file, log, opts.env);
    if (failed.length) {
      await lab.stop().catch(() => undefined);
      throw new Error(failed.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n'));
    }
    log(`lab: ${names.length} site(s) up after ${elapsed()}`);

    try {
      await lab.#setUpPools(deadline);
      log(`lab: pool ${pool} ready on every site after ${elapsed()}`);
      if (mirroring) {
        await lab.#setUpMirroring(deadline);
        log(`lab: mirroring peers configured after ${elapsed()}`);
        await lab.waitForMirrorDaemons({ timeoutMs: Math.max(1000, deadline - Date.now()) });
        log(`lab: rbd-mirror daemons healthy after ${elapsed()}`);
      }
      await writeSecretJson(path.join(dir, LAB_FILE), file);
    } catch (e) {
      await lab.stop().catch(() => undefined);
      throw e;
    }
    log(`lab: ready in ${elapsed()}`);
    return lab;
  }

  /**
   * Make a lab of sites that are already running — started by docker/ceph-site.sh outside this process, e.g.
   * one container per site writing its site directory to `<dir>/<name>` under the same path (and sharing the
   * host's pid namespace, so that the pid files name live processes here). Does what start() does after the
   * sites are up: the pool on every site, the mirroring between the first two, the rbd-mirror health wait; then
   * writes lab.json so that attach() finds the lab. It never starts or stops a site (on failure the sites are
   * left running); stop() on the result stops their daemons through the same script.
   */
  static async adopt(opts: LabAdoptOptions = {}): Promise<Lab> {
    const t0 = Date.now();
    const dir = path.resolve(opts.dir ?? defaultLabDir());
    const names = opts.sites ?? DEFAULT_SITES;
    const pool = opts.pool ?? DEFAULT_POOL;
    const mirrorMode = opts.mirrorMode ?? 'image';
    const mirroring = opts.mirroring ?? true;
    const deadline = t0 + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const log = opts.log ?? (() => undefined);
    const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

    if (names.length === 0) throw new Error('Lab.adopt: at least one site is required');
    for (const n of names) if (!validName(n)) throw new Error(`Lab.adopt: bad site name '${n}'`);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(pool)) throw new Error(`Lab.adopt: bad pool name '${pool}'`);
    if (mirroring && names.length < 2) throw new Error('Lab.adopt: mirroring needs at least two sites (or pass mirroring: false)');

    const sites: LabFileSite[] = [];
    for (const name of names) {
      const siteDir = path.join(dir, name);
      const info = await readJson<Omit<LabSiteInfo, 'dir'> & { objectstore?: LabObjectstore }>(path.join(siteDir, SITE_FILE));
      if (!info) throw new Error(`Lab.adopt: no ${path.join(siteDir, SITE_FILE)} (is site ${name} running?)`);
      if (info.name !== name) throw new Error(`Lab.adopt: ${path.join(siteDir, SITE_FILE)} is site '${info.name}', not '${name}'`);
      let marker = '';
      try {
        marker = await fsp.readFile(path.join(siteDir, '.ceph-site'), 'utf8');
      } catch {
        /* optional: the ports then come from monHost */
      }
      const kv = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(marker)?.[1];
      const monPort = Number(kv('mon_port') ?? /:(\d+)$/.exec(info.monHost)?.[1] ?? NaN);
      const portMin = Number(kv('port_min') ?? monPort + 1);
      const portMax = Number(kv('port_max') ?? monPort + 99);
      sites.push({
        name, dir: siteDir, fsid: info.fsid, monHost: info.monHost, confPath: info.confPath,
        keyringPath: info.keyringPath, clientId: info.clientId, key: info.key, mirrorClientId: info.mirrorClientId,
        logDir: info.logDir, monPort, portMin, portMax, objectstore: info.objectstore ?? 'memstore',
        ...(info.cephVersion ? { cephVersion: info.cephVersion } : {}),
      });
    }
    const file: LabFile = {
      version: 1, dir, pool, basePort: sites[0].monPort, objectstore: sites[0].objectstore, mirrorMode, mirroring,
      createdAt: new Date().toISOString(), sites,
    };
    await fsp.rm(path.join(dir, LAB_FILE), { force: true });
    const lab = new Lab(file, log, opts.env);
    if (!(await lab.#allDaemonsAlive()))
      throw new Error(`Lab.adopt: not every daemon of ${names.join(', ')} is alive here (pid files under ${dir}/<site>/run)`);
    log(`lab: adopting ${names.length} running site(s) in ${dir}`);
    await lab.#setUpPools(deadline);
    log(`lab: pool ${pool} ready on every site after ${elapsed()}`);
    if (mirroring) {
      await lab.#setUpMirroring(deadline);
      log(`lab: mirroring peers configured after ${elapsed()}`);
      await lab.waitForMirrorDaemons({ timeoutMs: Math.max(1000, deadline - Date.now()) });
      log(`lab: rbd-mirror daemons healthy after ${elapsed()}`);
    }
    await writeSecretJson(path.join(dir, LAB_FILE), file);
    log(`lab: ready in ${elapsed()}`);
    return lab;
  }

  /** The lab running in `dir` (lab.json present and every daemon alive), else null. */
  static async attach(dir?: string): Promise<Lab | null> {
    const lab = await Lab.open(dir);
    if (!lab) return null;
    return (await lab.#allDaemonsAlive()) ? lab : null;
  }

  /** The lab described by `dir`/lab.json whether or not its daemons run (null if there is none). For clean-up. */
  static async open(dir?: string): Promise<Lab | null> {
    const d = path.resolve(dir ?? defaultLabDir());
    const file = await readJson<LabFile>(path.join(d, LAB_FILE));
    if (!file || file.version !== 1 || !Array.isArray(file.sites)) return null;
    return new Lab({ ...file, dir: d });
  }

  /** The site called `name`; throws for an unknown name. */
  site(name: string): LabSiteInfo {
    const s = this.sites.find((x) => x.name === name);
    if (!s) throw new Error(`lab: no site '${name}' (sites: ${this.sites.map((x) => x.name).join(', ')})`);
    return s;
  }

  /** Stop every daemon of the lab (bounded, idempotent). `purge` also deletes the lab directory. */
  async stop(opts: { purge?: boolean } = {}): Promise<void> {
    // rbd-mirror daemons first on all sites (they talk to both), then the rest:
    // each site's stop does rbd-mirror → osd → mgr+mon, and sites stop in parallel.
    const errors: string[] = [];
    await Promise.all(
      this.#file.sites.map(async (s) => {
        if (!existsSync(s.dir)) return;
        try {
          await run('bash', [siteScriptPath(), 'stop', '--dir', s.dir], { timeoutMs: STOP_TIMEOUT_MS, env: this.#env });
        } catch (e) {
          errors.push(`site ${s.name}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }),
    );
    // belt and braces: anything still naming the lab dir gets SIGKILL
    const stray = await findLabDaemons(this.dir);
    for (const p of stray) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (stray.length) await waitGone(stray.map((p) => p.pid), 5000);
    if (this.#file.network) await cleanNetwork(this.#file.network).catch((e: unknown) => errors.push(`network: ${String(e)}`));
    if (opts.purge) {
      // only remove what the lab created
      for (const s of this.#file.sites) await fsp.rm(s.dir, { recursive: true, force: true });
      await fsp.rm(path.join(this.dir, LAB_FILE), { force: true });
      await fsp.rmdir(this.dir).catch(() => undefined); // only if now empty
    }
    if (errors.length) throw new Error(`lab: stop reported errors:\n${errors.join('\n')}`);
  }

  /** Stop one site's daemons (its data directory is kept). */
  async stopSite(name: string): Promise<void> {
    const s = this.#fileSite(name);
    await run('bash', [siteScriptPath(), 'stop', '--dir', s.dir], { timeoutMs: STOP_TIMEOUT_MS, env: this.#env });
  }

  /**
   * Restart one site's daemons on its existing data (same fsid, keys, pools, peers).
   * With memstore the OSD data survives only a clean stopSite(), not a SIGKILL.
   */
  async startSite(name: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const s = this.#fileSite(name);
    const secs = Math.max(10, Math.ceil((opts.timeoutMs ?? 60_000) / 1000));
    try {
      await run('bash', [siteScriptPath(), 'resume', '--dir', s.dir, '--timeout', String(secs)], {
        timeoutMs: secs * 1000 + 30_000,
        env: this.#env,
        onStderrLine: (l) => this.#log(`[${name}] ${l}`),
      });
    } catch (e) {
      throw new Error(`lab: site ${name} failed to restart: ${scriptError(e)}`);
    }
  }

  // ------------------------------------------------------------------ single daemons (fault injection)

  /**
   * Send one daemon of a site a signal (default SIGKILL) and, unless it is SIGSTOP/SIGCONT, wait (bounded) until
   * it is gone. The rest of the site keeps running; startDaemon() brings it back. A daemon that is not running is
   * left alone. With memstore a killed OSD loses its data: use `objectstore: 'bluestore'` to restart one.
   */
  async killDaemon(site: string, daemon: LabDaemon, signal: LabSignal = 'SIGKILL', opts: { timeoutMs?: number } = {}): Promise<void> {
    const s = this.#fileSite(site);
    checkDaemon(daemon);
    const secs = Math.max(1, Math.ceil((opts.timeoutMs ?? 15_000) / 1000));
    try {
      await run('bash', [siteScriptPath(), 'kill', '--dir', s.dir, '--daemon', daemon, '--signal', signal, '--timeout', String(secs)], {
        timeoutMs: secs * 1000 + 10_000,
        env: this.#env,
        onStderrLine: (l) => this.#log(`[${site}] ${l}`),
      });
    } catch (e) {
      throw new Error(`lab: ${signal} to ${daemon} of site ${site} failed: ${scriptError(e)} (log: ${this.daemonLog(site, daemon)})`);
    }
  }

  /**
   * Start one daemon of a running site again on its data (after killDaemon) and wait until it serves: the mon
   * answers, the mgr is available, the OSD is active, rbd-mirror stays up. Resolves at once if it is running.
   */
  async startDaemon(site: string, daemon: LabDaemon, opts: { timeoutMs?: number } = {}): Promise<void> {
    const s = this.#fileSite(site);
    checkDaemon(daemon);
    const secs = Math.max(5, Math.ceil((opts.timeoutMs ?? 60_000) / 1000));
    try {
      await run('bash', [siteScriptPath(), 'start-daemon', '--dir', s.dir, '--daemon', daemon, '--timeout', String(secs)], {
        timeoutMs: secs * 1000 + 15_000,
        env: this.#env,
        onStderrLine: (l) => this.#log(`[${site}] ${l}`),
      });
    } catch (e) {
      throw new Error(`lab: ${daemon} of site ${site} failed to start: ${scriptError(e)} (log: ${this.daemonLog(site, daemon)})`);
    }
  }

  /**
   * Freeze a whole site: SIGSTOP to its rbd-mirror, OSD, mgr and monitor (in that order). Its processes and their
   * TCP connections stay, nothing answers: a hung host, as clients and the other site's rbd-mirror see it.
   * thawSite() undoes it.
   */
  async freezeSite(name: string): Promise<void> {
    for (const d of ['rbd-mirror', 'osd', 'mgr', 'mon'] as const) await this.killDaemon(name, d, 'SIGSTOP');
  }

  /**
   * Thaw a site frozen by freezeSite(): SIGCONT to its monitor, mgr, OSD and rbd-mirror, then wait (bounded) until
   * the monitor answers and no placement group of the site is `laggy`. A single-OSD site has no peer to renew its
   * PGs' read leases after a freeze, so they stay laggy (every op on them delayed, for good): such PGs are re-peered
   * (`ceph pg repeer`), and if that does not clear them the OSD is marked down once (`ceph osd down 0`: it re-asserts
   * itself up at once and re-peers). Resolves with what it had to do, for the test's figures.
   */
  async thawSite(name: string, opts: { timeoutMs?: number } = {}): Promise<ThawResult> {
    return thaw(this, name, opts.timeoutMs ?? 60_000);
  }

  /** The lab's own network (namespaces, addresses, links) when started with `netns: true`, else undefined. */
  get network(): LabNetwork | undefined {
    return this.#file.network;
  }

  /**
   * Partition a site of a netns lab: every packet on the links `what` names is dropped silently ('all': the
   * site's link to the clients of the root namespace and its link to the other site — the site is gone for
   * everybody, its daemons keep running; 'peer': the site-to-site link only). Synchronous, so that it can be
   * called from an event handler before the next request goes out. heal() undoes it.
   */
  cutSite(name: string, what: LabCut = 'all'): void {
    const net = this.#file.network;
    if (!net) throw new Error('lab: cutSite() needs a lab started with netns: true');
    cutSync(net, this.#file.sites.indexOf(this.#fileSite(name)), what);
  }

  /** Take every cut of the lab's network off (idempotent). */
  async heal(): Promise<void> {
    if (this.#file.network) await healNetwork(this.#file.network);
  }

  /** The pid of one daemon of a site if it is running, else null. */
  async daemonPid(site: string, daemon: LabDaemon): Promise<number | null> {
    const s = this.#fileSite(site);
    checkDaemon(daemon);
    try {
      const pid = parseInt((await fsp.readFile(path.join(s.dir, 'run', `${daemonRecord(s, daemon)}.pid`), 'utf8')).trim(), 10);
      return (await isAlive(pid)) ? pid : null;
    } catch {
      return null;
    }
  }

  /** Path of one daemon's log file (`<site>/log/ceph-<daemon>.log`), for failure messages. */
  daemonLog(site: string, daemon: LabDaemon): string {
    const s = this.#fileSite(site);
    return path.join(s.logDir, `ceph-${daemonRecord(s, daemon)}.log`);
  }

  // ------------------------------------------------------------------ CLIs

  /** Run `ceph -c <site conf> args...`; resolves with stdout, rejects with stderr in the message. */
  async ceph(site: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    const s = this.site(site);
    const t = opts.timeoutMs ?? CLI_TIMEOUT_MS;
    const connect = String(Math.max(1, Math.min(30, Math.floor(t / 1000) - 1)));
    return (await run('ceph', ['-c', s.confPath, '--connect-timeout', connect, ...args], { timeoutMs: t, env: this.#env })).stdout;
  }

  /** Run `rbd -c <site conf> args...`; resolves with stdout, rejects with stderr in the message. */
  async rbd(site: string, args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    const s = this.site(site);
    return (
      await run('rbd', ['-c', s.confPath, ...args], {
        timeoutMs: opts.timeoutMs ?? CLI_TIMEOUT_MS,
        env: this.#env,
        input: opts.input,
      })
    ).stdout;
  }

  // ------------------------------------------------------------------ mirroring

  /** Names of the two mirrored sites (empty if mirroring is off). */
  get mirroredSites(): readonly string[] {
    return this.#file.mirroring ? this.#file.sites.slice(0, 2).map((s) => s.name) : [];
  }

  /** Wait (bounded) until the rbd-mirror daemon of every mirrored site reports healthy in `rbd mirror pool status`. */
  async waitForMirrorDaemons(opts: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    const sites = this.mirroredSites;
    const last = new Map<string, string>();
    const healthy = async (name: string): Promise<boolean> => {
      let out: string;
      try {
        out = await this.rbd(name, ['mirror', 'pool', 'status', this.pool, '--format', 'json', '--verbose'], {
          timeoutMs: Math.max(2000, Math.min(15_000, deadline - Date.now())),
        });
      } catch (e) {
        last.set(name, e instanceof Error ? e.message : String(e));
        return false;
      }
      last.set(name, out.trim());
      const st = parseJson<MirrorPoolStatus>(out, `rbd mirror pool status on ${name}`);
      const daemons = st.daemons ?? [];
      return (
        st.summary?.daemon_health === 'OK' &&
        daemons.length > 0 &&
        daemons.every((d) => d.health === 'OK') &&
        daemons.some((d) => d.leader === true)
      );
    };
    let pendingSites = [...sites];
    while (pendingSites.length) {
      const ok = await Promise.all(pendingSites.map(healthy));
      pendingSites = pendingSites.filter((_, i) => !ok[i]);
      if (!pendingSites.length) break;
      if (Date.now() >= deadline) {
        const detail = pendingSites
          .map((n) => `${n}: ${last.get(n) ?? '?'} (log: ${path.join(this.site(n).logDir, `ceph-client.rbd-mirror.${n}.log`)})`)
          .join('\n');
        throw new Error(`lab: rbd-mirror daemons not healthy after ${opts.timeoutMs ?? 60_000} ms:\n${detail}`);
      }
      await sleep(500);
    }
  }

  /**
   * Live pids of the lab: the pid files of every site, and every process naming a ceph.conf of the lab
   * (the daemons, and rbd/ceph CLI calls in progress, which may be gone a moment later).
   */
  async pids(): Promise<number[]> {
    const all = new Set<number>();
    for (const s of this.#file.sites) for (const p of await recordedPids(s.dir)) if (await isAlive(p)) all.add(p);
    for (const p of await findLabDaemons(this.dir)) all.add(p.pid);
    return [...all].sort((a, b) => a - b);
  }

  // ------------------------------------------------------------------ internals

  #fileSite(name: string): LabFileSite {
    const s = this.#file.sites.find((x) => x.name === name);
    if (!s) throw new Error(`lab: no site '${name}' (sites: ${this.#file.sites.map((x) => x.name).join(', ')})`);
    return s;
  }

  async #allDaemonsAlive(): Promise<boolean> {
    for (const s of this.#file.sites) {
      const daemons = ['mon.a', 'mgr.x', 'osd.0', `client.${s.mirrorClientId}`];
      for (const d of daemons) {
        let pid: number;
        try {
          pid = parseInt((await fsp.readFile(path.join(s.dir, 'run', `${d}.pid`), 'utf8')).trim(), 10);
        } catch {
          return false;
        }
        if (!(await isAlive(pid))) return false;
      }
    }
    return true;
  }

  #remaining(deadline: number, cap = CLI_TIMEOUT_MS): number {
    const r = deadline - Date.now();
    if (r <= 0) throw new Error('lab: start-up timed out (timeoutMs)');
    return Math.min(cap, r);
  }

  async #setUpPools(deadline: number): Promise<void> {
    await Promise.all(
      this.#file.sites.map(async (s) => {
        await this.ceph(s.name, ['osd', 'pool', 'create', this.pool], { timeoutMs: this.#remaining(deadline) });
        await this.rbd(s.name, ['pool', 'init', this.pool], { timeoutMs: this.#remaining(deadline) });
        this.#log(`[${s.name}] pool ${this.pool} created`);
      }),
    );
  }

  async #setUpMirroring(deadline: number): Promise<void> {
    const [a, b] = this.#file.sites;
    await setUpMirroring(this, a.name, b.name, this.#file.mirrorMode, () => this.#remaining(deadline));
  }
}
