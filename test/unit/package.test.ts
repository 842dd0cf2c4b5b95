/**
 * The published package: ES module and CommonJS entry points that agree, and
 * `npm pack` contents without tests, lab state or build leftovers. Runs on the
 * build in dist/ (npm test builds it before jest).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

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
    return (JSON.parse(json) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
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
