/**
 * cephx key types, for the connect error: Ceph 19.2.6 and 20.2.4 made
 * 'aes256k' keys the default (`ceph-authtool --gen-key`, a new cluster's
 * monitors), and a librados older than those cannot parse them — rados_connect
 * then fails with a bare EINVAL (a `key` option) or EIO (a keyring file) after
 * logging "Malformed input". The key blob (base64) begins with its type as a
 * little-endian u16: 0 none, 1 aes, 2 aes256k.
 */
import { promises as fsp } from 'node:fs';

const TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'none', 1: 'aes', 2: 'aes256k' };
/** The type every librados reads. */
export const CEPHX_AES = 1;

/** The type of a base64 cephx key (the u16 its blob starts with), or undefined when it is not one. */
export function cephxKeyType(key: string): number | undefined {
  const s = key.trim();
  if (!/^[A-Za-z0-9+/]+=*$/.test(s)) return undefined;
  const blob = Buffer.from(s, 'base64');
  // type u16, created utime_t (u32 s, u32 ns), secret length u16, secret
  if (blob.length < 12 || blob.readUInt16LE(10) !== blob.length - 12) return undefined;
  return blob.readUInt16LE(0);
}

/** 'aes256k' for 2, 'unknown(n)' for a type no release names. */
export function cephxKeyTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `unknown(${type})`;
}

/** A key that was not of type aes, and where it came from. */
export interface ForeignKey {
  where: string;
  type: number;
}

/** The keys of a text keyring file (`key = ...` lines of every section); [] when it cannot be read. */
async function keyringKeys(path: string): Promise<string[]> {
  try {
    const text = await fsp.readFile(path, 'utf8');
    return [...text.matchAll(/^\s*key\s*=\s*(\S+)\s*$/gm)].map((m) => m[1] as string);
  } catch {
    return [];
  }
}

/**
 * The first key librados was given that is not an 'aes' key: a `key` option,
 * else a key in one of the keyring files (librados' `keyring` value: paths
 * separated by commas, semicolons or blanks). librados fails on the whole
 * keyring file when any key in it does not parse, so every key counts.
 */
export async function findForeignKey(keys: Array<[string, string]>, keyringPaths: string): Promise<ForeignKey | undefined> {
  for (const [where, key] of keys) {
    const type = cephxKeyType(key);
    if (type !== undefined && type !== CEPHX_AES) return { where, type };
  }
  for (const path of keyringPaths.split(/[,;\s]+/).filter(Boolean)) {
    for (const key of await keyringKeys(path)) {
      const type = cephxKeyType(key);
      if (type !== undefined && type !== CEPHX_AES) return { where: `in keyring ${path}`, type };
    }
  }
  return undefined;
}

/** What to say about such a key, given the librbd version loaded ('1.16.0'). */
export function foreignKeyDetail(k: ForeignKey, librbd: string): string {
  const minor = Number(librbd.split('.')[1]);
  // 19.2.6 and 20.2.4 read aes256k; librbd's version (1.19, 1.20) does not tell their point releases apart.
  const cannot = Number.isFinite(minor) && minor < 19 ? 'cannot read' : 'may not read (before 19.2.6 / 20.2.4)';
  return (
    `the cephx key ${k.where} is of type ${cephxKeyTypeName(k.type)} (type ${k.type}), which this librados ` +
    `(librbd ${librbd}) ${cannot} ("Malformed input"): use a key of type aes — made with ` +
    '`ceph-authtool --gen-key --key-type aes` (or `ceph auth get-or-create` on monitors that allow aes keys ' +
    'as well as aes256k) — or a librados of Ceph 19.2.6 / 20.2.4 or later'
  );
}
