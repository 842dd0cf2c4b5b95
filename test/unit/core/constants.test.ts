/**
 * lib/core/constants.ts names librbd's enums and flags; the values come from
 * the headers the addon was built against (its `constants` export). Checked
 * here: every C name a table uses is in the addon (or is a documented extra),
 * the values agree with the official Python binding's (python3-rbd, which
 * reads the same librbd.h), the public FEATURES literal agrees with the
 * headers and spells every feature as librbd does (rbd_features_to_string),
 * and a value no table knows comes out as unknown(n).
 */
import { execFileSync } from 'node:child_process';
import * as constants from '../../../lib/core/constants';
import { FEATURES, featureBits, featureNames } from '../../../lib/core/features';
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

  test("the public FEATURES table is the headers' RBD_FEATURE_* bits under librbd's own names (rbd_features_to_string)", () => {
    const f = native().constants.feature;
    const librbdNames = native().featureNames;
    // Every bit the addon exports has a librbd name, and FEATURES has exactly those names, with those bits.
    expect(Object.keys(librbdNames).sort()).toEqual(Object.keys(f).sort());
    const byName = Object.fromEntries(Object.entries(librbdNames).map(([c, name]) => [name, f[c]]));
    expect(FEATURES).toEqual(byName);
    for (const [c, name] of Object.entries(librbdNames)) {
      const bit = FEATURES[name as keyof typeof FEATURES];
      expect({ name, c, bit: f[c] }).toEqual({ name, c, bit });
      if (python[c] !== undefined) expect({ name, bit: python[c] }).toEqual({ name, bit });
      // And back: librbd parses its own name to the bit (rbd_features_from_string).
      expect({ name, bit: native().featuresFromString(name) }).toEqual({ name, bit });
    }
  });

  test('featureNames() and featureBits() agree with librbd on whole masks (rbd_features_to_string / _from_string)', () => {
    const all = Object.values(FEATURES).reduce((a, b) => a | b, 0);
    for (const mask of [0, FEATURES.layering, FEATURES.layering | FEATURES['exclusive-lock'] | FEATURES['object-map'] | FEATURES['fast-diff'], all]) {
      const names = featureNames(mask);
      // librbd lists the names sorted alphabetically; lib/ lists them in bit order.
      expect({ mask, names: native().featuresToString(mask).split(',').filter(Boolean) }).toEqual({ mask, names: [...names].sort() });
      // (An empty list is not 0 to librbd: it means its default features, checked below.)
      if (mask !== 0) expect({ mask, bits: native().featuresFromString(names.join(',')) }).toEqual({ mask, bits: mask });
      expect(featureBits(names)).toBe(mask);
    }
    // RBD_FEATURES_DEFAULT in features.h: layering, exclusive-lock, object-map, fast-diff, deep-flatten.
    expect(featureNames(native().featuresFromString(''))).toEqual(['layering', 'exclusive-lock', 'object-map', 'fast-diff', 'deep-flatten']);
    // A name or bit librbd does not know is EINVAL, as lib/ refuses it too.
    expect(() => native().featuresFromString('layering,bogus')).toThrow(expect.objectContaining({ errno: 22, op: 'rbd_features_from_string' }));
    expect(() => featureBits(['layering', 'bogus'])).toThrow(TypeError);
    expect(() => native().featuresToString(1 << 20)).toThrow(expect.objectContaining({ errno: 22, op: 'rbd_features_to_string' }));
    expect(featureNames(1 << 20)).toEqual([`unknown(${1 << 20})`]);
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
