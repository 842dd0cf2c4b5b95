/** The pure parts of replication lag: what is behind a commit position, per-site figures, the worst site, the CLI cell. */
import { decodeJournalTailDetail, EVENT_TYPE_AIO_FLUSH, type JournalEntryDetail } from '../../../lib/mirror/journal';
import { journalBehind, siteLag, worstFigures } from '../../../lib/mirror/lag';
import type { MirrorSiteStatus } from '../../../lib/mirror/status';
import { parseMirrorDescription } from '../../../lib/mirror/status';
import { lagCell } from '../../../lib/cli/format';

const e = (tagTid: number, entryTid: number, eventType = 1, timestamp: Date | null = new Date(1000 * entryTid), dataLength = 100): JournalEntryDetail => ({
  tagTid,
  entryTid,
  eventType,
  dataLength,
  timestamp,
});
const at = new Date(100_000);

function site(description: string, lastUpdate = new Date(90_000)): MirrorSiteStatus {
  return { mirrorUuid: 'u-b', siteName: 'site-b', state: 'replaying', description, up: true, lastUpdate, replay: parseMirrorDescription(description, 'replaying') };
}

describe('journalBehind', () => {
  test('counts the entries after the commit position, their bytes, and the oldest write (flushes are no writes)', () => {
    const entries = [e(0, 3), e(0, 4), e(0, 5, EVENT_TYPE_AIO_FLUSH, new Date(1)), e(0, 6)];
    expect(journalBehind(entries, { tagTid: 0, entryTid: 4, objectNumber: 0 })).toEqual({
      entriesBehind: 2,
      bytesBehind: 200,
      oldestUnreplicatedWrite: new Date(6000),
      timesKnown: true,
    });
  });
  test('nothing behind', () => {
    expect(journalBehind([e(0, 1), e(0, 2)], { tagTid: 0, entryTid: 2, objectNumber: 0 })).toMatchObject({ entriesBehind: 0, bytesBehind: 0, oldestUnreplicatedWrite: null });
  });
  test('a gap after the commit position (entries not read) makes it unknown, not a smaller count', () => {
    expect(journalBehind([e(0, 7), e(0, 8)], { tagTid: 0, entryTid: 4, objectNumber: 0 })).toBeNull();
    expect(journalBehind([e(0, 5), e(0, 7)], { tagTid: 0, entryTid: 4, objectNumber: 0 })).toBeNull();
  });
  test('a newer tag starts at entry 0', () => {
    expect(journalBehind([e(0, 5), e(1, 0), e(1, 1)], { tagTid: 0, entryTid: 5, objectNumber: 0 })?.entriesBehind).toBe(2);
    expect(journalBehind([e(1, 1)], { tagTid: 0, entryTid: 5, objectNumber: 0 })).toBeNull();
  });
  test('a write without a timestamp: its time is unknown', () => {
    expect(journalBehind([e(0, 5, 1, null)], { tagTid: 0, entryTid: 4, objectNumber: 0 })).toMatchObject({ oldestUnreplicatedWrite: null, timesKnown: false });
  });
});

describe('decodeJournalTailDetail', () => {
  test('reads the payload size and the EventEntry metadata timestamp', () => {
    // EventEntry: ENCODE_START(5,1,len=4) u32 type; metadata ENCODE_START(1,1,len=8) utime_t(sec, nsec)
    const ev = Buffer.alloc(6 + 4 + 6 + 8);
    ev.writeUInt8(5, 0);
    ev.writeUInt8(1, 1);
    ev.writeUInt32LE(4, 2);
    ev.writeUInt32LE(1, 6);
    ev.writeUInt8(1, 10);
    ev.writeUInt8(1, 11);
    ev.writeUInt32LE(8, 12);
    ev.writeUInt32LE(1_796_000_000, 16);
    ev.writeUInt32LE(250_000_000, 20);
    const b = Buffer.alloc(29 + ev.length + 4);
    Buffer.from([0x93, 0x97, 0x58, 0x53, 0x26, 0x59, 0x41, 0x31]).copy(b, 0);
    b.writeUInt8(1, 8);
    b.writeBigUInt64LE(7n, 9);
    b.writeBigUInt64LE(2n, 17);
    b.writeUInt32LE(ev.length, 25);
    ev.copy(b, 29);
    expect(decodeJournalTailDetail(b, true)).toEqual([
      { tagTid: 2, entryTid: 7, eventType: 1, dataLength: ev.length, timestamp: new Date(1_796_000_000_250) },
    ]);
    // without the metadata block: no timestamp
    const short = Buffer.from(b);
    short.writeUInt8(9, 29 + 10);
    expect(decodeJournalTailDetail(short, true)[0]?.timestamp).toBeNull();
  });
});

describe('siteLag', () => {
  test('snapshot mode: the csi-addons figures from the description; dataAsOf is the last sync', () => {
    const s = site('replaying, {"bytes_per_second":0.0,"last_snapshot_bytes":4096,"last_snapshot_sync_seconds":2,"local_snapshot_timestamp":95,"remote_snapshot_timestamp":96,"replay_state":"idle"}');
    expect(siteLag(s, 'snapshot', at)).toMatchObject({
      lastSyncTime: new Date(95_000),
      lastSyncDuration: 2,
      lastSyncBytes: 4096,
      entriesBehind: null,
      dataAsOf: new Date(95_000),
      lagMs: 5000,
      source: 'status',
    });
    expect(siteLag(s, 'snapshot', at, { lastSync: new Date(97_000) })).toMatchObject({ lastSyncTime: new Date(97_000), lagMs: 3000, source: 'peer-snapshot' });
  });
  test('snapshot mode before any sync, or a description without figures (16.2 omits none; older ones may): null', () => {
    const s = site('replaying, {"bytes_per_second":0.0,"remote_snapshot_timestamp":96,"replay_state":"syncing"}');
    expect(siteLag(s, 'snapshot', at)).toMatchObject({ lastSyncTime: null, lastSyncDuration: null, lastSyncBytes: null, lagMs: null });
    expect(siteLag(site('split-brain detected'), 'snapshot', at)).toMatchObject({ lagMs: null, source: null });
  });
  test('journal mode: the journal facts, else the status count (caught up then: data as of the status time)', () => {
    const s = site('replaying, {"bytes_per_second":0.0,"entries_behind_primary":0,"entries_per_second":0.0,"non_primary_position":{},"primary_position":{}}');
    expect(siteLag(s, 'journal', at)).toMatchObject({ entriesBehind: 0, bytesBehind: null, dataAsOf: new Date(90_000), lagMs: 10_000, source: 'status' });
    const behind = site('replaying, {"entries_behind_primary":3,"non_primary_position":{},"primary_position":{}}');
    expect(siteLag(behind, 'journal', at)).toMatchObject({ entriesBehind: 3, dataAsOf: null, lagMs: null });
    const j = { entriesBehind: 2, bytesBehind: 300, oldestUnreplicatedWrite: new Date(99_000), timesKnown: true };
    expect(siteLag(s, 'journal', at, { journal: j })).toMatchObject({ entriesBehind: 2, bytesBehind: 300, dataAsOf: new Date(99_000), lagMs: 1000, source: 'journal' });
    const none = { entriesBehind: 0, bytesBehind: 0, oldestUnreplicatedWrite: null, timesKnown: true };
    expect(siteLag(s, 'journal', at, { journal: none })).toMatchObject({ lagMs: 0, dataAsOf: at });
  });
});

test('worstFigures: the largest lag, an unknown one first', () => {
  const known = (lagMs: number) => ({ ...siteLag(site('x'), 'journal', at), lagMs, dataAsOf: new Date(at.getTime() - lagMs) });
  expect(worstFigures([known(5), known(50), known(7)]).lagMs).toBe(50);
  expect(worstFigures([known(5), { ...known(1), lagMs: null, dataAsOf: null }]).lagMs).toBeNull();
  expect(worstFigures([]).lagMs).toBeNull();
});

test('lagCell: seconds, minutes, entries behind, - when unknown', () => {
  const l = (lagMs: number | null, entriesBehind: number | null = null) =>
    ({ lagMs, entriesBehind }) as unknown as Parameters<typeof lagCell>[0];
  expect(lagCell(l(1500))).toBe('1.5s');
  expect(lagCell(l(1500, 3))).toBe('1.5s (3 behind)');
  expect(lagCell(l(120_000))).toBe('2.0m');
  expect(lagCell(l(null))).toBe('-');
  expect(lagCell(undefined)).toBe('-');
});
