// For integration test files: the lab the jest global setup started or found.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { Lab } from '../../lib/lab';

let cached: Promise<Lab> | undefined;

/** The running lab named by XRBD_LAB_DIR (set by test/setup/global-setup.ts). Throws if there is none. */
export function getLab(): Promise<Lab> {
  cached ??= (async () => {
    const dir = process.env.XRBD_LAB_DIR;
    if (!dir) {
      throw new Error(
        'XRBD_LAB_DIR is not set: run integration tests through jest (test/setup/global-setup.ts starts the lab), ' +
          'or start one with `npm run lab -- start` and export XRBD_LAB_DIR',
      );
    }
    const lab = await Lab.attach(dir);
    if (!lab) {
      const any = await Lab.open(dir);
      throw new Error(
        any
          ? `the lab in ${dir} is not fully running (a daemon is down); see the logs under ${dir}/<site>/log`
          : `no lab in ${dir} (lab.json missing)`,
      );
    }
    return lab;
  })();
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

/**
 * The Ceph release of the lab's daemons as [major, minor] (e.g. [20, 2]), read from the lab's lab.json
 * (XRBD_LAB_DIR): what ceph-site.sh recorded from `ceph-mon --version`. Synchronous, so that a suite can choose
 * a release's expectation when it is defined. [16, 2] for a lab written before sites recorded their version
 * (those were all Debian 12's 16.2). The client side is always the host's librbd.
 */
export function serverCephRelease(): [number, number] {
  const dir = process.env.XRBD_LAB_DIR;
  if (!dir) throw new Error('XRBD_LAB_DIR is not set: run integration tests through jest (test/setup/global-setup.ts)');
  const file = JSON.parse(readFileSync(path.join(dir, 'lab.json'), 'utf8')) as { sites?: Array<{ cephVersion?: string }> };
  const v = file.sites?.[0]?.cephVersion ?? '16.2';
  const m = /^(\d+)\.(\d+)/.exec(v);
  if (!m) throw new Error(`lab.json: unexpected cephVersion '${v}'`);
  return [Number(m[1]), Number(m[2])];
}

/** Whether the lab's daemons are Ceph `major.minor` or newer: `serverCephAtLeast(20, 2)`. */
export function serverCephAtLeast(major: number, minor = 0): boolean {
  const [a, b] = serverCephRelease();
  return a > major || (a === major && b >= minor);
}
