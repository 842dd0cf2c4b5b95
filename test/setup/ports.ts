/**
 * The ports of every lab the tests start, all derived from one base port so that
 * two runs on one machine (two worktrees, two CI jobs) never collide: give each
 * run its own XRBD_LAB_BASE_PORT, 1000 or more apart (everything below stays
 * within base … base + 999). Default 17100.
 *
 *   base + 0 … 199      the shared two-site lab (jest's global setup; site i's mon on base + 100 i)
 *   base + 400 … 499    test/integration/lab/lab.test.ts's single-site robustness labs
 *   base + 200 … 399    test/faults/dr-faults.test.ts's two-site lab; bench/dr_scale.js's two-site lab
 *                       (the benchmark is a run of its own, never beside the fault suites);
 *                       test/faults/dr-partition.test.ts's lab (the faults project runs one suite at a time;
 *                       in its netns form the ports are bound in the lab's own namespaces, 10.x.y.0/24 from
 *                       the base port, not on 127.0.0.1)
 *   base + 500 … 699    test/faults/lab-faults.test.ts's two-site lab (XRBD_FAULTS_BASE_PORT overrides)
 *   base + 700 … 899    test/faults/dr-site-loss.test.ts's demo lab (npm run demo's own default is 17900)
 *   base + 900 … 999    bench/run.js's single-site lab (BENCH_BASE_PORT overrides; the same arithmetic there)
 *
 * With the default base: 17100, 17500, 17600, 17800, 18000. Container labs have
 * their own setting, XRBD_CONTAINER_BASE_PORT (scripts/container-lab.sh).
 */
export const DEFAULT_LAB_BASE_PORT = 17100;

function portFrom(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1024 || port > 63000) {
    throw new RangeError(`${variable}=${raw}: want a port number in [1024, 63000]`);
  }
  return port;
}

/** XRBD_LAB_BASE_PORT, or the default 17100. */
export const LAB_BASE_PORT = portFrom('XRBD_LAB_BASE_PORT', DEFAULT_LAB_BASE_PORT);

export const PORTS = {
  sharedLab: LAB_BASE_PORT,
  labRobustness: LAB_BASE_PORT + 400,
  labFaults: portFrom('XRBD_FAULTS_BASE_PORT', LAB_BASE_PORT + 500),
  drDemo: LAB_BASE_PORT + 700,
  bench: portFrom('BENCH_BASE_PORT', LAB_BASE_PORT + 900),
} as const;
