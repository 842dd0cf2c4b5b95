// For child-process tests: the SDK compiled from the current lib/ into a private folder.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '../..');

/**
 * tsc (tsconfig.build.json) into a fresh temp folder named after `prefix`;
 * resolves with the folder (the caller removes it). tsc emits despite type
 * errors (noEmitOnError is off), so a half-done change elsewhere in lib/ does
 * not stop a suite; only a build that emitted nothing fails.
 */
export async function buildSdk(prefix: string): Promise<string> {
  const out = mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    await promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], {
      cwd: root,
    });
  } catch (err) {
    if (!existsSync(path.join(out, 'index.js'))) throw new Error(`tsc emitted nothing: ${(err as { stdout?: string }).stdout ?? String(err)}`);
  }
  return out;
}
