// The lab's public shapes: sites, options, daemons and signals (lib/lab/lab.ts uses them).
import type { LabNetwork } from './netns';

/** One site of the lab: what a client needs to connect to it (`lab.site(name)`). */
export interface LabSiteInfo {
  /** The site name, e.g. 'site-a' (also its mirroring site name). */
  name: string;
  /** The site's directory (ceph.conf, keyrings, daemon data, logs). */
  dir: string;
  /** The cluster's fsid. */
  fsid: string;
  /** The monitor address, e.g. 'v2:127.0.0.1:17100'. */
  monHost: string;
  /** The site's ceph.conf: `Cluster.connect({ confPath })`. */
  confPath: string;
  /** The admin user's keyring file. */
  keyringPath: string;
  /** The admin user's id ('admin'). */
  clientId: string;
  /** The admin user's key. */
  key: string;
  /** The id the site's rbd-mirror daemon runs as. */
  mirrorClientId: string;
  /** Where the site's daemons write their logs. */
  logDir: string;
  /**
   * The Ceph version of the site's daemons, e.g. '20.2.4' (ceph-site.sh records `ceph-mon --version` in
   * site.json); undefined for a site directory written by an older ceph-site.sh.
   */
  cephVersion?: string;
}

/** The OSD's object store: memstore (in memory, the default) or bluestore (on a file). */
export type LabObjectstore = 'memstore' | 'bluestore';
/** One daemon of a site, for fault injection (killDaemon / startDaemon). */
export type LabDaemon = 'mon' | 'mgr' | 'osd' | 'rbd-mirror';
/** Signals killDaemon sends: SIGKILL/SIGTERM wait until the daemon is gone, SIGSTOP/SIGCONT freeze and thaw it. */
export type LabSignal = 'SIGKILL' | 'SIGTERM' | 'SIGINT' | 'SIGSTOP' | 'SIGCONT';
/** The pool mirroring mode the lab sets up: 'image' (each image enabled on its own) or 'pool' (every journaled image). */
export type LabMirrorMode = 'image' | 'pool';

/** Options of `Lab.start()`. */
export interface LabOptions {
  /** Lab directory (default: env XRBD_LAB_DIR, else `<package root>/.lab`). */
  dir?: string;
  /** Site names (default ['site-a', 'site-b']). */
  sites?: string[];
  /** RBD pool created on every site (default 'rbd-lab'). */
  pool?: string;
  /** Site i gets mon port basePort+100*i and bind range [that+1, that+99] (default 17100). */
  basePort?: number;
  /** The OSDs' object store (default 'memstore'). */
  objectstore?: LabObjectstore;
  /** Pool mirroring mode (default 'image'). */
  mirrorMode?: LabMirrorMode;
  /** Set up mirroring between the first two sites (default true). */
  mirroring?: boolean;
  /** Overall bound for start(), including the mirroring set-up (default 120000). */
  timeoutMs?: number;
  /**
   * Each of the two sites in a network namespace of the lab's own, with veth pairs to the root namespace and
   * between the sites, names and 10.x.y.0/24 addresses from basePort (lib/lab/netns.ts); Linux and root only.
   * Lets a test partition a site (cutSite/heal). Default false: every site on 127.0.0.1.
   */
  netns?: boolean;
  /** Progress lines (default: discarded). */
  log?: (line: string) => void;
  /** Extra environment for the site script and CLIs (e.g. a PATH for fault injection). */
  env?: Record<string, string | undefined>;
}

/** Lab.adopt(): sites already running (e.g. one container per site), each in `<dir>/<name>` as ceph-site.sh left it. */
export interface LabAdoptOptions {
  /** Lab directory holding one ceph-site.sh directory per site (default: as for Lab.start). */
  dir?: string;
  /** Site names = directory names under `dir` (default ['site-a', 'site-b']). */
  sites?: string[];
  /** RBD pool created on every site (default 'rbd-lab'). */
  pool?: string;
  /** Pool mirroring mode (default 'image'). */
  mirrorMode?: LabMirrorMode;
  /** Set up mirroring between the first two sites (default true). */
  mirroring?: boolean;
  /** Overall bound for the set-up (default 120000). */
  timeoutMs?: number;
  /** Progress lines (default: discarded). */
  log?: (line: string) => void;
  /** Extra environment for the CLIs. */
  env?: Record<string, string | undefined>;
}

/** @internal */
export interface LabFileSite extends LabSiteInfo {
  monPort: number;
  portMin: number;
  portMax: number;
  objectstore: LabObjectstore;
}

/** @internal */
export interface LabFile {
  version: 1;
  dir: string;
  pool: string;
  basePort: number;
  objectstore: LabObjectstore;
  mirrorMode: LabMirrorMode;
  mirroring: boolean;
  /** The lab's own network (netns labs only). */
  network?: LabNetwork;
  createdAt: string;
  sites: LabFileSite[];
}
