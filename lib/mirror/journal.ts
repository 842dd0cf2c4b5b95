/**
 * The image journal's header, as `rbd journal info` / `rbd journal status`
 * show it. librbd has no C call for it: the rbd CLI reads the header object
 * `journal.<image id>` through the `journal` object class (cls_journal), and
 * so does image.mirror.journalStatus() (native `journalRead`). This file
 * encodes the class methods' inputs and decodes their replies, which use
 * Ceph's little-endian encoding (src/cls/journal/cls_journal_types.cc).
 */
import type { JournalPosition } from './status';

/** A client registered with the journal: the image itself ('') and each peer's rbd-mirror (its mirror uuid). */
export interface JournalClient {
  /** '' for the local image (the master client), a peer's mirror uuid for rbd-mirror. */
  id: string;
  /** The client's opaque registration data (librbd's ClientData encoding). */
  data: Buffer;
  /** Where the client has committed up to: one position per active journal object (splay). */
  commitPosition: JournalPosition[];
  /** 'disconnected' when it fell too far behind and was cut off. */
  state: 'connected' | 'disconnected' | `unknown(${number})`;
}

/** What `rbd journal info` and `rbd journal status` report together. */
export interface JournalStatus {
  /** The journal id: the image id. */
  journalId: string;
  /** `journal.<id>`, in the image's pool. */
  headerOid: string;
  /** `journal_data.<pool id>.<id>.`, the prefix of the journal's data objects. */
  objectOidPrefix: string;
  /** Journal objects are 2^order bytes. */
  order: number;
  /** How many journal objects are appended to at once. */
  splayWidth: number;
  /** The pool holding the journal's data objects (the image's pool unless a journal pool was set). */
  objectPool: string;
  /** The oldest object set still in use. */
  minimumSet: number;
  /** The object set being appended to. */
  activeSet: number;
  /** Registered clients, sorted by id as the journal stores them. */
  clients: JournalClient[];
}

/** The number of clients a `client_list` call returns at most (JOURNAL_MAX_RETURN). */
export const CLIENT_PAGE = 256;

/** Input of `client_list`: encode(string start_after), encode(u64 max_return). */
export function encodeClientListInput(startAfter: string, maxReturn = CLIENT_PAGE): Buffer {
  const id = Buffer.from(startAfter, 'utf8');
  const b = Buffer.alloc(4 + id.length + 8);
  b.writeUInt32LE(id.length, 0);
  id.copy(b, 4);
  b.writeBigUInt64LE(BigInt(maxReturn), 4 + id.length);
  return b;
}

/** A bounds-checked reader of Ceph's encoding; a short or malformed reply is a RangeError naming what. */
export class CephDecoder {
  #b: Buffer;
  #at = 0;

  constructor(b: Buffer, readonly what: string) {
    this.#b = b;
  }

  get offset(): number {
    return this.#at;
  }

  #take(n: number): number {
    if (n < 0 || this.#at + n > this.#b.length) {
      throw new RangeError(`${this.what}: truncated reply (${n} bytes wanted at offset ${this.#at} of ${this.#b.length})`);
    }
    const at = this.#at;
    this.#at += n;
    return at;
  }

  u8(): number {
    return this.#b.readUInt8(this.#take(1));
  }

  u32(): number {
    return this.#b.readUInt32LE(this.#take(4));
  }

  /** A u64 as a Number (journal numbers stay far below 2^53). */
  u64(): number {
    return Number(this.#b.readBigUInt64LE(this.#take(8)));
  }

  i64(): number {
    return Number(this.#b.readBigInt64LE(this.#take(8)));
  }

  bytes(): Buffer {
    const n = this.u32();
    const at = this.#take(n);
    return Buffer.from(this.#b.subarray(at, at + n));
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  /** ENCODE_START/DECODE_START: a versioned struct; `body` reads it, bytes of newer versions are skipped. */
  struct<T>(body: (d: CephDecoder) => T): T {
    this.u8(); // struct_v
    this.u8(); // struct_compat
    const len = this.u32();
    const end = this.#at + len;
    if (end > this.#b.length) throw new RangeError(`${this.what}: truncated struct (${len} bytes at offset ${this.#at})`);
    const v = body(this);
    if (this.#at > end) throw new RangeError(`${this.what}: struct overran its length`);
    this.#at = end;
    return v;
  }

  /** A std::set / std::list: u32 count, then the elements. */
  list<T>(element: (d: CephDecoder) => T): T[] {
    const n = this.u32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(element(this));
    return out;
  }
}

function decodePosition(d: CephDecoder): JournalPosition {
  return d.struct((s) => {
    const objectNumber = s.u64();
    const tagTid = s.u64();
    const entryTid = s.u64();
    return { objectNumber, tagTid, entryTid };
  });
}

const CLIENT_STATES = ['connected', 'disconnected'] as const;

function decodeClient(d: CephDecoder): JournalClient {
  return d.struct((s) => {
    const id = s.string();
    const data = s.bytes();
    const commitPosition = s.struct((p) => p.list(decodePosition));
    const n = s.u8();
    return { id, data, commitPosition, state: CLIENT_STATES[n] ?? (`unknown(${n})` as const) };
  });
}

/** The reply of `client_list`: std::set<cls::journal::Client>. */
export function decodeClientList(reply: Buffer): JournalClient[] {
  return new CephDecoder(reply, 'journal client_list').list(decodeClient);
}

/** The replies of get_order, get_splay_width, get_pool_id, get_minimum_set, get_active_set. */
export function decodeHeader(replies: readonly Buffer[]): {
  order: number;
  splayWidth: number;
  poolId: number;
  minimumSet: number;
  activeSet: number;
} {
  const [order, splay, pool, min, active] = replies;
  if (!order || !splay || !pool || !min || !active) throw new RangeError('journal header: missing replies');
  return {
    order: new CephDecoder(order, 'journal get_order').u8(),
    splayWidth: new CephDecoder(splay, 'journal get_splay_width').u8(),
    poolId: new CephDecoder(pool, 'journal get_pool_id').i64(),
    minimumSet: new CephDecoder(min, 'journal get_minimum_set').u64(),
    activeSet: new CephDecoder(active, 'journal get_active_set').u64(),
  };
}

/** The class methods decodeHeader expects the replies of, in order. */
export const HEADER_METHODS = ['get_order', 'get_splay_width', 'get_pool_id', 'get_minimum_set', 'get_active_set'] as const;

/** An entry read back from a journal data object (journal/Entry.cc). */
export interface JournalEntryHeader {
  tagTid: number;
  entryTid: number;
  /** The librbd event type (librbd/journal/Types.h EventType): 2 is AioFlush; null when the payload is too short. */
  eventType: number | null;
}

/** Where the journal has been appended up to, from the tails of the active object set. */
export interface JournalAppended {
  /** The newest entry appended (any event), or null when the journal holds none. */
  newest: JournalPosition | null;
  /** The newest flush event appended (what `image.flush()` adds on the lock owner), or null. */
  newestFlush: JournalPosition | null;
}

/** librbd's EVENT_TYPE_AIO_FLUSH. */
export const EVENT_TYPE_AIO_FLUSH = 2;
const PREAMBLE = Buffer.from([0x93, 0x97, 0x58, 0x53, 0x26, 0x59, 0x41, 0x31]); // 0x3141592653589793, little-endian
/** preamble u64, version u8, entry tid u64, tag tid u64, data length u32 … data … crc u32. */
const ENTRY_OVERHEAD = 8 + 1 + 8 + 8 + 4 + 4;

/** A journal entry with what replication lag needs: its payload size and when librbd appended it. */
export interface JournalEntryDetail extends JournalEntryHeader {
  /** The entry's payload bytes (the librbd EventEntry). */
  dataLength: number;
  /**
   * When librbd made the event: the EventEntry's metadata block (ENCODE_START 1, utime_t) after the
   * event's own block; null when the payload holds none (or not in that shape).
   */
  timestamp: Date | null;
}

/** The EventEntry metadata timestamp of the payload at `p` (length `len`), or null. */
function eventTimestamp(b: Buffer, p: number, len: number): Date | null {
  if (len < 6) return null;
  const eventLen = b.readUInt32LE(p + 2);
  const meta = p + 6 + eventLen;
  if (meta + 6 + 8 > p + len || b[meta] !== 1 || b.readUInt32LE(meta + 2) < 8) return null;
  const sec = b.readUInt32LE(meta + 6);
  const nsec = b.readUInt32LE(meta + 10);
  return sec === 0 ? null : new Date(sec * 1000 + Math.floor(nsec / 1e6));
}

/** The entry at `at`, or null when the bytes there are not one ending at or before `end`. */
function entryAt(b: Buffer, at: number, end: number): { entry: JournalEntryDetail; next: number } | null {
  if (at + ENTRY_OVERHEAD > end || !b.subarray(at, at + 8).equals(PREAMBLE) || b[at + 8] !== 1) return null;
  const entryTid = Number(b.readBigUInt64LE(at + 9));
  const tagTid = Number(b.readBigUInt64LE(at + 17));
  const len = b.readUInt32LE(at + 25);
  const next = at + ENTRY_OVERHEAD + len;
  if (next > end) return null;
  // The payload is a librbd EventEntry: ENCODE_START (u8 v, u8 compat, u32 length), then the u32 event type.
  const eventType = len >= 10 ? b.readUInt32LE(at + 29 + 6) : null;
  return { entry: { tagTid, entryTid, eventType, dataLength: len, timestamp: eventTimestamp(b, at + 29, len) }, next };
}

/**
 * The entries of a journal object's tail: `tail` holds its last bytes, ending
 * on an entry boundary; `whole` when it is the entire object. Entries are found
 * from the first offset whose chain of entries (preamble, version, lengths)
 * ends exactly at the end of the tail.
 */
export function decodeJournalTail(tail: Buffer, whole: boolean): JournalEntryHeader[] {
  return decodeJournalTailDetail(tail, whole).map(({ tagTid, entryTid, eventType }) => ({ tagTid, entryTid, eventType }));
}

/** decodeJournalTail with each entry's payload size and timestamp. */
export function decodeJournalTailDetail(tail: Buffer, whole: boolean): JournalEntryDetail[] {
  const starts: number[] = [];
  if (whole) starts.push(0);
  else for (let at = tail.indexOf(PREAMBLE); at >= 0; at = tail.indexOf(PREAMBLE, at + 1)) starts.push(at);
  for (const start of starts) {
    const out: JournalEntryDetail[] = [];
    let at = start;
    while (at < tail.length) {
      const e = entryAt(tail, at, tail.length);
      if (e === null) break;
      out.push(e.entry);
      at = e.next;
    }
    if (at === tail.length) return out;
  }
  return [];
}
