import {
  HandleClosed,
  ImageBusy,
  ImageExists,
  ImageNotFound,
  NotFound,
  PermissionDenied,
  PoolNotFound,
  RbdError,
  Timeout,
  closedError,
  errnoCode,
  fromNative,
  rbdError,
} from '../../../lib/core/errors';

function nativeError(errno: number, op: string): Error {
  return Object.assign(new Error(`${op}: some text`), { errno, op });
}

describe('errors', () => {
  test('errnoCode names errnos and falls back to E<n>', () => {
    expect(errnoCode(2)).toBe('ENOENT');
    expect(errnoCode(110)).toBe('ETIMEDOUT');
    expect(errnoCode(99999)).toBe('E99999');
  });

  test('ENOENT becomes PoolNotFound or ImageNotFound by subject', () => {
    expect(rbdError(2, { op: 'openPool', pool: 'p', subject: 'pool' })).toBeInstanceOf(PoolNotFound);
    const img = rbdError(2, { op: 'openImage', pool: 'p', image: 'i', subject: 'image' });
    expect(img).toBeInstanceOf(ImageNotFound);
    expect(img).toBeInstanceOf(NotFound);
    expect(img).toBeInstanceOf(RbdError);
    expect(rbdError(2, { op: 'x' }).constructor).toBe(NotFound);
  });

  test('errno table follows the Python binding', () => {
    expect(rbdError(17, { op: 'createImage' })).toBeInstanceOf(ImageExists);
    expect(rbdError(16, { op: 'removeImage' })).toBeInstanceOf(ImageBusy);
    expect(rbdError(110, { op: 'connect' })).toBeInstanceOf(Timeout);
    expect(rbdError(13, { op: 'connect' })).toBeInstanceOf(PermissionDenied);
    expect(rbdError(1, { op: 'connect' })).toBeInstanceOf(PermissionDenied);
    expect(rbdError(9999, { op: 'x' }).constructor).toBe(RbdError);
  });

  test('fromNative carries errno, code, op, native op and names', () => {
    const e = fromNative(nativeError(2, 'rbd_open'), { op: 'openImage', pool: 'rbd', image: 'disk', subject: 'image' });
    expect(e).toBeInstanceOf(ImageNotFound);
    const r = e as RbdError;
    expect(r.errno).toBe(2);
    expect(r.code).toBe('ENOENT');
    expect(r.op).toBe('openImage');
    expect(r.nativeOp).toBe('rbd_open');
    expect(r.pool).toBe('rbd');
    expect(r.image).toBe('disk');
    expect(r.name).toBe('ImageNotFound');
    expect(r.message).toBe("openImage on pool 'rbd', image 'disk' failed: some text (ENOENT, errno 2)");
  });

  test('fromNative passes TypeErrors through untouched', () => {
    const t = new TypeError('bad');
    expect(fromNative(t, { op: 'x' })).toBe(t);
  });

  test('closedError is a HandleClosed with code EBADF', () => {
    const e = closedError({ op: 'stat', image: 'i' }, 'image');
    expect(e).toBeInstanceOf(HandleClosed);
    expect(e.code).toBe('EBADF');
    expect(e.errno).toBe(9);
    expect(e.message).toMatch(/the image is closed/);
  });
});
