#!/usr/bin/env node
/**
 * xrbd: Ceph RBD mirroring from the command line, on the @x/rbd SDK
 * (`xrbd --help`). This file only wires the process to lib/cli/commands.ts:
 * SIGINT aborts the running command (a second one exits at once), and the
 * exit code is the command's.
 */
import { EXIT } from './args';
import { main } from './commands';

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  if (++interrupts > 1) process.exit(EXIT.interrupted);
  controller.abort(new Error('interrupted (SIGINT)'));
});
// A reader that went away (`xrbd status ... | head`): nothing more to say.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(interrupts ? EXIT.interrupted : EXIT.ok);
});

main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: () => process.stdin,
  signal: controller.signal,
}).then((code) => {
  process.exitCode = code;
  // Everything is closed by now; should some handle still hold the loop, do not hang on it.
  setTimeout(() => process.exit(code), 5000).unref();
});
