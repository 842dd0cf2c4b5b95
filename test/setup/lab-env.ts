// For integration test files: the lab the jest global setup started or found.
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
