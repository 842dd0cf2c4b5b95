import { FEATURES, featureBits, featureNames } from '../../../lib/core/features';

describe('features', () => {
  test('names map to librbd bits as in rbd/features.h', () => {
    expect(FEATURES.layering).toBe(1);
    expect(FEATURES['exclusive-lock']).toBe(4);
    expect(FEATURES.journaling).toBe(64);
    expect(FEATURES['non-primary']).toBe(1024);
  });

  test('featureBits ORs the named bits', () => {
    expect(featureBits(['layering', 'exclusive-lock', 'journaling'])).toBe(1 + 4 + 64);
    expect(featureBits([])).toBe(0);
  });

  test('featureBits rejects an unknown name with a TypeError naming it', () => {
    expect(() => featureBits(['layering', 'journalling'])).toThrow(TypeError);
    expect(() => featureBits(['journalling'])).toThrow(/"journalling"/);
  });

  test('featureNames lists names in bit order', () => {
    expect(featureNames(61)).toEqual(['layering', 'exclusive-lock', 'object-map', 'fast-diff', 'deep-flatten']);
  });

  test('featureNames keeps unknown bits as unknown(n) instead of throwing', () => {
    expect(featureNames(1 + 2 ** 20)).toEqual(['layering', 'unknown(1048576)']);
  });
});
