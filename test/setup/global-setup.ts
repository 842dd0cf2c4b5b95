// jest globalSetup: reuse a running lab (XRBD_LAB_DIR, else <repo>/.lab) or start one.
// Workers and the teardown learn about it through process.env:
//   XRBD_LAB_DIR   — the lab directory
//   XRBD_LAB_OWNED — '1' if this run started it, '0' if it found it running
// Concurrent jest runs on the same directory are serialised by the lab lock; each
// registers itself as a user, and the last user out stops a lab that a jest run
// started (a lab started by hand, e.g. `npm run lab -- start`, is never stopped).
// XRBD_LAB_BASE_PORT moves the lab's ports (default 17100: mons on 17100, 17200) and
// those of every other lab the tests start (test/setup/ports.ts).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

import { Lab, defaultLabDir, registerLabUser, withLabLock } from '../../lib/lab';
import { PORTS } from './ports';

export const JEST_OWNED_MARKER = '.started-by-jest';

export default async function globalSetup(): Promise<void> {
  const dir = defaultLabDir();
  const t0 = Date.now();
  const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
  const basePort = PORTS.sharedLab;
  const verbose = process.env.XRBD_LAB_VERBOSE === '1';

  const owned = await withLabLock(dir, async () => {
    let started = false;
    if (await Lab.attach(dir)) {
      process.stderr.write(`\n[lab] using the running lab in ${dir}\n`);
    } else {
      process.stderr.write(`\n[lab] starting a two-site lab in ${dir} ...\n`);
      await Lab.start({
        dir,
        basePort,
        log: (line) => {
          if (verbose || /^lab: /.test(line)) process.stderr.write(`[lab +${secs()} s] ${line}\n`);
        },
      });
      await fsp.writeFile(path.join(dir, JEST_OWNED_MARKER), `${process.pid}\n`);
      process.stderr.write(`[lab] lab started in ${secs()} s\n`);
      started = true;
    }
    await registerLabUser(dir);
    return started;
  });
  process.env.XRBD_LAB_DIR = dir;
  process.env.XRBD_LAB_OWNED = owned ? '1' : '0';
}
