// Type tests (tsd) for the public surface: what compiles and what must not.
import { expectAssignable, expectError, expectType } from 'tsd';
import {
  Cluster,
  Image,
  ImageNotFound,
  Pool,
  RbdError,
  type ConnectOptions,
  type ImageStat,
  type LibraryVersions,
  type ResourceState,
} from '..';

expectType<LibraryVersions>(Cluster.versions());
expectType<Promise<Cluster>>(Cluster.connect({ confPath: '/etc/ceph/ceph.conf' }));
expectType<Promise<Cluster>>(Cluster.connect({ monHost: 'v2:127.0.0.1:3300', key: 'secret', clientId: 'admin' }));
expectType<Promise<Cluster>>(Cluster.connect());
expectAssignable<ConnectOptions>({ config: { rbd_cache: false, client_mount_timeout: 5 }, timeoutMs: 5000 });
expectError(Cluster.connect({ confPath: 42 }));

declare const cluster: Cluster;
expectType<string>(cluster.fsid());
expectType<Promise<Pool>>(cluster.openPool('rbd'));
expectType<Promise<Pool>>(cluster.openPool('rbd', { namespace: 'ns' }));
expectType<Promise<void>>(cluster.close());
expectType<ResourceState>(cluster.state);

declare const pool: Pool;
expectType<Promise<void>>(pool.createImage('disk', 1024, { features: ['layering', 'exclusive-lock'], order: 22 }));
expectType<Promise<void>>(pool.createImage('disk', 1n << 40n));
expectType<Promise<string[]>>(pool.listImages());
expectType<Promise<Array<{ id: string; name: string }>>>(pool.listImageSpecs());
expectType<Promise<Image>>(pool.openImage('disk', { readOnly: true }));
expectType<Promise<Image>>(pool.openImageById('10ab'));
expectType<Promise<void>>(pool.removeImage('disk'));
expectError(pool.createImage('disk'));

declare const image: Image;
expectType<Promise<ImageStat>>(image.stat());
expectType<number>((await image.stat()).size);
expectType<Date>((await image.stat()).createdAt);
expectType<Promise<void>>(image[Symbol.asyncDispose]());

declare const err: ImageNotFound;
expectAssignable<RbdError>(err);
expectType<number>(err.errno);
expectType<string>(err.code);
expectType<string | undefined>(err.image);
