/**
 * Which addon file is loaded, and what a failure to load says. node-gyp-build
 * takes build/Release/xrbd.node when there is one, else the file in
 * prebuilds/<platform>-<arch>/ that matches; with PREBUILDS_ONLY set it only
 * looks at prebuilds/. CI runs the unit project once more with PREBUILDS_ONLY=1
 * after `npm run build:prebuilds`: then the last test proves that the binary
 * `npm pack` ships is the one in use.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { addonPath, native } from '../../../lib/core/native';

const root = path.join(__dirname, '..', '..', '..');
const tuple = `${process.platform}-${process.arch}`;
/** The name scripts/prebuild.sh gives the prebuild (prebuildify's, plus the napi tag). */
const PREBUILD = '@x+rbd.napi.glibc.node';

type NativeModule = typeof import('../../../lib/core/native');
type NodeGypBuild = { resolve(dir: string): string };

/** Runs fn with these variables set (undefined: unset) on fresh copies of the modules it requires. */
function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(env);
  try {
    let result: T | undefined;
    jest.isolateModules(() => {
      result = fn();
    });
    return result as T;
  } finally {
    apply(saved);
  }
}

/** node-gyp-build's PREBUILDS_ONLY is read when the module is loaded: a fresh copy per call. */
function resolveAddon(dir: string, prebuildsOnly: boolean): string {
  return withEnv({ PREBUILDS_ONLY: prebuildsOnly ? '1' : undefined }, () =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('node-gyp-build') as NodeGypBuild).resolve(dir),
  );
}

/** The message lib/core/native.ts throws when native() cannot load the addon with these variables. */
function loadFailure(env: Record<string, string | undefined>): string {
  return withEnv({ PREBUILDS_ONLY: undefined, XRBD_ADDON: undefined, ...env }, () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require('../../../lib/core/native') as NativeModule;
    try {
      m.native();
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('the addon loaded');
  });
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xrbd-prebuilds-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A package folder like an installed @x/rbd: package.json and the given (empty) addon files. */
function fakePackage(name: string, files: string[]): string {
  const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@x/rbd' }));
  for (const f of files) {
    fs.mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), '');
  }
  return dir;
}

describe('node-gyp-build and the name scripts/prebuild.sh gives the prebuild', () => {
  test(`finds prebuilds/${tuple}/${PREBUILD} when nothing was built`, () => {
    const dir = fakePackage('only-prebuild', [`prebuilds/${tuple}/${PREBUILD}`]);
    expect(resolveAddon(dir, false)).toBe(path.join(dir, 'prebuilds', tuple, PREBUILD));
  });

  test('prefers build/Release/xrbd.node to the prebuild', () => {
    const dir = fakePackage('both', [`prebuilds/${tuple}/${PREBUILD}`, 'build/Release/xrbd.node']);
    expect(resolveAddon(dir, false)).toBe(path.join(dir, 'build', 'Release', 'xrbd.node'));
  });

  test('with PREBUILDS_ONLY=1 passes over build/Release for the prebuild', () => {
    const dir = fakePackage('both', [`prebuilds/${tuple}/${PREBUILD}`, 'build/Release/xrbd.node']);
    expect(resolveAddon(dir, true)).toBe(path.join(dir, 'prebuilds', tuple, PREBUILD));
  });

  test('ignores a prebuild tagged for musl on glibc', () => {
    const dir = fakePackage('musl', [`prebuilds/${tuple}/@x+rbd.napi.musl.node`]);
    expect(() => resolveAddon(dir, false)).toThrow(/No native build was found/);
  });
});

describe('the message when the addon cannot be loaded', () => {
  test('XRBD_ADDON naming a missing file: the reason and the hint to unset it', () => {
    const missing = path.join(tmp, 'missing', 'xrbd.node');
    const message = loadFailure({ XRBD_ADDON: missing });
    expect(message).toMatch(/^@x\/rbd: cannot load the native addon: .*Cannot find module/);
    expect(message).toContain(missing);
    expect(message).toContain(`fix: XRBD_ADDON=${missing} is set: unset it to load the package's own build`);
  });

  test('XRBD_ADDON naming a file that is not a shared library: the loader says why', () => {
    const bad = path.join(tmp, 'bad.node');
    fs.writeFileSync(bad, 'not an ELF file\n'.repeat(64));
    const message = loadFailure({ XRBD_ADDON: bad });
    expect(message).toMatch(/^@x\/rbd: cannot load the native addon: .*invalid ELF header/);
    expect(message).toContain('fix: XRBD_ADDON=');
  });

  test('no build and no matching prebuild: how to build one, and that PREBUILDS_ONLY hides build/', () => {
    // node-gyp-build's <NAME>_PREBUILD moves the package folder it looks in: an empty one here
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    const message = loadFailure({ PREBUILDS_ONLY: '1', '@X/RBD_PREBUILD': empty });
    expect(message).toContain('No native build was found for platform=linux');
    expect(message).toContain('install librbd-dev and librados-dev, then run `npm rebuild @x/rbd`');
    expect(message).toContain('fix: PREBUILDS_ONLY is set, so build/ is not looked at');
  });
});

if (process.env.PREBUILDS_ONLY) {
  describe('PREBUILDS_ONLY=1: the shipped binary', () => {
    test(`the addon in use is prebuilds/${tuple}/${PREBUILD}, and it works`, () => {
      expect(addonPath()).toBe(path.join(root, 'prebuilds', tuple, PREBUILD));
      expect(native().versions().rbd).toMatch(/^\d+\.\d+\.\d+$/);
    });
  });
}
