import { checkInt, checkName, checkOptions, checkU64 } from '../../../lib/core/validate';

describe('argument checks', () => {
  test('checkName accepts a plain name', () => {
    expect(checkName('disk-1', 'image name')).toBe('disk-1');
  });
  test('checkName: wrong type is a TypeError, empty or NUL a RangeError', () => {
    expect(() => checkName(42, 'image name')).toThrow(TypeError);
    expect(() => checkName(undefined, 'image name')).toThrow(/image name must be a string, got undefined/);
    expect(() => checkName('', 'image name')).toThrow(RangeError);
    expect(() => checkName('a\0b', 'image name')).toThrow(/NUL/);
  });
  test('checkU64 takes safe integers and bigints up to 2^64-1', () => {
    expect(checkU64(0, 'size')).toBe(0);
    expect(checkU64(2 ** 40, 'size')).toBe(2 ** 40);
    expect(checkU64((1n << 64n) - 1n, 'size')).toBe((1n << 64n) - 1n);
  });
  test('checkU64 rejects negatives, fractions, unsafe numbers and > 2^64-1', () => {
    expect(() => checkU64(-1, 'size')).toThrow(RangeError);
    expect(() => checkU64(1.5, 'size')).toThrow(RangeError);
    expect(() => checkU64(2 ** 60, 'size')).toThrow(/bigint/);
    expect(() => checkU64(1n << 64n, 'size')).toThrow(RangeError);
    expect(() => checkU64(-1n, 'size')).toThrow(RangeError);
    expect(() => checkU64('1', 'size')).toThrow(TypeError);
    expect(() => checkU64(NaN, 'size')).toThrow(RangeError);
  });
  test('checkInt bounds', () => {
    expect(checkInt(22, 'order', 12, 25)).toBe(22);
    expect(() => checkInt(26, 'order', 12, 25)).toThrow(RangeError);
    expect(() => checkInt('22', 'order', 12, 25)).toThrow(TypeError);
  });
  test('checkOptions accepts undefined and objects only', () => {
    expect(checkOptions(undefined)).toEqual({});
    expect(() => checkOptions(null)).toThrow(TypeError);
    expect(() => checkOptions([])).toThrow(TypeError);
    expect(() => checkOptions('x')).toThrow(TypeError);
  });
});
