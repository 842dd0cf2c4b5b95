/**
 * lib/core/constants.ts names librbd's enums and flags; the values come from
 * the headers the addon was built against (its `constants` export). Checked
 * here: every C name a table uses is in the addon (or is a documented extra),
 * the values agree with the official Python binding's (python3-rbd, which
 * reads the same librbd.h), the public FEATURES literal agrees with the
 * headers, and a value no table knows comes out as unknown(n).
 */
import { execFileSync } from 'node:child_process';
import * as constants from '../../../lib/core/constants';
import { FEATURES } from '../../../lib/core/features';
import { native } from '../../../lib/core/native';

type Table = constants.NamedEnum<string> | constants.NamedFlags<string>;
const tables = (Object.entries(constants) as Array<[string, unknown]>).filter(
  (e): e is [string, Table] => e[1] instanceof constants.NamedEnum || e[1] instanceof constants.NamedFlags,
);

/** Every integer constant the Python binding exports, by C name. */
const python = JSON.parse(
  execFileSync(
    '/usr/bin/python3',
    ['-c', 'import rbd, json; print(json.dumps({n: getattr(rbd, n) for n in dir(rbd) if n.isupper() and isinstance(getattr(rbd, n), int)}))'],
    { encoding: 'utf8' },
  ),
) as Record<string, number>;

/** The C names a table maps (its private table, read the way a test may). */
function cNames(t: constants.NamedEnum<string> | constants.NamedFlags<string>): Record<string, string> {
  return (t as unknown as { cNames: Record<string, string> }).cNames;
}

describe('librbd constants by name', () => {
  test('the addon exports every group lib/ names', () => {
    const groups = new Set(tables.map(([, t]) => t.group));
    for (const g of groups) expect(native().constants[g]).toEqual(expect.any(Object));
    expect(tables.length).toBeGreaterThanOrEqual(14);
  });

  test.each(tables.map(([n, t]) => [n, t] as const))('%s: every name resolves to the header value of its C name', (_n, t) => {
    const group = native().constants[t.group];
    const extra = (t as unknown as { extra?: Record<string, number> }).extra ?? {};
    for (const [name, c] of Object.entries(cNames(t))) {
      const expected = group[c] ?? extra[name];
      expect({ name, c, value: expected }).toEqual({ name, c, value: expect.any(Number) });
      expect(t.value(name)).toBe(expected);
      if (t instanceof constants.NamedEnum) expect(t.name(expected)).toBe(name);
    }
  });

  test('the values agree with the Python binding (python3-rbd) wherever it exports the same C name', () => {
    let compared = 0;
    for (const [, t] of tables) {
      const group = native().constants[t.group];
      for (const c of Object.values(cNames(t))) {
        if (python[c] === undefined || group[c] === undefined) continue;
        expect({ c, value: group[c] }).toEqual({ c, value: python[c] });
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(40);
  });

  test('the public FEATURES table is the headers\' RBD_FEATURE_* bits', () => {
    const f = native().constants.feature;
    const c = (name: string): string => `RBD_FEATURE_${name === 'striping' ? 'STRIPINGV2' : name.toUpperCase().replace(/-/g, '_')}`;
    for (const [name, bit] of Object.entries(FEATURES)) {
      expect({ name, bit: f[c(name)] }).toEqual({ name, bit });
      if (python[c(name)] !== undefined) expect({ name, bit: python[c(name)] }).toEqual({ name, bit });
    }
  });

  test('a value no table knows is unknown(n); a bad argument is a TypeError naming the choices', () => {
    expect(constants.MIRROR_STATUS_STATE.name(99)).toBe('unknown(99)');
    expect(constants.MIRROR_IMAGE_STATE.name(3)).toBe('creating'); // cls_rbd's, not in librbd.h
    expect(() => constants.MIRROR_MODE.check('both', 'mode', ['image', 'pool'])).toThrow(new TypeError("mode must be one of image, pool, got 'both'"));
    expect(() => constants.MIRROR_MODE.check(1, 'mode')).toThrow(TypeError);
    expect(constants.SNAP_CREATE.of({ skipQuiesce: true, ignoreQuiesceError: true })).toBe(
      python.RBD_SNAP_CREATE_SKIP_QUIESCE | python.RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR,
    );
  });
});
