/** The pure parts of mirror watching and waiting: status diffing, state matching, journal positions. */
import type { MirrorSiteStatus } from '../../lib/mirror-status';
import type { JournalClient } from '../../lib/mirror-journal';
import { diffMirrorStatuses, mirrorStatusKey } from '../../lib/mirror-watch';
import { journalCaughtUp, matchesMirrorState, newestPosition, positionReached } from '../../lib/mirror-wait';
import type { MirrorPoolImageStatus } from '../../lib/pool-mirror';

function site(over: Partial<MirrorSiteStatus> = {}): MirrorSiteStatus {
  return {
    mirrorUuid: '',
    siteName: '',
    state: 'replaying',
    description: 'replaying',
    up: true,
    lastUpdate: new Date(1000),
    replay: null,
    ...over,
  };
}

function status(name: string, over: Partial<MirrorPoolImageStatus> = {}): MirrorPoolImageStatus {
  return {
    id: `id-${name}`,
    name,
    info: { globalId: `g-${name}`, state: 'enabled', primary: true },
    local: site({ state: 'stopped', description: 'local image is primary' }),
    peers: [site({ mirrorUuid: 'u-b', siteName: 'site-b' })],
    ...over,
  };
}

const map = (...s: MirrorPoolImageStatus[]) => new Map(s.map((x) => [x.name, x]));

describe('diffMirrorStatuses', () => {
  test('no change when only lastUpdate moves', () => {
    const a = status('a');
    const a2 = status('a', { local: site({ state: 'stopped', description: 'local image is primary', lastUpdate: new Date(99_000) }) });
    const { changes, next } = diffMirrorStatuses(map(a), [a2]);
    expect(changes).toEqual([]);
    expect(next.get('a')).toBe(a2);
  });

  test('an image that appears, one that changes state, one that disappears; sorted by name', () => {
    const a = status('a');
    const b = status('b');
    const b2 = status('b', { peers: [site({ mirrorUuid: 'u-b', siteName: 'site-b', state: 'syncing', description: 'syncing' })] });
    const c = status('c');
    const { changes } = diffMirrorStatuses(map(a, b), [c, b2]);
    expect(changes).toEqual([
      { image: 'a', previous: a, current: null },
      { image: 'b', previous: b, current: b2 },
      { image: 'c', previous: null, current: c },
    ]);
  });

  test('description, up, primary and image state changes count', () => {
    const base = status('x');
    const variants = [
      status('x', { local: site({ state: 'stopped', description: 'other' }) }),
      status('x', { local: site({ state: 'stopped', description: 'local image is primary', up: false }) }),
      status('x', { info: { globalId: 'g-x', state: 'enabled', primary: false } }),
      status('x', { info: { globalId: 'g-x', state: 'disabling', primary: true } }),
      status('x', { local: null }),
    ];
    for (const v of variants) {
      expect(mirrorStatusKey(v)).not.toBe(mirrorStatusKey(base));
      expect(diffMirrorStatuses(map(base), [v]).changes).toHaveLength(1);
    }
  });

  test('peer order does not matter', () => {
    const p1 = site({ mirrorUuid: 'u1' });
    const p2 = site({ mirrorUuid: 'u2', state: 'error', description: 'boom' });
    expect(mirrorStatusKey(status('x', { peers: [p1, p2] }))).toBe(mirrorStatusKey(status('x', { peers: [p2, p1] })));
  });

  test('empty to empty', () => {
    expect(diffMirrorStatuses(new Map(), []).changes).toEqual([]);
  });
});

describe('matchesMirrorState', () => {
  const s = status('a', {
    local: site({ state: 'replaying', up: true }),
    peers: [site({ mirrorUuid: 'u1', state: 'stopped', up: false })],
  });
  test('local, peer, up', () => {
    expect(matchesMirrorState(s, {})).toBe(true);
    expect(matchesMirrorState(s, { local: 'replaying' })).toBe(true);
    expect(matchesMirrorState(s, { local: 'stopped' })).toBe(false);
    expect(matchesMirrorState(s, { peer: 'stopped' })).toBe(true);
    expect(matchesMirrorState(s, { up: true })).toBe(true);
    expect(matchesMirrorState(s, { local: 'replaying', up: true })).toBe(true);
    expect(matchesMirrorState(s, { peer: 'stopped', up: false })).toBe(true);
    expect(matchesMirrorState(s, { local: 'replaying', peer: 'stopped', up: true })).toBe(false);
  });
  test('no peers never matches a peer state; no local never matches a local state', () => {
    expect(matchesMirrorState(status('a', { peers: [] }), { peer: 'replaying' })).toBe(false);
    expect(matchesMirrorState(status('a', { local: null }), { local: 'stopped' })).toBe(false);
    expect(matchesMirrorState(status('a', { local: null }), { up: false })).toBe(false);
  });
});

describe('journal positions', () => {
  const pos = (tagTid: number, entryTid: number, objectNumber = 0) => ({ tagTid, entryTid, objectNumber });
  const client = (id: string, positions: ReturnType<typeof pos>[], state: JournalClient['state'] = 'connected'): JournalClient => ({
    id,
    data: Buffer.alloc(0),
    commitPosition: positions,
    state,
  });

  test('positionReached compares tag tid, then entry tid', () => {
    expect(positionReached(pos(1, 5), pos(1, 5))).toBe(true);
    expect(positionReached(pos(1, 6), pos(1, 5))).toBe(true);
    expect(positionReached(pos(1, 4), pos(1, 5))).toBe(false);
    expect(positionReached(pos(2, 0), pos(1, 99))).toBe(true);
    expect(positionReached(pos(1, 99), pos(2, 0))).toBe(false);
  });

  test('newestPosition picks the furthest of the splay positions', () => {
    expect(newestPosition([])).toBeNull();
    expect(newestPosition([pos(1, 3, 1), pos(1, 7, 3), pos(1, 5, 2)])).toEqual(pos(1, 7, 3));
  });

  test('journalCaughtUp: every connected peer client at or past the target', () => {
    const target = pos(1, 10);
    expect(journalCaughtUp([client('', [pos(1, 10)])], target)).toBe(false); // no peer yet
    expect(journalCaughtUp([client('', [pos(1, 10)]), client('u1', [pos(1, 9)])], target)).toBe(false);
    expect(journalCaughtUp([client('', [pos(1, 10)]), client('u1', [pos(1, 10)])], target)).toBe(true);
    expect(journalCaughtUp([client('u1', [pos(1, 11)]), client('u2', [])], target)).toBe(false);
    expect(journalCaughtUp([client('u1', [pos(1, 11)], 'disconnected')], target)).toBe(false);
    expect(journalCaughtUp([client('', []), client('u1', [])], null)).toBe(true); // nothing ever written
  });
});
