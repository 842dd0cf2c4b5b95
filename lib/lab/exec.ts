// Bounded, shell-free child processes for the lab controller.
import { spawn } from 'node:child_process';

/** How run() runs a command. */
export interface RunOptions {
  /** Kill the child (SIGKILL) after this many milliseconds. Required: nothing in the lab waits forever. */
  timeoutMs: number;
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** The child's working directory (default: this process's). */
  cwd?: string;
  /** Called for every complete line the child writes to stderr (progress). */
  onStderrLine?: (line: string) => void;
  /** Written to the child's stdin, then stdin is closed (default: stdin is /dev/null). */
  input?: string;
}

/** What a command that exited with status 0 wrote. */
export interface RunResult {
  /** Everything it wrote to stdout. */
  stdout: string;
  /** Everything it wrote to stderr. */
  stderr: string;
}

/** A lab command that failed, timed out or could not be started. */
export class LabCommandError extends Error {
  /** The program. */
  readonly file: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** Its exit status, or null when it was killed or could not be started. */
  readonly exitCode: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
  /** Whether it was killed for running past `timeoutMs`. */
  readonly timedOut: boolean;
  /** What it wrote to stdout. */
  readonly stdout: string;
  /** What it wrote to stderr. */
  readonly stderr: string;

  constructor(
    message: string,
    info: {
      file: string;
      args: readonly string[];
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      timedOut: boolean;
      stdout: string;
      stderr: string;
    },
  ) {
    super(message);
    this.name = 'LabCommandError';
    this.file = info.file;
    this.args = info.args;
    this.exitCode = info.exitCode;
    this.signal = info.signal;
    this.timedOut = info.timedOut;
    this.stdout = info.stdout;
    this.stderr = info.stderr;
  }
}

const MAX_OUTPUT = 64 * 1024 * 1024;

/** Hide secrets (cephx keys) that could appear on a command line in error messages. */
function describe(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^AQ[A-Za-z0-9+/]{30,}={0,2}$/.test(a) ? '<key>' : a)).join(' ');
}

/**
 * Run `file args...` without a shell. Resolves with stdout/stderr when it exits 0;
 * rejects with a LabCommandError carrying stderr otherwise (or after timeoutMs).
 */
export function run(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let pending = '';
    let timedOut = false;
    let settled = false;

    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    timer.unref?.();

    child.stdout!.on('data', (b: Buffer) => {
      if (outLen < MAX_OUTPUT) out.push(b);
      outLen += b.length;
    });
    child.stderr!.on('data', (b: Buffer) => {
      if (errLen < MAX_OUTPUT) err.push(b);
      errLen += b.length;
      if (opts.onStderrLine) {
        pending += b.toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.trim()) opts.onStderrLine(line);
        }
      }
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }

    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (opts.onStderrLine && pending.trim()) opts.onStderrLine(pending);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (!spawnError && !timedOut && code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const cmd = describe(file, args);
      let why: string;
      if (spawnError) why = `could not run: ${spawnError.message}`;
      else if (timedOut) why = `timed out after ${opts.timeoutMs} ms`;
      else if (signal) why = `killed by ${signal}`;
      else why = `exited with code ${code}`;
      const detail = stderr.trim() ? `: ${stderr.trim()}` : '';
      reject(
        new LabCommandError(`${cmd} ${why}${detail}`, {
          file,
          args,
          exitCode: code,
          signal,
          timedOut,
          stdout,
          stderr,
        }),
      );
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
