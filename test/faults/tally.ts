// Counters for `npm run test:faults`: each fault/bad-input suite records what it
// tried and what happened; scripts/test-faults.sh prints the totals as a table.
// One JSON line per record, appended to XRBD_FAULTS_TALLY (default
// <repo>/.faults-tally.jsonl), so jest workers in parallel do not clobber each other.
import { appendFileSync } from 'node:fs';
import * as path from 'node:path';

export interface FaultCounts {
  /** Scenarios (test cases or generated sequences) run. */
  scenarios: number;
  /** Faults injected (kill -9, daemon stop, client killed, ...). */
  faults: number;
  /** Of those, faults after which the library and the data were fine. */
  survived: number;
  /** Bad inputs tried (each call with a wrong argument or a closed/foreign handle). */
  badInputs: number;
  /** Process aborts or signals (must stay 0). */
  crashes: number;
  /** Calls that did not settle within their bound (must stay 0). */
  hangs: number;
  /** Reads that did not return what was last acknowledged (must stay 0). */
  mismatches: number;
}

export function tallyFile(): string {
  return process.env.XRBD_FAULTS_TALLY ?? path.resolve(__dirname, '../../.faults-tally.jsonl');
}

/** Record counts for one suite/scenario. Missing counters are 0. */
export function tally(suite: string, counts: Partial<FaultCounts>): void {
  appendFileSync(tallyFile(), JSON.stringify({ suite, at: new Date().toISOString(), ...counts }) + '\n');
}
