/**
 * binding.gyp (what `npm install` builds) and CMakeLists.txt (cmake-js) must
 * build the same thing: every native source, the same Node-API version and
 * defines, the same libraries.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as {
  targets: Array<{ target_name: string; sources: string[]; defines: string[]; libraries: string[] }>;
};
const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
const target = gyp.targets[0];

describe('build files', () => {
  test('binding.gyp lists exactly the .cc files in native/ and native/util/ (CMake globs them)', () => {
    const onDisk = ['native', 'native/util']
      .flatMap((dir) =>
        fs
          .readdirSync(path.join(root, dir))
          .filter((f) => f.endsWith('.cc'))
          .map((f) => `${dir}/${f}`),
      )
      .sort();
    expect([...target.sources].sort()).toEqual(onDisk);
    expect(cmake).toMatch(/native\/\*\.cc/);
    expect(cmake).toMatch(/native\/util\/\*\.cc/);
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
