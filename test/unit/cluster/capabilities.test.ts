/**
 * capabilities(): what the addon was compiled with, by the librbd headers it
 * was built against (native/capabilities.h). Runs on every build: the expected
 * set follows from the header version, per the headers of 16.2 (1.16), 18.2
 * (1.18) and 20.2 (1.20).
 */
import { CapabilityUnavailable, Cluster, FunctionNotSupported, capabilities } from '../../../lib';
import { requireCapability } from '../../../lib/cluster/capabilities';

const minor = (v: string): number => Number(v.split('.')[1]);

test('reports the librbd version built against and the one loaded, as Cluster.versions() does', () => {
  const c = capabilities();
  const v = Cluster.versions();
  expect(c.librbdHeader).toBe(v.rbdHeader);
  expect(c.librbd).toBe(v.rbd);
  expect(Object.isFrozen(c)).toBe(true);
});

test('lists every optional call, each available exactly when its headers have it (and the loaded librbd is as new)', () => {
  const c = capabilities();
  const h = minor(c.librbdHeader);
  const runs = minor(c.librbd) >= h;
  expect(c.calls).toEqual({
    rbd_mirror_remote_namespace_get: h >= 20 && runs,
    rbd_mirror_remote_namespace_set: h >= 20 && runs,
    rbd_encryption_load2: h >= 18 && runs,
    rbd_aio_compare_and_writev: h >= 18 && runs,
    rbd_diff_iterate3: h >= 18 && runs,
  });
  expect(c.features).toEqual({
    mirrorRemoteNamespace: c.calls.rbd_mirror_remote_namespace_set,
    encryptionLoadLayered: c.calls.rbd_encryption_load2,
  });
});

test('requireCapability passes for an available feature and throws CapabilityUnavailable (ENOSYS) naming it otherwise', () => {
  const ctx = { op: 'mirror.setRemoteNamespace', pool: 'p' };
  if (capabilities().features.mirrorRemoteNamespace) {
    expect(() => requireCapability('mirrorRemoteNamespace', ctx)).not.toThrow();
    return;
  }
  let err: unknown;
  try {
    requireCapability('mirrorRemoteNamespace', ctx);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CapabilityUnavailable);
  expect(err).toBeInstanceOf(FunctionNotSupported);
  expect(err).toMatchObject({ code: 'ENOSYS', errno: 38, capability: 'mirrorRemoteNamespace', op: 'mirror.setRemoteNamespace' });
  expect((err as Error).message).toMatch(/needs rbd_mirror_remote_namespace_get\/rbd_mirror_remote_namespace_set of librbd 1\.20 \(Ceph 20\.2 Tentacle\)/);
  expect((err as Error).message).toMatch(/capabilities\(\)\.features\.mirrorRemoteNamespace is false/);
});
