/**
 * The tarball as a consumer installs it (jest project 'install', not part of
 * `npm test`: it packs, installs from the npm registry's cache and, for the
 * fallback, compiles the addon, ~5 minutes). Needs the prebuild:
 *   npm run build:prebuilds && npx jest --selectProjects install
 *
 *  - `npm pack` (its prepack runs: scripts/prepack.js) makes a tarball holding
 *    prebuilds/linux-x64/@x+rbd.napi.glibc.node;
 *  - `npm install --ignore-scripts <tarball>` (what npm 12 does with a
 *    dependency's install script the consumer has not allowed) into a project of
 *    its own, with a PATH holding node and nothing else (no g++, cc, make,
 *    python3), then require('@x/rbd') and Cluster.versions(): the addon the
 *    process maps is the prebuild, and nothing was built; the same with npm's
 *    defaults (npm 11 runs the install script, node-gyp-build, which finds the
 *    prebuild and builds nothing);
 *  - without a fitting prebuild (the same tarball with prebuilds/ taken out):
 *    with scripts not run, loading fails saying what to install and to run
 *    `npm rebuild @x/rbd`; with scripts allowed (allowScripts in the consumer's
 *    package.json, which npm 12 asks for: by name for a registry install, by the
 *    `file:` spec for a tarball), npm install builds the addon from
 *    source (node-gyp-build → node-gyp) and that build is what loads.
 *
 * XRBD_INSTALL_NPM=<path to an npm-cli.js> runs the installs with another npm
 * (e.g. npm 12's from `npx -y npm@12`); default: the npm on PATH.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { packResults } from '../setup/npm-pack';

const root = path.join(__dirname, '..', '..');
const PREBUILD = 'prebuilds/linux-x64/@x+rbd.napi.glibc.node';
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };

/** npm's own script, run with this node (so a PATH without npm on it still works). */
const npmCli =
  process.env.XRBD_INSTALL_NPM ??
  fs.realpathSync(execFileSync('/bin/sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());

/** The environment of a consumer's shell: no npm_* of the jest run, no addon overrides. */
function consumerEnv(PATH: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || ['XRBD_ADDON', 'PREBUILDS_ONLY', 'NODE_OPTIONS', 'JEST_WORKER_ID', 'INIT_CWD'].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, PATH, JOBS: process.env.JOBS ?? '2' };
}

interface Run {
  status: number | null;
  out: string;
}
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 600_000): Run {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}
const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv) =>
  run(process.execPath, [npmCli, ...args, '--no-audit', '--no-fund', '--prefer-offline'], cwd, env);

/** A consumer project: package.json (plus extra fields) in a directory of its own. */
function consumer(name: string, extra: Record<string, unknown> = {}): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...extra }, null, 2));
  return dir;
}

/** require('@x/rbd') in the consumer, Cluster.versions(), and the .node files the process has mapped. */
const PROBE = `
  const { Cluster } = require('@x/rbd');
  let versions, error;
  try { versions = Cluster.versions(); } catch (e) { error = e.message; }
  const mapped = [...new Set(require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n')
    .map((l) => l.split(/\\s+/).slice(5).join(' ')).filter((f) => f.endsWith('.node')))];
  console.log(JSON.stringify({ versions, error, mapped }));`;
function probe(dir: string, env: NodeJS.ProcessEnv): { versions?: { rbd: string; rados: string }; error?: string; mapped: string[] } {
  const r = run(process.execPath, ['-e', PROBE], dir, env, 60_000);
  if (r.status !== 0) throw new Error(`the probe exited ${r.status}:\n${r.out}`);
  return JSON.parse(r.out.trim().split('\n').pop() as string);
}

let tmp: string;
let tarball: string;
let files: string[];
/** A PATH with node and sh (npm runs scripts with it) and nothing else on it. */
let bareBin: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xrbd-install-'));
  // the real npm pack, prepack included: it refuses without the prebuild
  const packed = spawnSync(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', tmp], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (packed.status !== 0) throw new Error(`npm pack failed (exit ${packed.status}):\n${packed.stderr}`);
  const [result] = packResults(packed.stdout);
  tarball = path.join(tmp, result.filename);
  files = result.files.map((f) => f.path);
  bareBin = path.join(tmp, 'bare-bin');
  fs.mkdirSync(bareBin);
  fs.symlinkSync(process.execPath, path.join(bareBin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bareBin, 'sh'));
}, 120_000);
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('npm install of the packed tarball', () => {
  test(`the tarball is ${pkg.name}@${pkg.version} and holds ${PREBUILD}`, () => {
    expect(fs.statSync(tarball).size).toBeGreaterThan(0);
    expect(files).toContain(PREBUILD);
    expect(files).toContain('dist/index.js');
  });

  test('--ignore-scripts, no compiler on PATH: require() loads the prebuild and it works', () => {
    const env = consumerEnv(bareBin);
    // the PATH really has no compiler, make or python (sh's own lookup, with that PATH): only node and sh
    const found = run('/bin/sh', ['-c', 'for t in g++ c++ gcc cc make python3 node-gyp; do command -v $t; done; true'], tmp, env);
    expect(found).toEqual({ status: 0, out: '' });
    const dir = consumer('with-prebuild');
    const inst = npm(['install', '--ignore-scripts', tarball], dir, env);
    expect(inst).toMatchObject({ status: 0 });
    const installed = path.join(dir, 'node_modules', '@x', 'rbd');
    expect(fs.existsSync(path.join(installed, PREBUILD))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);

    const p = probe(dir, env);
    expect(p.error).toBeUndefined();
    expect(p.versions?.rbd).toMatch(/^\d+\.\d+\.\d+$/);
    expect(p.versions?.rados).toMatch(/^\d+\.\d+\.\d+$/);
    expect(p.mapped).toEqual([fs.realpathSync(path.join(installed, PREBUILD))]);
  });

  test("npm's defaults, no compiler on PATH: npm 11 runs the install script, which finds the prebuild and builds nothing (npm 12 runs none)", () => {
    const env = consumerEnv(bareBin);
    const dir = consumer('defaults');
    const inst = npm(['install', tarball], dir, env);
    if (inst.status !== 0) throw new Error(`npm install failed:\n${inst.out.slice(-4000)}`);
    const installed = path.join(dir, 'node_modules', '@x', 'rbd');
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
    const p = probe(dir, env);
    expect(p.error).toBeUndefined();
    expect(p.versions?.rbd).toMatch(/^\d+\.\d+\.\d+$/);
    expect(p.mapped).toEqual([fs.realpathSync(path.join(installed, PREBUILD))]);
  });
});

describe('without a fitting prebuild', () => {
  let nobin: string;
  beforeAll(() => {
    // the same tarball, prebuilds/ taken out (as on a platform no prebuild fits)
    const x = path.join(tmp, 'nobin');
    fs.mkdirSync(x);
    execFileSync('tar', ['xzf', tarball, '-C', x]);
    fs.rmSync(path.join(x, 'package', 'prebuilds'), { recursive: true });
    nobin = path.join(tmp, 'nobin.tgz');
    execFileSync('tar', ['czf', nobin, '-C', x, 'package']);
  });

  test('scripts not run (npm 12 default, or --ignore-scripts): loading fails naming what to install and `npm rebuild @x/rbd`', () => {
    const env = consumerEnv(bareBin);
    const dir = consumer('no-scripts');
    expect(npm(['install', '--ignore-scripts', nobin], dir, env)).toMatchObject({ status: 0 });
    const p = probe(dir, env);
    expect(p.versions).toBeUndefined();
    expect(p.error).toContain('No native build was found');
    expect(p.error).toContain('install librbd-dev and librados-dev, then run `npm rebuild @x/rbd`');
    expect(p.mapped).toEqual([]);
  });

  test('scripts allowed (allowScripts): npm install builds the addon from source, and that build loads', () => {
    const env = consumerEnv(process.env.PATH ?? '');
    // a registry install is allowed by name; npm 12 keys a tarball by its file: spec
    // (what `npm install-scripts approve @x/rbd` writes for it)
    const dir = consumer('from-source', { allowScripts: { [pkg.name]: true, [`file:${nobin}`]: true } });
    const t0 = Date.now();
    const inst = npm(['install', nobin], dir, env);
    if (inst.status !== 0) throw new Error(`npm install failed:\n${inst.out.slice(-4000)}`);
    const installed = path.join(dir, 'node_modules', '@x', 'rbd');
    const built = path.join(installed, 'build', 'Release', 'xrbd.node');
    expect(fs.existsSync(built)).toBe(true);
    expect(fs.existsSync(path.join(installed, 'prebuilds'))).toBe(false);

    const p = probe(dir, env);
    expect(p.error).toBeUndefined();
    expect(p.versions?.rbd).toMatch(/^\d+\.\d+\.\d+$/);
    expect(p.mapped).toEqual([fs.realpathSync(built)]);
    process.stderr.write(`install test: the source build took ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  }, 1_200_000);
});
