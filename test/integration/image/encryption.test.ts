/**
 * image.encryption against the live lab: LUKS1 / LUKS2 format and load, with
 * python-rbd as the oracle (a plain reader sees the LUKS header and
 * ciphertext; python's encryption_load with the same passphrase reads the
 * plaintext back), the size stat() reports once the header is loaded, and the
 * passphrase kept out of errors, util.inspect output and the lab's logs.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { inspect, promisify } from 'node:util';
import { CapabilityUnavailable, Cluster, ImageExists, PermissionDenied, capabilities, type Pool } from '../../../lib';
import type { Lab } from '../../../lib/lab';
import { getLab } from '../../setup/lab-env';

const run = promisify(execFile);
let lab: Lab;
let cluster: Cluster;
let pool: Pool;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const created: string[] = [];

/** python-rbd: read `length` bytes at `offset`, plain, or after encryption_load(format, passphrase). Hex. */
async function pyRead(name: string, offset: number, length: number, load?: { format: string; passphrase: string }): Promise<{ hex: string; size: number }> {
  const code = [
    'import json, sys, rados, rbd',
    `c = rados.Rados(conffile=${JSON.stringify(lab.site('site-a').confPath)}); c.connect()`,
    `io = c.open_ioctx(${JSON.stringify(lab.pool)})`,
    'img = rbd.Image(io, sys.argv[1])',
    'if len(sys.argv) > 4: img.encryption_load(rbd.RBD_ENCRYPTION_FORMAT_LUKS1 if sys.argv[4] == "luks1" else rbd.RBD_ENCRYPTION_FORMAT_LUKS2, sys.argv[5])',
    'data = img.read(int(sys.argv[2]), int(sys.argv[3]))',
    'print(json.dumps({"hex": data.hex(), "size": img.size()}))',
    'img.close()',
  ].join('\n');
  const args = [name, String(offset), String(length), ...(load ? [load.format, load.passphrase] : [])];
  const { stdout } = await run('/usr/bin/python3', ['-c', code, ...args], { timeout: 60_000 });
  return JSON.parse(stdout) as { hex: string; size: number };
}

async function newImage(what: string): Promise<string> {
  const name = uniq(what);
  await pool.createImage(name, SIZE);
  created.push(name);
  return name;
}

beforeAll(async () => {
  lab = await getLab();
  cluster = await Cluster.connect({ confPath: lab.site('site-a').confPath });
  pool = await cluster.openPool(lab.pool);
});

afterAll(async () => {
  for (const name of created) await pool.removeImage(name).catch(() => undefined);
  await cluster?.close();
});

describe.each([
  ['luks2', 'aes-256'],
  ['luks1', 'aes-128'],
] as const)('%s (%s)', (format, algorithm) => {
  test('data written through the encrypted handle is ciphertext to a plain reader, plaintext after load', async () => {
    const name = await newImage(`enc-${format}`);
    const passphrase = `pw-${format}-${process.pid}-Zq9`;
    const plain = Buffer.alloc(64 * 1024);
    for (let i = 0; i < plain.length; i++) plain[i] = (i * 31 + 7) & 0xff;
    let encryptedSize: number;
    {
      await using img = await pool.openImage(name);
      await img.encryption.format({ format, passphrase, algorithm });
      encryptedSize = (await img.stat()).size;
      await img.write(plain, 0);
      await img.flush();
      expect((await img.read(0, plain.length)).equals(plain)).toBe(true);
    }
    // the LUKS header takes the start of the image: the encrypted image is that much smaller
    const header = SIZE - encryptedSize;
    expect(header).toBeGreaterThan(0);
    expect(header % 4096).toBe(0);

    // a plain reader: the LUKS magic at 0, and at the header's end ciphertext, not the plaintext
    const raw = await pyRead(name, 0, 6);
    expect(raw.hex).toBe(Buffer.from('LUKS\xba\xbe', 'latin1').toString('hex'));
    expect(raw.size).toBe(SIZE);
    const cipher = Buffer.from((await pyRead(name, header, plain.length)).hex, 'hex');
    expect(cipher.equals(plain)).toBe(false);
    expect(cipher.equals(Buffer.alloc(plain.length))).toBe(false);
    {
      await using img = await pool.openImage(name);
      expect((await img.stat()).size).toBe(SIZE);
      expect((await img.read(header, plain.length)).equals(cipher)).toBe(true);
      await img.encryption.load({ format, passphrase });
      expect((await img.stat()).size).toBe(encryptedSize);
      expect((await img.read(0, plain.length)).equals(plain)).toBe(true);
      // the bounds of I/O follow the encrypted size
      await img.write(Buffer.alloc(512, 1), encryptedSize - 512);
      await expect(img.write(Buffer.alloc(512, 1), encryptedSize)).rejects.toThrow();
      // loading twice is refused by librbd
      await expect(img.encryption.load({ format, passphrase })).rejects.toBeInstanceOf(ImageExists);
    }
    // python-rbd with the same passphrase reads the same plaintext and size
    const theirs = await pyRead(name, 0, plain.length, { format, passphrase });
    expect(Buffer.from(theirs.hex, 'hex').equals(plain)).toBe(true);
    expect(theirs.size).toBe(encryptedSize);
  });
});

test('a passphrase given as bytes works like the string', async () => {
  const name = await newImage('enc-bytes');
  const passphrase = `bytes-${process.pid}`;
  {
    await using img = await pool.openImage(name);
    await img.encryption.format({ format: 'luks2', passphrase: new Uint8Array(Buffer.from(passphrase)) });
    await img.write(Buffer.from('hello'), 0);
  }
  await using img = await pool.openImage(name);
  await img.encryption.load({ format: 'luks2', passphrase });
  expect((await img.read(0, 5)).toString()).toBe('hello');
});

test('the passphrase never appears in errors, util.inspect output or the logs', async () => {
  const name = await newImage('enc-secret');
  const secret = `S3cr3t-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const wrong = `Wr0ng-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const texts: string[] = [];
  const seen = (v: unknown): void => {
    texts.push(inspect(v, { depth: 10, showHidden: true }));
    if (v instanceof Error) texts.push(String(v.stack), v.message, JSON.stringify(v));
  };
  {
    await using img = await pool.openImage(name);
    await img.encryption.format({ format: 'luks2', passphrase: secret });
    seen(img);
    seen(img.encryption);
  }
  {
    // formatting through a read-only handle is refused: the error names the op, not the secret
    await using ro = await pool.openImage(name, { readOnly: true });
    const refused = await ro.encryption.format({ format: 'luks2', passphrase: secret }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    seen(refused);
  }
  await using img = await pool.openImage(name);
  const bad = await img.encryption.load({ format: 'luks2', passphrase: wrong }).catch((e: unknown) => e);
  expect(bad).toBeInstanceOf(PermissionDenied);
  expect(bad).toMatchObject({ code: 'EPERM', op: 'encryption.load', nativeOp: 'rbd_encryption_load', image: name });
  seen(bad);
  const wrongFormat = await img.encryption.load({ format: 'luks1', passphrase: secret }).catch((e: unknown) => e);
  expect(wrongFormat).toBeInstanceOf(Error);
  seen(wrongFormat);
  // argument errors do not echo it either
  const typeErr = await img.encryption.load({ format: 'luks3' as 'luks2', passphrase: secret }).catch((e: unknown) => e);
  expect(typeErr).toBeInstanceOf(RangeError);
  seen(typeErr);
  await img.encryption.load({ format: 'luks2', passphrase: secret });
  seen(img);
  for (const t of texts) {
    expect(t).not.toContain(secret);
    expect(t).not.toContain(wrong);
  }
  // nothing in the lab's logs (the daemons' and any client log written there)
  const hits: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.log$|log/.test(e.name)) {
        const body = await fsp.readFile(p, 'latin1').catch(() => '');
        if (body.includes(secret) || body.includes(wrong)) hits.push(p);
      }
    }
  };
  await walk(lab.dir);
  expect(hits).toEqual([]);
});

test('loadLayered (rbd_encryption_load2) is guarded by the capability', async () => {
  const name = await newImage('enc-layered');
  await using img = await pool.openImage(name);
  if (!capabilities().features.encryptionLoadLayered) {
    expect(capabilities().calls.rbd_encryption_load2).toBe(false);
    const err = await img.encryption.loadLayered([{ format: 'luks2', passphrase: 'x' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapabilityUnavailable);
    expect(err).toMatchObject({ code: 'ENOSYS', capability: 'encryptionLoadLayered', op: 'encryption.loadLayered' });
    return;
  }
  // a librbd with load2: a clone of an encrypted parent, formatted with a passphrase of its own
  await img.encryption.format({ format: 'luks2', passphrase: 'parent-pw' });
  await img.write(Buffer.from('from-parent'), 0);
  await img.snapshots.create('s');
  await img.snapshots.protect('s');
  const child = uniq('enc-child');
  await img.snapshots.clone('s', pool, child);
  created.unshift(child);
  {
    await using c = await pool.openImage(child);
    await c.encryption.format({ format: 'luks2', passphrase: 'child-pw' });
  }
  await using c = await pool.openImage(child);
  await c.encryption.loadLayered([
    { format: 'luks2', passphrase: 'child-pw' },
    { format: 'luks2', passphrase: 'parent-pw' },
  ]);
  expect((await c.read(0, 11)).toString()).toBe('from-parent');
});
