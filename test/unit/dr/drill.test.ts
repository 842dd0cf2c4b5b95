/** The drill's pure part: which mirror snapshot of the copy is its consistent point. */
import { newestConsistent } from '../../../lib/dr/drill';
import type { SnapshotInfo } from '../../../lib/image/snapshots';

const snap = (id: number, mirror?: Partial<NonNullable<SnapshotInfo['mirror']>>): SnapshotInfo =>
  ({
    id,
    name: `s${id}`,
    size: 1,
    namespace: mirror ? 'mirror' : 'user',
    timestamp: new Date(id * 1000),
    protected: false,
    ...(mirror
      ? { mirror: { state: 'non-primary', complete: true, mirrorPeerUuids: [], primaryMirrorUuid: 'p', primarySnapId: id - 1, lastCopiedObjectNumber: 0, ...mirror } }
      : {}),
  }) as SnapshotInfo;

test('the complete non-primary mirror snapshot of the newest primary snapshot', () => {
  expect(newestConsistent([snap(3, {}), snap(7, {}), snap(5, {})])?.id).toBe(7);
});

test('incomplete, primary or user snapshots are no consistent point', () => {
  expect(newestConsistent([snap(3, {}), snap(9, { complete: false })])?.id).toBe(3);
  expect(newestConsistent([snap(4, { state: 'primary' }), snap(5, { state: 'primary-demoted' }), snap(6)])).toBeNull();
  expect(newestConsistent([snap(8, { state: 'non-primary-demoted' })])?.id).toBe(8);
  expect(newestConsistent([snap(8, { primarySnapId: null })])).toBeNull();
  expect(newestConsistent([])).toBeNull();
});
