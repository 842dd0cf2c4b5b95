/**
 * The published package: ES module and CommonJS entry points that agree, and
 * `npm pack` contents without tests, lab state or build leftovers. Runs on the
 * build in dist/ (npm test builds it before jest). `npm pack --json` is read
 * in npm 11's form (an array) and npm 12's (an object keyed by package name).
 *
 * The prepack script (scripts/prepack.js) refuses to pack without the prebuilt
 * linux-x64 addon; with PREBUILDS_ONLY=1 (CI, after `npm run build:prebuilds`)
 * the tarball npm pack makes with its scripts is checked to hold it.
 * test/install/ installs that tarball into a project of its own.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { packResults } from '../../setup/npm-pack';

const root = path.join(__dirname, '..', '..', '..');
const PREBUILD = 'prebuilds/linux-x64/@x+rbd.napi.glibc.node';

describe('package entry points', () => {
  test('import and require give the same classes, for the root and for ./lab', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { Cluster, RbdError } from '@x/rbd';
         import { Lab } from '@x/rbd/lab';
         import { createRequire } from 'node:module';
         const require = createRequire(import.meta.url);
         const cjs = require('@x/rbd');
         const cjsLab = require('@x/rbd/lab');
         console.log(JSON.stringify([typeof Cluster.connect, Cluster === cjs.Cluster, RbdError === cjs.RbdError, Lab === cjsLab.Lab]));`,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual(['function', true, true, true]);
  });

  test('importing the package does not load the native addon until it is used', () => {
    const out = execFileSync(
      process.execPath,
      ['-e', `process.env.XRBD_ADDON = '/nonexistent.node'; const m = require('@x/rbd'); console.log(typeof m.featureBits(['layering']));`],
      { cwd: root, encoding: 'utf8' },
    );
    expect(out.trim()).toBe('number');
  });
});

describe('npm pack', () => {
  const files = (() => {
    const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return packResults(json)[0].files.map((f) => f.path);
  })();

  test('ships the build, the native sources, the build files and the lab script', () => {
    for (const f of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/lab/index.mjs', 'binding.gyp', 'CMakeLists.txt', 'native/addon.cc', 'docker/ceph-site.sh', 'package.json', 'README.md']) {
      expect(files).toContain(f);
    }
  });

  test('ships the prebuilt binaries prebuilds/ holds (npm run build:prebuilds), all of them', () => {
    const dir = path.join(root, 'prebuilds');
    const present = fs.existsSync(dir)
      ? fs.readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((d) => d.isFile())
          .map((d) => path.relative(root, path.join(d.parentPath, d.name)))
      : [];
    expect(files.filter((f) => f.startsWith('prebuilds/')).sort()).toEqual(present.sort());
  });

  test('ships no tests, lab state, benchmarks or build leftovers', () => {
    const bad = files.filter((f) => /^(test|types|bench|\.lab|\.ci|build|build-[^/]+|node_modules|coverage)\//.test(f) || /\.(log|o|tgz)$/.test(f));
    expect(bad).toEqual([]);
  });
});

describe('npm pack --json, as npm 11 and npm 12 print it', () => {
  const result = { id: '@x/rbd@0.1.0', name: '@x/rbd', version: '0.1.0', filename: 'x-rbd-0.1.0.tgz', files: [{ path: 'package.json', size: 2, mode: 420 }] };

  test('npm 11: an array of results', () => {
    expect(packResults(JSON.stringify([result]))).toEqual([result]);
  });

  test('npm 12: an object keyed by package name', () => {
    expect(packResults(JSON.stringify({ '@x/rbd': result }))).toEqual([result]);
  });

  test('anything else is an error naming what was printed', () => {
    expect(() => packResults('{"error": {"code": "E404"}}')).toThrow(/neither an array nor an object of results.*E404/);
    expect(() => packResults('[]')).toThrow(/neither an array/);
  });
});

describe('prepack (scripts/prepack.js): no tarball without the prebuilt linux-x64 addon', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xrbd-prepack-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A package tree with package.json, dist/ entry points, a native source and (elf: header bytes) the prebuild. */
  function tree(name: string, prebuild: Buffer | undefined, env: Record<string, string> = {}): { status: number | null; stderr: string } {
    const dir = path.join(tmp, name);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    const write = (f: string, data: string | Buffer, mtime?: Date) => {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), data);
      if (mtime) fs.utimesSync(path.join(dir, f), mtime, mtime);
    };
    write('package.json', JSON.stringify(pkg));
    for (const f of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts']) write(f, '');
    write('native/addon.cc', '', new Date(Date.now() - 60_000));
    if (prebuild) write(PREBUILD, prebuild);
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'prepack.js'), dir], {
      encoding: 'utf8',
      env: { ...process.env, XRBD_PACK_WITHOUT_PREBUILD: undefined, ...env },
    });
    return { status: r.status, stderr: r.stderr };
  }
  // e_ident: ELF, 64-bit, little-endian; e_type (offset 16) ET_DYN
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(8), Buffer.from([3, 0]), Buffer.alloc(46)]);

  test('refuses when the prebuild is missing, naming it and npm run build:prebuilds', () => {
    const r = tree('missing', undefined);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`prepack: ${PREBUILD} is missing: npm run build:prebuilds`);
    expect(r.stderr).toContain('refusing to pack');
  });

  test('refuses a file that is not an ELF shared object', () => {
    const r = tree('not-elf', Buffer.from('#!/bin/sh\n'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${PREBUILD} is not a 64-bit ELF shared object`);
  });

  test('refuses a prebuild older than a native source', () => {
    const dir = path.join(tmp, 'stale');
    tree('stale', elf);
    fs.utimesSync(path.join(dir, PREBUILD), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'prepack.js'), dir], { encoding: 'utf8', env: { ...process.env, XRBD_PACK_WITHOUT_PREBUILD: undefined } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${PREBUILD} is older than native/addon.cc`);
  });

  test('packs with a fresh prebuild, and without one only when XRBD_PACK_WITHOUT_PREBUILD=1 (with a warning)', () => {
    expect(tree('ok', elf)).toMatchObject({ status: 0, stderr: expect.stringContaining(`${PREBUILD} (64 bytes) goes into the tarball`) });
    expect(tree('forced', undefined, { XRBD_PACK_WITHOUT_PREBUILD: '1' })).toMatchObject({ status: 0, stderr: expect.stringContaining('packing anyway') });
  });

  test('refuses without dist/ even when XRBD_PACK_WITHOUT_PREBUILD=1', () => {
    tree('no-dist', elf);
    fs.rmSync(path.join(tmp, 'no-dist', 'dist'), { recursive: true });
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'prepack.js'), path.join(tmp, 'no-dist')], { encoding: 'utf8', env: { ...process.env, XRBD_PACK_WITHOUT_PREBUILD: '1' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('dist/index.js is missing: npm run build:ts');
  });

  test('is the prepack script of package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepack).toBe('node scripts/prepack.js');
  });
});

if (process.env.PREBUILDS_ONLY) {
  describe('PREBUILDS_ONLY=1: the tarball npm pack makes (prepack run)', () => {
    test(`holds ${PREBUILD}`, () => {
      const json = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const [result] = packResults(json);
      expect(result.files.map((f) => f.path)).toContain(PREBUILD);
      expect(result.files.find((f) => f.path === PREBUILD)?.size).toBe(fs.statSync(path.join(root, PREBUILD)).size);
    });
  });
}
