/**
 * Secrets stay secret: cephx keys and bootstrap tokens never show up in error
 * messages, error properties (the whole object, its cause and stack included),
 * `util.inspect` of Cluster/Pool/Image objects, process warnings, console
 * output, or what the SDK and the libraries under it write to stdout/stderr —
 * unless asked for (peerAttributes() returns a peer's key; createBootstrapToken()
 * returns the token). The lab's key files are readable by their owner only.
 *
 * The stdout/stderr part runs in a child process (librados writes to fd 2
 * itself) with the SDK compiled to a temporary folder.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as util from 'node:util';
import { Cluster, type Pool, RbdError } from '../../lib';
import type { Lab } from '../../lib/lab';
import { getLab } from '../setup/lab-env';
import { tally } from './tally';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const rid = `xsec-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;

let lab: Lab;
let scenarios = 0;
/** Everything the SDK emitted while this file ran: process warnings and console output. */
const emitted: string[] = [];

/** A well-formed cephx key (the base64 of a CryptoKey: type 1, created, 16-byte secret) nobody has. */
function fakeKey(): string {
  const b = Buffer.alloc(12 + 16);
  b.writeUInt16LE(1, 0); // CEPH_CRYPTO_AES
  b.writeUInt32LE(Math.floor(Date.now() / 1000), 2);
  b.writeUInt16LE(16, 10);
  randomBytes(16).copy(b, 12);
  return b.toString('base64');
}

/** The key's base64 and its middle part (a partial leak counts too). */
function needles(secret: string): string[] {
  const out = [secret];
  if (secret.length >= 24) out.push(secret.slice(8, 24));
  return out;
}

/** Every string reachable from `v`: own properties (non-enumerable and symbols too), cause, errors, nested objects. */
function allStrings(v: unknown, seen = new Set<unknown>(), out: string[] = []): string[] {
  if (typeof v === 'string') {
    out.push(v);
    return out;
  }
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) {
    if (v !== undefined) out.push(String(v));
    return out;
  }
  if (seen.has(v)) return out;
  seen.add(v);
  for (const key of Reflect.ownKeys(v)) {
    out.push(String(key));
    let child: unknown;
    try {
      child = (v as Record<string | symbol, unknown>)[key];
    } catch {
      continue;
    }
    allStrings(child, seen, out);
  }
  // Error's message/stack/cause are own properties; name lives on the prototype.
  if (v instanceof Error || (v as { stack?: unknown }).stack !== undefined) {
    allStrings((v as Error).name, seen, out);
    allStrings((v as Error).stack, seen, out);
  }
  return out;
}

/** Fail naming where a secret appeared in `v` (walked, inspected and JSON'd). */
function expectNoSecret(what: string, v: unknown, secrets: string[]): void {
  const texts = [...allStrings(v), util.inspect(v, { depth: Infinity, showHidden: true, getters: true })];
  try {
    texts.push(JSON.stringify(v) ?? '');
  } catch {
    // circular or a bigint: inspect above covers it
  }
  const leaks: string[] = [];
  for (const s of secrets) for (const n of needles(s)) if (texts.some((t) => t.includes(n))) leaks.push(n.slice(0, 6) + '…');
  expect({ what, leaks }).toEqual({ what, leaks: [] });
}

/** Connect and expect a typed failure; resolve with the error. */
async function failedConnect(options: Parameters<typeof Cluster.connect>[0]): Promise<RbdError | Error> {
  try {
    const c = await Cluster.connect(options);
    await c.close();
  } catch (err) {
    expect(err instanceof RbdError || err instanceof TypeError || err instanceof RangeError).toBe(true);
    return err as Error;
  }
  throw new Error('connect succeeded where it must fail');
}

const onWarning = (w: Error): void => void emitted.push(util.inspect(w, { showHidden: true }));
const consoleSpies: jest.SpyInstance[] = [];

beforeAll(async () => {
  lab = await getLab();
  process.on('warning', onWarning);
  for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    consoleSpies.push(
      jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        emitted.push(util.format(...args));
      }),
    );
  }
}, 60_000);

afterAll(() => {
  process.off('warning', onWarning);
  for (const s of consoleSpies) s.mockRestore();
  tally('secrets', { scenarios });
});

afterEach(() => {
  scenarios++;
});

describe('connect errors carry no key', () => {
  test('a wrong key: PermissionDenied, and neither the wrong nor the real key anywhere in the error', async () => {
    const site = lab.site('site-a');
    const wrong = fakeKey();
    const err = await failedConnect({ monHost: site.monHost, clientId: site.clientId, key: wrong, timeoutMs: 15_000 });
    expect((err as RbdError).code).toMatch(/^(EACCES|EPERM|ETIMEDOUT)$/);
    expectNoSecret('wrong-key error', err, [wrong, site.key]);
  }, 60_000);

  test('the right key but a monitor address where nothing listens: Timeout, without the key', async () => {
    const site = lab.site('site-a');
    const err = await failedConnect({ monHost: '127.0.0.1:9', clientId: site.clientId, key: site.key, timeoutMs: 3000 });
    expect((err as RbdError).code).toBe('ETIMEDOUT');
    expectNoSecret('unreachable-mon error', err, [site.key]);
  }, 60_000);

  test('a malformed key: a typed error that does not quote it', async () => {
    const site = lab.site('site-a');
    const malformed = `not*base64*${randomBytes(12).toString('hex')}`;
    const err = await failedConnect({ monHost: site.monHost, clientId: site.clientId, key: malformed, timeoutMs: 10_000 });
    expectNoSecret('malformed-key error', err, [malformed]);
  }, 60_000);

  test('a key for another user: the error names the user, not the key', async () => {
    const site = lab.site('site-a');
    const err = await failedConnect({ monHost: site.monHost, clientId: `${rid}-nobody`, key: site.key, timeoutMs: 10_000 });
    expect(err.message).toContain('connect');
    expectNoSecret('other-user error', err, [site.key]);
  }, 60_000);
});

describe('handles and bootstrap tokens', () => {
  let cluster: Cluster;
  let pool: Pool;
  const poolName = `${rid}-pool`;

  beforeAll(async () => {
    const site = lab.site('site-a');
    // Connected with the key itself (not a keyring): the Cluster must not keep it where inspect finds it.
    cluster = await Cluster.connect({ monHost: site.monHost, clientId: site.clientId, key: site.key, timeoutMs: 15_000 });
    await cluster.createPool(poolName);
    pool = await cluster.openPool(poolName);
    await pool.init();
    await pool.mirror.enable('image'); // this scratch pool only; the site name is left alone
  }, 120_000);

  afterAll(async () => {
    await pool?.close().catch(() => undefined);
    await cluster?.deletePool(poolName).catch(() => undefined);
    await cluster?.close();
  }, 120_000);

  test('util.inspect of a Cluster connected with a key, its Pool and an Image shows no key', async () => {
    const site = lab.site('site-a');
    await pool.createImage(`${rid}-img`, 1 << 20);
    const image = await pool.openImage(`${rid}-img`);
    try {
      for (const [what, v] of [
        ['cluster', cluster],
        ['pool', pool],
        ['image', image],
        ['pool.mirror', pool.mirror],
        ['image.mirror', image.mirror],
      ] as const) {
        expectNoSecret(`inspect(${what})`, v, [site.key]);
      }
      // and what they print as strings
      expectNoSecret('String(cluster)', `${String(cluster)} ${JSON.stringify({ user: cluster.user, name: cluster.name })}`, [site.key]);
    } finally {
      await image.close();
    }
  }, 60_000);

  test('a created bootstrap token (and the key inside it) appears nowhere in the objects, nor in a later error', async () => {
    const token = await pool.mirror.createBootstrapToken();
    const inner = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { key: string; fsid: string };
    expect(typeof inner.key).toBe('string');
    const secrets = [token, inner.key];
    for (const [what, v] of [
      ['cluster', cluster],
      ['pool', pool],
      ['pool.mirror', pool.mirror],
    ] as const) {
      expectNoSecret(`inspect(${what}) after createBootstrapToken`, v, secrets);
    }
    // Importing it into the pool it came from is refused; the error must not quote it.
    const err = await pool.mirror.importBootstrapToken(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (err !== undefined) expectNoSecret('re-import error', err, secrets);
  }, 60_000);

  test('a malformed bootstrap token: InvalidArgument, and the token is not in the error', async () => {
    const secretish = randomBytes(24).toString('base64');
    for (const token of [
      `garbage-${secretish}`,
      Buffer.from(`{"fsid":"x","key":"${secretish}"`).toString('base64'), // truncated JSON
      Buffer.from(JSON.stringify({ fsid: 'x', client_id: 'rbd-mirror-peer', key: secretish })).toString('base64'), // no mon_host
    ]) {
      const err = await pool.mirror.importBootstrapToken(token).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RbdError);
      expectNoSecret('malformed token error', err, [token, secretish]);
    }
  }, 120_000);

  test('a bootstrap token for an unreachable site: a typed error without the token or its key', async () => {
    const key = fakeKey();
    const token = Buffer.from(
      JSON.stringify({ fsid: '00000000-0000-4000-8000-000000000000', client_id: 'rbd-mirror-peer', key, mon_host: '127.0.0.1:9' }),
    ).toString('base64');
    // librbd alone would wait 300 s for the peer's monitors; the SDK bounds it with timeoutMs.
    const t0 = Date.now();
    const err = await pool.mirror.importBootstrapToken(token, { direction: 'rx-only', timeoutMs: 3000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RbdError);
    expect((err as RbdError).code).toBe('ETIMEDOUT');
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect((err as RbdError).message).toContain('127.0.0.1:9'); // the monitors are named, not the key
    expectNoSecret('unreachable-site import error', err, [token, key]);
    expectNoSecret('listPeers() after it', await pool.mirror.listPeers(), [token, key]);
  }, 120_000);

  test('a peer key is returned by peerAttributes() when asked, and is not in listPeers(), inspect or a failed call', async () => {
    const key = fakeKey();
    const uuid = await pool.mirror.addPeer({ siteName: `${rid}-peer`, monHost: '127.0.0.1:9', key, direction: 'rx-only' });
    try {
      expect((await pool.mirror.peerAttributes(uuid)).key).toBe(key); // explicitly asked for
      expectNoSecret('listPeers()', await pool.mirror.listPeers(), [key]);
      expectNoSecret('inspect(pool) after addPeer', pool, [key]);
      const err = await pool.mirror.setPeerAttributes(uuid, { key: `${key}\0` }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RangeError);
      expectNoSecret('setPeerAttributes error', err, [key]);
    } finally {
      await pool.mirror.removePeer(uuid);
    }
  }, 60_000);
});

describe('what the process writes', () => {
  let dist: string;
  let cluster: Cluster;
  const poolName = `${rid}-child`;

  beforeAll(async () => {
    dist = await mkdtemp(path.join(tmpdir(), 'xrbd-secrets-'));
    await run('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json', '--outDir', dist], { cwd: root });
    // A scratch pool in image mirroring mode for the child's token import.
    cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
    await cluster.createPool(poolName);
    const pool = await cluster.openPool(poolName);
    await pool.init();
    await pool.mirror.enable('image');
    await pool.close();
  }, 180_000);

  afterAll(async () => {
    if (dist) await rm(dist, { recursive: true, force: true });
    await cluster?.deletePool(poolName).catch(() => undefined);
    await cluster?.close();
  }, 120_000);

  test("a child process's stdout/stderr (librados included) never shows a wrong, malformed or real key, nor a token", async () => {
    const site = lab.site('site-a');
    const wrong = fakeKey();
    const malformed = `not*base64*${randomBytes(12).toString('hex')}`;
    const tokenKey = fakeKey();
    const token = Buffer.from(JSON.stringify({ fsid: 'x', client_id: 'rbd-mirror-peer', key: tokenKey, mon_host: '127.0.0.1:9' })).toString('base64');
    const script = `
      const { Cluster } = require(process.env.XRBD_DIST);
      const [monHost, clientId, realKey, wrong, malformed, conf, token] = process.argv.slice(1);
      const show = (what, err) => console.log(what, err && err.name, err && err.code, err && err.message);
      (async () => {
        for (const [what, key, mon] of [['wrong', wrong, monHost], ['malformed', malformed, monHost], ['real, no mon', realKey, '127.0.0.1:9']]) {
          try { const c = await Cluster.connect({ monHost: mon, clientId, key, timeoutMs: 4000 }); await c.close(); show(what, null); }
          catch (err) { show(what, err); console.error(err); }
        }
        const c = await Cluster.connect({ confPath: conf, timeoutMs: 10000 });
        try { const p = await c.openPool(process.env.XRBD_SECRET_POOL); await p.mirror.importBootstrapToken(token, { direction: 'rx-only', timeoutMs: 3000 }); show('token', null); }
        catch (err) { show('token', err); console.error(err); }
        await c.close();
      })().catch((err) => { console.error('child failed', err); process.exit(1); });
    `;
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const p = spawn(process.execPath, ['-e', script, '--', site.monHost, site.clientId, site.key, wrong, malformed, site.confPath, token], {
        cwd: root,
        env: {
          ...process.env,
          XRBD_DIST: dist,
          XRBD_SECRET_POOL: poolName,
          XRBD_ADDON: process.env.XRBD_ADDON ?? path.join(root, 'build', 'Release', 'xrbd.node'),
        },
      });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.stderr.on('data', (d: Buffer) => (text += d.toString()));
      const t = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`child hung; output:\n${text}`));
      }, 120_000);
      p.on('exit', (c) => {
        clearTimeout(t);
        resolve({ code: c, out: text });
      });
    });
    expect(code).toBe(0);
    expect(out).toContain('wrong '); // the child did run the cases
    expect(out).toContain('token ');
    expectNoSecret('child output', out, [site.key, wrong, malformed, token, tokenKey]);
  }, 240_000);

  test('nothing the SDK emitted in this process (warnings, console) holds a key or a token', () => {
    expectNoSecret('emitted', emitted, [lab.site('site-a').key, lab.site('site-b').key]);
  });
});

describe("the lab's key files", () => {
  test('every keyring, site.json and lab.json (which holds the keys) is readable by its owner only (0600)', async () => {
    const files: string[] = [path.join(lab.dir, 'lab.json')];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory() && !['log', 'run', 'current'].includes(e.name)) await walk(p);
        else if (e.isFile() && (e.name.endsWith('keyring') || e.name === 'site.json')) files.push(p);
      }
    };
    for (const s of lab.sites) await walk(s.dir);
    expect(files.filter((f) => f.endsWith('.keyring')).length).toBeGreaterThanOrEqual(2 * lab.sites.length);
    const open: string[] = [];
    for (const f of files) {
      const m = (await stat(f)).mode & 0o777;
      if ((m & 0o077) !== 0) open.push(`${path.relative(lab.dir, f)} ${m.toString(8)}`);
    }
    expect(open).toEqual([]);
    // lab.json does hold the keys: that is why it must be 0600.
    expect(await readFile(path.join(lab.dir, 'lab.json'), 'utf8')).toContain(lab.site('site-a').key);
  });
});
