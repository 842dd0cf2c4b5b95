import {
  EVENT_TYPE_AIO_FLUSH,
  decodeClientList,
  decodeHeader,
  decodeJournalTail,
  encodeClientListInput,
} from '../../../lib/mirror/journal';

// Raw replies of the `journal` class on journal.21fa5fffac76 in the lab (a
// journal-mode primary after 64 writes, with site-b's rbd-mirror registered),
// and what `rbd journal status --format json` printed for it right after.
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const header = ['18', '04', 'ffffffffffffffff', '0000000000000000', '0000000000000000'].map(hex);
const clientList = hex(
  '0200000001019e000000000000001300000002010d0000000000000000000000000000000001017c000000040000000101180000000300000000000000020000000000000003000000000000000101180000000200000000000000020000000000000002000000000000000101180000000100000000000000020000000000000001000000000000000101180000000000000000000000020000000000000000000000000000000001' +
    '01ed0000002400000061656533386464392d353533312d343464332d383931362d3830636465653839623638323e000000020138000000010000000c00000031303238396632333062313401000000020000000000000000000000010000006002000000000000110000000000000001017c00000004000000010118000000010000000000000001000000000000004100000000000000010118000000000000000000000001000000000000004000000000000000010118000000030000000000000001000000000000003f00000000000000010118000000020000000000000001000000000000003e0000000000000000',
);

describe('journal header replies', () => {
  test('order, splay width, pool id (-1: the image pool) and object sets decode', () => {
    expect(decodeHeader(header)).toEqual({ order: 24, splayWidth: 4, poolId: -1, minimumSet: 0, activeSet: 0 });
  });

  test('a missing reply is a RangeError', () => {
    expect(() => decodeHeader(header.slice(0, 4))).toThrow(RangeError);
  });
});

describe('journal client_list reply', () => {
  const clients = decodeClientList(clientList);

  test('lists the master client and the peer rbd-mirror client, as rbd journal status does', () => {
    expect(clients.map((c) => [c.id, c.state])).toEqual([
      ['', 'connected'],
      ['aee38dd9-5531-44d3-8916-80cdee89b682', 'connected'],
    ]);
  });

  test('commit positions keep the stored order of the object positions', () => {
    expect(clients[1]?.commitPosition).toEqual([
      { objectNumber: 1, tagTid: 1, entryTid: 65 },
      { objectNumber: 0, tagTid: 1, entryTid: 64 },
      { objectNumber: 3, tagTid: 1, entryTid: 63 },
      { objectNumber: 2, tagTid: 1, entryTid: 62 },
    ]);
    expect(clients[0]?.commitPosition.map((p) => p.entryTid)).toEqual([3, 2, 1, 0]);
  });

  test('client data stays raw bytes', () => {
    expect(clients[0]?.data.toString('hex')).toBe('02010d00000000000000000000000000000000');
    expect(clients[1]?.data.length).toBe(0x3e);
  });

  test('a truncated reply is a RangeError, not garbage', () => {
    expect(() => decodeClientList(clientList.subarray(0, 60))).toThrow(/truncated/);
  });

  test('an unknown client state maps to unknown(n)', () => {
    const b = Buffer.from(clientList);
    b[4 + 6 + 0x9e - 1] = 7; // the first client's last byte: its state
    expect(decodeClientList(b)[0]?.state).toBe('unknown(7)');
  });
});

describe('client_list input', () => {
  test('encodes start_after as a length-prefixed string and max_return as a u64', () => {
    expect(encodeClientListInput('ab', 256).toString('hex')).toBe('020000006162' + '0001000000000000');
  });
});

/** One journal entry as journal/Entry.cc encodes it, with a librbd EventEntry payload of `eventType`. */
function entry(tagTid: number, entryTid: number, eventType: number, payload = 0): Buffer {
  const ev = Buffer.alloc(6 + 4 + payload);
  ev.writeUInt8(5, 0);
  ev.writeUInt8(1, 1);
  ev.writeUInt32LE(4 + payload, 2);
  ev.writeUInt32LE(eventType, 6);
  const b = Buffer.alloc(29 + ev.length + 4);
  Buffer.from([0x93, 0x97, 0x58, 0x53, 0x26, 0x59, 0x41, 0x31]).copy(b, 0);
  b.writeUInt8(1, 8);
  b.writeBigUInt64LE(BigInt(entryTid), 9);
  b.writeBigUInt64LE(BigInt(tagTid), 17);
  b.writeUInt32LE(ev.length, 25);
  ev.copy(b, 29);
  return b;
}

describe('decodeJournalTail', () => {
  const obj = Buffer.concat([entry(0, 1, 1, 100), entry(0, 5, 1, 40), entry(0, 9, EVENT_TYPE_AIO_FLUSH)]);

  test('a whole object: every entry, in order, with its event type', () => {
    expect(decodeJournalTail(obj, true)).toEqual([
      { tagTid: 0, entryTid: 1, eventType: 1 },
      { tagTid: 0, entryTid: 5, eventType: 1 },
      { tagTid: 0, entryTid: 9, eventType: 2 },
    ]);
  });

  test('a tail that starts inside an entry: the entries whose chain ends at the end', () => {
    const tail = obj.subarray(50);
    expect(decodeJournalTail(tail, false).map((e) => e.entryTid)).toEqual([5, 9]);
  });

  test('a preamble inside a payload does not start a false chain', () => {
    const withMagic = entry(0, 4, 1, 64);
    // The payload holds a preamble and version byte followed by lengths that run past the end.
    Buffer.from([0x93, 0x97, 0x58, 0x53, 0x26, 0x59, 0x41, 0x31, 1]).copy(withMagic, 40);
    withMagic.writeUInt32LE(0x7fffffff, 40 + 25);
    const tail = Buffer.concat([withMagic, entry(0, 6, EVENT_TYPE_AIO_FLUSH)]).subarray(10);
    expect(decodeJournalTail(tail, false).map((e) => e.entryTid)).toEqual([6]);
  });

  test('empty, or bytes that are no entries: nothing', () => {
    expect(decodeJournalTail(Buffer.alloc(0), true)).toEqual([]);
    expect(decodeJournalTail(Buffer.from('not a journal'), false)).toEqual([]);
  });
});
