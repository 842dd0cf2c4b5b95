/** The pure parts of mirror watching and waiting: status diffing, state matching, journal positions. */
import type { MirrorSiteStatus } from '../../../lib/mirror/status';
import type { JournalClient } from '../../../lib/mirror/journal';
import { diffMirrorStatuses, mirrorStatusKey, type MirrorStatusChange } from '../../../lib/mirror/watch';
import { journalCaughtUp, matchesMirrorState, newestPosition, positionReached } from '../../../lib/mirror/wait';
import type { MirrorPoolImageStatus } from '../../../lib/mirror/pool-mirror';

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

describe('MirrorStatusWatcher with a fake pool: one shared poll, only while someone listens', () => {
  function fakePool(rounds: MirrorPoolImageStatus[][]) {
    let calls = 0;
    const pool = {
      closed: false,
      get calls() {
        return calls;
      },
      mirror: {
        async *globalStatuses() {
          const r = rounds[Math.min(calls, rounds.length - 1)];
          calls++;
          yield* r;
        },
      },
    };
    return pool;
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test('two watchers share one poll; it stops when the last consumer goes; image watchers are filtered', async () => {
    const enabledB = status('b', { peers: [site({ mirrorUuid: 'u-b', state: 'syncing', description: 'syncing' })] });
    const p = fakePool([[status('a')], [status('a'), status('b')], [status('a'), enabledB]]);
    const pool = p as unknown as import('../../../lib/pool/pool').Pool;
    const { MirrorStatusWatcher } = await import('../../../lib/mirror/watch');
    const all = new MirrorStatusWatcher(pool, null, { intervalMs: 100 });
    const onlyB = new MirrorStatusWatcher(pool, 'b', { intervalMs: 100 });
    const onlyA = new MirrorStatusWatcher(pool, 'a', { intervalMs: 100 });
    expect(all.polling).toBe(false);
    await sleep(250);
    expect(p.calls).toBe(0); // nobody listens: no poll
    const seenAll: MirrorStatusChange[] = [];
    const seenA: MirrorStatusChange[] = [];
    all.on('change', (c: MirrorStatusChange) => seenAll.push(c));
    onlyA.on('change', (c: MirrorStatusChange) => seenA.push(c));
    const it = onlyB[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value).toMatchObject({ image: 'b', previous: null });
    const second = await it.next();
    expect(second.value).toMatchObject({ image: 'b', current: { peers: [{ state: 'syncing' }] } });
    await it.return?.();
    expect(seenAll.map((c) => c.image)).toEqual(['b', 'b']);
    expect(seenA).toEqual([]);
    const callsWhileShared = p.calls;
    expect(callsWhileShared).toBeLessThanOrEqual(4); // one poll for three watchers, not three
    all.removeAllListeners('change');
    expect(all.polling).toBe(true); // onlyA still listens
    onlyA.close();
    expect(all.polling).toBe(false);
    const stoppedAt = p.calls;
    await sleep(350);
    expect(p.calls).toBe(stoppedAt);
  });

  test('a failed poll is a warning, and polling goes on; a closed pool ends the watcher', async () => {
    let n = 0;
    const pool = {
      closed: false,
      mirror: {
        // eslint-disable-next-line require-yield
        async *globalStatuses(): AsyncGenerator<MirrorPoolImageStatus> {
          n++;
          throw new Error('boom');
        },
      },
    };
    const { MirrorStatusWatcher } = await import('../../../lib/mirror/watch');
    const w = new MirrorStatusWatcher(pool as unknown as import('../../../lib/pool/pool').Pool, null, { intervalMs: 100 });
    const warnings: unknown[] = [];
    w.on('warning', (e: unknown) => warnings.push(e));
    w.on('change', () => undefined);
    await sleep(250);
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    expect(n).toBe(warnings.length);
    const ended = new Promise<void>((r) => w.once('end', () => r()));
    pool.closed = true;
    await ended;
    expect(w.polling).toBe(false);
    expect(w.closed).toBe(true);
    expect(() => new MirrorStatusWatcher(pool as unknown as import('../../../lib/pool/pool').Pool, null, { intervalMs: 5 })).toThrow(RangeError);
  });
});
