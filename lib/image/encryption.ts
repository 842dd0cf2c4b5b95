/**
 * Encryption: LUKS on an image (`rbd encryption format`, and what `rbd device
 * map -o encryption-passphrase-file=...` or the qemu driver do to open one),
 * through librbd's rbd_encryption_format / rbd_encryption_load (/ _load2).
 *
 * format() writes a LUKS header at the start of the image; from then on the
 * handle reads and writes plaintext through librbd's crypto layer, and the
 * objects hold ciphertext. Another handle sees ciphertext (and the header)
 * until it load()s the passphrase. The header takes space: after format() or
 * load(), stat().size is the image's size minus the header (what the handle
 * can address), and the bounds of reads and writes follow it.
 *
 * The passphrase (a string, taken as UTF-8, or bytes) is copied into native
 * memory for the one call and wiped after it; it is never kept by the SDK,
 * never put into an error, a log line or anything `util.inspect` shows.
 */
import { ENCRYPTION_ALGORITHM, ENCRYPTION_FORMAT } from '../core/constants';
import type { Image } from './image';
import { native, type NativeBinding } from '../core/native';
import { requireCapability } from '../cluster/capabilities';
import { closedError } from '../core/errors';

const api = (): NativeBinding['encryption'] => native().encryption;

/** An encryption format: LUKS version 1 or 2. */
export type EncryptionFormat = 'luks1' | 'luks2';

/** The cipher of a format(): AES-128 or AES-256 (XTS mode, as librbd sets it up). */
export type EncryptionAlgorithm = 'aes-128' | 'aes-256';

/** Options of `image.encryption.format()`. */
export interface EncryptionFormatOptions {
  /** LUKS version 1 or 2. */
  format: EncryptionFormat;
  /** The passphrase: a string (UTF-8) or bytes. Not kept. */
  passphrase: string | Uint8Array;
  /** The cipher. Default 'aes-256', like `rbd encryption format`. */
  algorithm?: EncryptionAlgorithm;
}

/** Options of `image.encryption.load()`: one layer's format and passphrase. */
export interface EncryptionLoadOptions {
  /** The format the layer was formatted with. */
  format: EncryptionFormat;
  /** The passphrase: a string (UTF-8) or bytes. Not kept. */
  passphrase: string | Uint8Array;
}

const FORMATS: readonly EncryptionFormat[] = ['luks1', 'luks2'];

function formatCode(v: unknown, what: string): number {
  if (typeof v !== 'string') throw new TypeError(`${what} must be 'luks1' or 'luks2'`);
  if (!(FORMATS as readonly string[]).includes(v)) throw new RangeError(`${what} must be 'luks1' or 'luks2'`);
  return ENCRYPTION_FORMAT.value(v as EncryptionFormat);
}

function algorithmCode(v: unknown): number {
  if (v === undefined) return ENCRYPTION_ALGORITHM.value('aes-256');
  if (typeof v !== 'string') throw new TypeError(`algorithm must be 'aes-128' or 'aes-256'`);
  if (v === 'aes-128' || v === 'aes-256') return ENCRYPTION_ALGORITHM.value(v);
  throw new RangeError(`algorithm must be 'aes-128' or 'aes-256'`);
}

/** The passphrase as a Buffer of its own (never described in an error: its value is secret). */
function passphraseBytes(v: unknown, what: string): Buffer {
  if (typeof v === 'string') {
    if (v.length === 0) throw new RangeError(`${what} must not be empty`);
    if (v.includes('\0')) throw new RangeError(`${what} must not contain NUL bytes (pass bytes for a binary passphrase)`);
    return Buffer.from(v, 'utf8');
  }
  if (v instanceof Uint8Array) {
    if (v.byteLength === 0) throw new RangeError(`${what} must not be empty`);
    return Buffer.from(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  }
  throw new TypeError(`${what} must be a string or a Uint8Array`);
}

function checkObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

/** LUKS encryption of an image (`image.encryption`). */
export class ImageEncryption {
  readonly #image: Image;

  /** @internal Made by the Image; reach it as `image.encryption`. */
  constructor(image: Image) {
    this.#image = image;
  }

  #checkOpen(op: string): void {
    if (this.#image.closed) throw closedError({ op, pool: this.#image.pool.name, image: this.#image.name }, 'image');
  }

  /**
   * Format the image with LUKS (like `rbd encryption format`): writes the
   * header (the image's existing data becomes unreadable garbage) and loads
   * the encryption on this handle. Needs a writable handle without a loaded
   * encryption; rejects with ImageBusy while another client has the image open.
   */
  async format(options: EncryptionFormatOptions): Promise<void> {
    this.#checkOpen('encryption.format'); // a closed handle fails fast, before any key derivation is set up
    const o = checkObject(options, 'options');
    const format = formatCode(o.format, 'format');
    const algorithm = algorithmCode(o.algorithm);
    const secret = passphraseBytes(o.passphrase, 'passphrase');
    try {
      await this.#image._call('encryption.format', (n) => api().format(n, format, algorithm, secret));
    } finally {
      secret.fill(0);
      this.#image._sizeChanged();
    }
  }

  /**
   * Load the encryption of a formatted image on this handle: from then on its
   * reads and writes are plaintext. A wrong passphrase rejects with
   * PermissionDenied (EPERM), without loading anything.
   */
  async load(options: EncryptionLoadOptions): Promise<void> {
    const o = checkObject(options, 'options');
    const format = formatCode(o.format, 'format');
    const secret = passphraseBytes(o.passphrase, 'passphrase');
    try {
      await this.#image._call('encryption.load', (n) => api().load(n, format, secret));
    } finally {
      secret.fill(0);
      this.#image._sizeChanged();
    }
  }

  /**
   * Load the encryption of a layered image and its ancestors (a clone whose
   * parent is encrypted with other passphrases): `layers[0]` is this image's,
   * `layers[1]` its parent's, and so on (rbd_encryption_load2). Needs librbd
   * 1.17 (Ceph 18.2) or later: on 16.2 it rejects with CapabilityUnavailable
   * (`capabilities().features.encryptionLoadLayered` is false).
   */
  async loadLayered(layers: EncryptionLoadOptions[]): Promise<void> {
    if (!Array.isArray(layers)) throw new TypeError('layers must be an array');
    if (layers.length === 0) throw new RangeError('layers must not be empty');
    const specs: Array<[number, Buffer]> = layers.map((l, i) => {
      const o = checkObject(l, `layers[${i}]`);
      return [formatCode(o.format, `layers[${i}].format`), passphraseBytes(o.passphrase, `layers[${i}].passphrase`)];
    });
    try {
      this.#checkOpen('encryption.loadLayered');
      requireCapability('encryptionLoadLayered', { op: 'encryption.loadLayered', pool: this.#image.pool.name, image: this.#image.name });
      const load2 = api().load2;
      if (!load2) throw new Error('unreachable: rbd_encryption_load2 reported but not exported');
      await this.#image._call('encryption.loadLayered', (n) => load2(n, specs));
    } finally {
      for (const [, s] of specs) s.fill(0);
      this.#image._sizeChanged();
    }
  }
}
