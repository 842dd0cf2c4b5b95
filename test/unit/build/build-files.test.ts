/**
 * binding.gyp (what `npm install` builds) and CMakeLists.txt (cmake-js) must
 * build the same thing: every native source, the same Node-API version and
 * defines, the same libraries.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..', '..');
const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as {
  targets: Array<{ target_name: string; sources: string[]; defines: string[]; libraries: string[] }>;
};
const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
const target = gyp.targets[0];

describe('build files', () => {
  test('binding.gyp lists exactly the .cc files under native/ (CMake globs them recursively)', () => {
    const walk = (dir: string): string[] =>
      fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith('.cc') ? [`${dir}/${e.name}`] : [],
      );
    expect([...target.sources].sort()).toEqual(walk('native').sort());
    expect(cmake).toMatch(/GLOB_RECURSE XRBD_SOURCES[^)]*native\/\*\.cc/);
  });

  test('both compile with native/ on the include path (includes are written from there: "core/args.h")', () => {
    expect((target as unknown as { include_dirs: string[] }).include_dirs).toContain('native');
    expect(cmake).toMatch(/target_include_directories\([^)]*\$\{CMAKE_SOURCE_DIR\}\/native\b/);
  });

  test('both pin the same NAPI_VERSION and defines', () => {
    for (const d of target.defines) expect(cmake).toContain(`-D${d}`);
    expect(target.defines).toContain('NAPI_VERSION=8');
  });

  test('both link librbd and librados directly', () => {
    expect(target.libraries).toEqual(['-lrbd', '-lrados']);
    expect(cmake).toMatch(/target_link_libraries\([^)]*\brbd rados\)/);
  });

  test('both produce xrbd.node, the name node-gyp-build loads', () => {
    expect(target.target_name).toBe('xrbd');
    expect(cmake).toMatch(/project\(xrbd\b/);
  });
});
