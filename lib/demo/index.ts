/**
 * `npm run demo`: the disaster-recovery story of @x/rbd on a two-site lab of
 * its own (see ./dr.ts): replication, planned failover and failback, the loss
 * of a site, forced failover, split brain and its repair, data checked by
 * sha256 at every step.
 *
 *   node dist/demo/index.js [--dir DIR] [--base-port PORT] [--keep]
 *
 * --dir (default <package>/.lab-demo) and --base-port (default 17900) place
 * the lab; it is stopped and removed at the end unless --keep. Exit code 0
 * when every step and check passed, 1 otherwise, 2 on a usage error; the last
 * line is `DEMO-RESULT <json>`.
 */
import { parseArgs, runDemo, type DemoArgs } from './dr';

let args: DemoArgs;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}

runDemo(args).then(
  (ok) => process.exit(ok ? 0 : 1),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
