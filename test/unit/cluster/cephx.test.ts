/**
 * cephx key types (lib/cluster/cephx.ts): the keys below were made by Ceph 20.2.4's
 * ceph-authtool (`--gen-print-key`, its default aes256k, and `--key-type aes`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { cephxKeyType, cephxKeyTypeName, findForeignKey, foreignKeyDetail } from '../../../lib/cluster/cephx';

/** `ceph-authtool --gen-print-key` of 20.2.4 (aes256k, the default there). */
const AES256K = 'AgB4Xg9rH0wMEiAAQiMPGv+6W2kOXBTPUShhgj7HtqVfKw/cvF/6bUuEq0w=';
/** `ceph-authtool --gen-print-key --key-type aes` of 20.2.4: what every librados reads. */
const AES = 'AQB4Xg9rAF7EGRAA2psYwce78JfTzq8cBnF2nA==';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'xrbd-cephx-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('the key type is the u16 the blob starts with: 2 (aes256k) for 20.2.4 default keys, 1 (aes) with --key-type aes', () => {
  expect(cephxKeyType(AES256K)).toBe(2);
  expect(cephxKeyType(AES)).toBe(1);
  expect(cephxKeyTypeName(2)).toBe('aes256k');
  expect(cephxKeyTypeName(1)).toBe('aes');
  expect(cephxKeyTypeName(7)).toBe('unknown(7)');
});

test('a string that is no key blob has no type', () => {
  expect(cephxKeyType('not a key')).toBeUndefined();
  expect(cephxKeyType('AQAA')).toBeUndefined(); // too short
  expect(cephxKeyType(Buffer.alloc(20, 1).toString('base64'))).toBeUndefined(); // length field does not match
});

test('findForeignKey finds a non-aes `key` option first, and ignores aes keys', async () => {
  expect(await findForeignKey([['given as the `key` option', AES]], '')).toBeUndefined();
  expect(await findForeignKey([['given as the `key` option', AES256K]], '')).toEqual({ where: 'given as the `key` option', type: 2 });
});

test('findForeignKey reads every key of each keyring file (librados fails on the whole file), skipping missing files', async () => {
  const good = path.join(tmp, 'good.keyring');
  const mixed = path.join(tmp, 'mixed.keyring');
  await writeFile(good, `[client.admin]\n\tkey = ${AES}\n`);
  await writeFile(mixed, `[client.admin]\n\tkey = ${AES}\n[client.other]\n\tkey = ${AES256K}\n\tcaps mon = "allow r"\n`);
  expect(await findForeignKey([], `${path.join(tmp, 'missing')},${good}`)).toBeUndefined();
  expect(await findForeignKey([], `${path.join(tmp, 'missing')}, ${good};${mixed}`)).toEqual({ where: `in keyring ${mixed}`, type: 2 });
});

test('the detail names the key type and the fix; definite before librbd 1.19, hedged from 1.19 on', () => {
  const d16 = foreignKeyDetail({ where: 'given as the `key` option', type: 2 }, '1.16.0');
  expect(d16).toMatch(/the cephx key given as the `key` option is of type aes256k \(type 2\)/);
  expect(d16).toMatch(/librbd 1\.16\.0\) cannot read/);
  expect(d16).toMatch(/ceph-authtool --gen-key --key-type aes/);
  expect(d16).toMatch(/allow aes keys as well as aes256k/);
  expect(foreignKeyDetail({ where: 'x', type: 2 }, '1.19.0')).toMatch(/may not read \(before 19\.2\.6 \/ 20\.2\.4\)/);
});
