import {
  mirrorImageMode,
  mirrorImageState,
  mirrorSiteStatuses,
  mirrorStatusState,
  parseMirrorDescription,
  type MirrorPeerRef,
} from '../../../lib/mirror/status';
import type { NativeMirrorSiteStatus } from '../../../lib/core/native';

// Descriptions as `rbd mirror image status --format json` showed them in the
// two-site lab (Ceph 16.2.15), unless marked otherwise.
const lab = {
  journalJustEnabled:
    'replaying, {"bytes_per_second":0.0,"entries_behind_primary":3,"entries_per_second":0.0,"non_primary_position":{},"primary_position":{"entry_tid":3,"object_number":3,"tag_tid":1}}',
  journalReplaying:
    'replaying, {"bytes_per_second":106003.9,"entries_behind_primary":0,"entries_per_second":25.9,"non_primary_position":{"entry_tid":513,"object_number":1,"tag_tid":2},"primary_position":{"entry_tid":513,"object_number":1,"tag_tid":2}}',
  journalAfterResync:
    'replaying, {"bytes_per_second":35.0,"entries_behind_primary":0,"entries_per_second":0.4,"non_primary_position":{"entry_tid":3,"object_number":3,"tag_tid":5},"primary_position":{"entry_tid":3,"object_number":3,"tag_tid":5}}',
  snapshotBeforeFirstSync:
    'replaying, {"bytes_per_second":0.0,"bytes_per_snapshot":0.0,"last_snapshot_bytes":0,"last_snapshot_sync_seconds":0,"remote_snapshot_timestamp":1795313383,"replay_state":"idle"}',
  snapshotIdle:
    'replaying, {"bytes_per_second":3322675.2,"bytes_per_snapshot":33226752.0,"last_snapshot_bytes":33226752,"last_snapshot_sync_seconds":0,"local_snapshot_timestamp":1795313383,"remote_snapshot_timestamp":1795313383,"replay_state":"idle"}',
  primary: 'local image is primary',
  notFound: 'status not found',
  splitBrain: 'split-brain detected',
  splitBrainSnapshot: 'split-brain',
};

// Not seen in the lab (syncs there finish between two 30 s status updates):
// the shape rbd-mirror's snapshot Replayer writes while it copies a snapshot.
const snapshotSyncing =
  'replaying, {"bytes_per_second":446028.87,"bytes_per_snapshot":559983.04,"last_snapshot_bytes":4030,"last_snapshot_sync_seconds":9087,"local_snapshot_timestamp":1674425567,"remote_snapshot_timestamp":1678125999,"replay_state":"syncing","syncing_percent":31,"syncing_snapshot_timestamp":1674325567}';

describe('parseMirrorDescription: journal mode', () => {
  test('a replaying journal image reports positions, entries behind and speeds', () => {
    expect(parseMirrorDescription(lab.journalReplaying, 'replaying')).toEqual({
      kind: 'journal',
      entriesBehindPrimary: 0,
      primaryPosition: { tagTid: 2, entryTid: 513, objectNumber: 1 },
      nonPrimaryPosition: { tagTid: 2, entryTid: 513, objectNumber: 1 },
      bytesPerSecond: 106003.9,
      entriesPerSecond: 25.9,
    });
  });

  test('an empty non-primary position (nothing replayed yet) is null', () => {
    const r = parseMirrorDescription(lab.journalJustEnabled, 'replaying');
    expect(r).toMatchObject({ kind: 'journal', entriesBehindPrimary: 3, nonPrimaryPosition: null });
    expect(r).toMatchObject({ primaryPosition: { tagTid: 1, entryTid: 3, objectNumber: 3 } });
  });

  test('a resynced image replays under a new tag', () => {
    expect(parseMirrorDescription(lab.journalAfterResync, 'replaying')).toMatchObject({
      kind: 'journal',
      primaryPosition: { tagTid: 5 },
      nonPrimaryPosition: { tagTid: 5, entryTid: 3, objectNumber: 3 },
      bytesPerSecond: 35,
      entriesPerSecond: 0.4,
    });
  });

  test('seconds_until_synced of newer releases is kept', () => {
    const d = 'replaying, {"bytes_per_second":10.0,"entries_behind_primary":7,"entries_per_second":1.0,"non_primary_position":{},"primary_position":{},"seconds_until_synced":7}';
    expect(parseMirrorDescription(d)).toMatchObject({ kind: 'journal', secondsUntilSynced: 7, primaryPosition: null });
  });
});

describe('parseMirrorDescription: snapshot mode', () => {
  test('an idle snapshot replayer reports both snapshot timestamps as Dates', () => {
    expect(parseMirrorDescription(lab.snapshotIdle, 'replaying')).toEqual({
      kind: 'snapshot',
      replayState: 'idle',
      localSnapshotTimestamp: new Date(1795313383 * 1000),
      remoteSnapshotTimestamp: new Date(1795313383 * 1000),
      bytesPerSecond: 3322675.2,
      bytesPerSnapshot: 33226752,
      lastSnapshotBytes: 33226752,
      lastSnapshotSyncSeconds: 0,
    });
  });

  test('before the first snapshot is synced the local timestamp is null', () => {
    expect(parseMirrorDescription(lab.snapshotBeforeFirstSync, 'replaying')).toMatchObject({
      kind: 'snapshot',
      replayState: 'idle',
      localSnapshotTimestamp: null,
      remoteSnapshotTimestamp: new Date(1795313383 * 1000),
    });
  });

  test('a syncing snapshot replayer reports the percentage and the snapshot being copied', () => {
    expect(parseMirrorDescription(snapshotSyncing, 'replaying')).toMatchObject({
      kind: 'snapshot',
      replayState: 'syncing',
      syncingPercent: 31,
      syncingSnapshotTimestamp: new Date(1674325567 * 1000),
      localSnapshotTimestamp: new Date(1674425567 * 1000),
      remoteSnapshotTimestamp: new Date(1678125999 * 1000),
    });
  });

  test('optional numbers that are absent stay absent', () => {
    const r = parseMirrorDescription('replaying, {"replay_state":"syncing"}');
    expect(r).toEqual({
      kind: 'snapshot',
      replayState: 'syncing',
      localSnapshotTimestamp: null,
      remoteSnapshotTimestamp: null,
      bytesPerSecond: 0,
    });
  });
});

describe('parseMirrorDescription: descriptions without replay data', () => {
  test.each([
    ['primary', lab.primary, 'stopped'],
    ['status not found', lab.notFound, 'unknown'],
    ['split-brain (journal)', lab.splitBrain, 'error'],
    ['split-brain (snapshot)', lab.splitBrainSnapshot, 'error'],
    ['bootstrapping', 'bootstrapping, IMAGE_COPY/COPY_OBJECT 45%', 'syncing'],
  ] as const)('%s → null', (_name, d, state) => {
    expect(parseMirrorDescription(d, state)).toBeNull();
  });

  test('JSON in an error description is not taken for replay data', () => {
    expect(parseMirrorDescription(lab.snapshotIdle, 'error')).toBeNull();
  });

  test.each([
    ['truncated JSON', 'replaying, {"bytes_per_second":0.0,"entries_behind'],
    ['braces without JSON', 'error {not json}'],
    ['a JSON array', 'replaying, [1,2]'],
    ['JSON of neither kind', 'replaying, {"foo":1}'],
    ['entries behind that is not a number', 'replaying, {"entries_behind_primary":"3"}'],
    ['an empty string', ''],
  ])('%s → null, without throwing', (_name, d) => {
    expect(parseMirrorDescription(d, 'replaying')).toBeNull();
  });

  test('a non-string description → null', () => {
    expect(parseMirrorDescription(undefined as unknown as string)).toBeNull();
  });

  test('positions with missing fields are null', () => {
    const d = 'replaying, {"entries_behind_primary":1,"primary_position":{"entry_tid":3},"non_primary_position":[]}';
    expect(parseMirrorDescription(d)).toMatchObject({ primaryPosition: null, nonPrimaryPosition: null });
  });
});

describe('state and mode names', () => {
  test('status states are named as the CLI prints them', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(mirrorStatusState)).toEqual([
      'unknown',
      'error',
      'syncing',
      'starting_replay',
      'replaying',
      'stopping_replay',
      'stopped',
    ]);
  });

  test('unknown numbers map to unknown(n)', () => {
    expect(mirrorStatusState(9)).toBe('unknown(9)');
    expect(mirrorImageState(7)).toBe('unknown(7)');
    expect(mirrorImageMode(2)).toBe('unknown(2)');
  });

  test("image state 3 is 'creating' (cls_rbd's state of a copy rbd-mirror is still creating, seen in the lab)", () => {
    expect([0, 1, 2, 3].map(mirrorImageState)).toEqual(['disabling', 'enabled', 'disabled', 'creating']);
  });

  test('image modes are journal and snapshot', () => {
    expect([mirrorImageMode(0), mirrorImageMode(1)]).toEqual(['journal', 'snapshot']);
  });
});

describe('mirrorSiteStatuses', () => {
  const siteB: MirrorPeerRef = { siteName: 'site-b', mirrorUuid: 'aee38dd9-5531-44d3-8916-80cdee89b682', direction: 2 };
  const local: NativeMirrorSiteStatus = { mirrorUuid: '', state: 6, description: lab.primary, lastUpdate: 1795313451, up: true };
  const remote: NativeMirrorSiteStatus = {
    mirrorUuid: siteB.mirrorUuid,
    state: 4,
    description: lab.journalReplaying,
    lastUpdate: 1795313452,
    up: true,
  };

  test('the local entry has the empty mirror uuid; peers are named after the pool peers', () => {
    const s = mirrorSiteStatuses([remote, local], [siteB]);
    expect(s.local).toMatchObject({ mirrorUuid: '', siteName: '', state: 'stopped', up: true, replay: null });
    expect(s.local?.lastUpdate).toEqual(new Date(1795313451 * 1000));
    expect(s.peers).toHaveLength(1);
    expect(s.peers[0]).toMatchObject({ siteName: 'site-b', state: 'replaying', replay: { kind: 'journal' } });
  });

  test('sites that have not reported show as the CLI shows them: down+unknown, status not found', () => {
    const s = mirrorSiteStatuses([], [siteB]);
    const missing = { state: 'unknown', up: false, description: 'status not found', lastUpdate: null, replay: null };
    expect(s.local).toEqual({ mirrorUuid: '', siteName: '', ...missing });
    expect(s.peers).toEqual([{ mirrorUuid: siteB.mirrorUuid, siteName: 'site-b', ...missing }]);
  });

  test('with only tx-only peers there is no local status to expect', () => {
    expect(mirrorSiteStatuses([], [{ ...siteB, direction: 1 }])).toEqual({ local: null, peers: [] });
  });

  test('a status from a mirror uuid that is no peer stays, without a site name', () => {
    const stray = { ...remote, mirrorUuid: 'f0f0f0f0-0000-0000-0000-000000000000' };
    expect(mirrorSiteStatuses([local, stray], [siteB]).peers.map((p) => [p.mirrorUuid, p.siteName])).toEqual([
      [siteB.mirrorUuid, 'site-b'],
      [stray.mirrorUuid, ''],
    ]);
  });
});
