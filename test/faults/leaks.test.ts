/**
 * No definite leak of ours: scripts/leak-check.js runs a small integration
 * smoke (connect, create an image, aio and worker I/O, snapshots, the 'update'
 * watch, mirror enable/snapshot/status and the status watcher, handles dropped
 * without close) in a child node under valgrind, twice: once letting the loop
 * drain (Node's environment cleanup releases what is left open), once leaving
 * by process.exit() with reads in flight (the exit guard releases it).
 *
 * Valgrind works with node here (3.19, --smc-check=all-non-file for V8's
 * generated code): no ASan build is needed. A run takes 40-60 s on this
 * 2-core machine (node is ~20-50x slower under valgrind).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Lab } from '../../lib/lab';
import { getLab } from '../setup/lab-env';
import { tally } from './tally';
import { buildSdk } from '../setup/build-sdk';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseLeaks, OURS } = require('../../scripts/leak-check.js') as {
  parseLeaks(text: string): { records: Array<{ bytes: number; blocks: number; kind: string; frames: string[] }> };
  OURS: RegExp;
};

const root = path.join(__dirname, '..', '..');
const addon = process.env.XRBD_ADDON ?? path.join(root, 'build', 'Release', 'xrbd.node');
let lab: Lab;
let dist: string;
let scenarios = 0;
let crashes = 0;

interface Report {
  end: string;
  exitCode: number | null;
  signal: string | null;
  seconds: number;
  definite: { records: number; bytes: number };
  ours: { records: number; bytes: number };
  possiblyOurs: { records: number; bytes: number };
  ourErrors: number;
  valgrindErrors: number | null;
}

beforeAll(async () => {
  lab = await getLab();
  dist = await buildSdk('xrbd-leaks-dist-');
}, 120_000);

afterAll(() => {
  if (dist) rmSync(dist, { recursive: true, force: true });
  tally('leaks', { scenarios, crashes });
});

/** node scripts/leak-check.js ...; resolves with its exit code, its output and the report line. */
function leakCheck(image: string, end: 'natural' | 'exit'): Promise<{ code: number | null; out: string; report: Report }> {
  return new Promise((resolve, reject) => {
    const args = ['scripts/leak-check.js', '--conf', lab.site('site-a').confPath, '--pool', lab.pool, '--image', image, '--end', end];
    const p = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, XRBD_DIST: dist, XRBD_ADDON: path.resolve(addon) },
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`leak check hung; output:\n${out}`));
    }, 220_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      const line = out.split('\n').find((l) => l.startsWith('LEAK-CHECK '));
      if (!line) return reject(new Error(`no LEAK-CHECK line (exit ${code}); output:\n${out}`));
      resolve({ code, out, report: JSON.parse(line.slice('LEAK-CHECK '.length)) as Report });
    });
  });
}

async function removeIfThere(image: string): Promise<void> {
  try {
    await lab.rbd('site-a', ['rm', '--no-progress', `${lab.pool}/${image}`]);
  } catch {
    // The smoke removed it (the normal case).
  }
}

describe('valgrind', () => {
  test.each(['natural', 'exit'] as const)(
    'the smoke run under valgrind (%s end) has no definite leak and no memory error with a frame in the addon',
    async (end) => {
      const image = `leak-${end}-${process.pid}`;
      try {
        const { code, out, report } = await leakCheck(image, end);
        scenarios++;
        if (report.signal !== null) crashes++;
        process.stdout.write(
          `leaks (${end} end): valgrind run ${report.seconds} s, smoke exit ${report.exitCode}; definite leaks ${report.definite.records} ` +
            `(${report.definite.bytes} bytes), of them ours ${report.ours.records}; possibly lost with a frame of ours ` +
            `${report.possiblyOurs.records}; memory errors of ours ${report.ourErrors}; valgrind errors after suppressions ${report.valgrindErrors}\n`,
        );
        expect({ smoke: report.exitCode, signal: report.signal }).toEqual({ smoke: 0, signal: null });
        expect(out).toContain('smoke: closed');
        expect({ ours: report.ours, ourErrors: report.ourErrors }).toEqual({ ours: { records: 0, bytes: 0 }, ourErrors: 0 });
        expect(code).toBe(0);
      } finally {
        await removeIfThere(image);
      }
    },
    240_000,
  );
});

describe("the log reader (what makes a leak 'ours')", () => {
  // Shaped like valgrind 3.19's output.
  const log = [
    '==1== 64 bytes in 1 blocks are definitely lost in loss record 10 of 20',
    '==1==    at 0x483877F: operator new(unsigned long) (vg_replace_malloc.c:422)',
    '==1==    by 0x7A1B2C3: xrbd::AioOp::Start (in /work/main/build/Release/xrbd.node)',
    '==1==    by 0xBBAC1A: node::InternalCallbackScope::Close() (in /usr/bin/node)',
    '==1== ',
    '==1== 32 (16 direct, 16 indirect) bytes in 1 blocks are definitely lost in loss record 9 of 20',
    '==1==    at 0x483877F: malloc (vg_replace_malloc.c:381)',
    '==1==    by 0x9000000: ceph::buffer::create (in /usr/lib/x86_64-linux-gnu/ceph/libceph-common.so.2)',
    '==1==    by 0x9000100: Messenger::worker (in /usr/lib/x86_64-linux-gnu/ceph/libceph-common.so.2)',
    '==1== ',
    '==1== 8 bytes in 1 blocks are possibly lost in loss record 1 of 20',
    '==1==    at 0x483877F: calloc (vg_replace_malloc.c:1340)',
    '==1==    by 0x7A1B000: xrbd::WatchState::OnUpdate(void*) (watch.cc:74)',
    '==1== ',
  ].join('\n');

  test('reads every loss record with its kind, size and frames', () => {
    const { records } = parseLeaks(log);
    expect(records.map((r) => [r.kind, r.bytes, r.blocks, r.frames.length])).toEqual([
      ['definitely', 64, 1, 3],
      ['definitely', 32, 1, 3],
      ['possibly', 8, 1, 2],
    ]);
  });

  test('a stack with a frame in xrbd.node is ours; one only in Ceph and Node is not', () => {
    const ours = parseLeaks(log).records.map((r) => r.frames.some((f) => OURS.test(f)));
    expect(ours).toEqual([true, false, false]);
  });

  test('a frame in a native/ source (a -g build) is ours too', () => {
    expect(OURS.test('by 0x7A1B000: xrbd::WatchState::OnUpdate(void*) (native/watch.cc:74)')).toBe(true);
  });
});
