#!/usr/bin/env bash
# npm run test:faults: the fault-injection, bad-input, property, leak and exit-safety
# suites (jest project 'faults', not part of npm test), then a table of what they
# recorded in the tally (scripts/faults-table.js). Exits non-zero if jest failed or a
# crash, hang or data mismatch was recorded. Arguments go to jest, e.g.
#   npm run test:faults -- test/faults/lab-faults.test.ts
#   npm run test:faults -- --json --outputFile=faults.json
# The faults project shares the default two-site lab through test/setup/global-setup.ts
# (started if none is running, stopped at the end); suites that need a lab of their own
# (lab-faults: .lab-faults, mons from XRBD_FAULTS_BASE_PORT, default XRBD_LAB_BASE_PORT + 500
# = 17600; dr-site-loss: .lab-dr, XRBD_LAB_BASE_PORT + 700; test/setup/ports.ts) start it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

export XRBD_FAULTS_TALLY="${XRBD_FAULTS_TALLY:-$PWD/.faults-tally.jsonl}"
rm -f "$XRBD_FAULTS_TALLY"

# The caller's arguments first: --selectProjects takes every word after it as a
# project name, so a test path given after it would be read as one.
jest_rc=0
bash scripts/with-cores.sh npx jest --maxWorkers=1 "$@" --selectProjects faults || jest_rc=$?

table_rc=0
node scripts/faults-table.js "$XRBD_FAULTS_TALLY" || table_rc=$?

if ((jest_rc != 0)); then
  echo "test:faults: jest failed (exit $jest_rc)"
  exit "$jest_rc"
fi
if ((table_rc != 0)); then
  echo "test:faults: the tally records failures (exit $table_rc)"
  exit "$table_rc"
fi
