#!/usr/bin/env bash
# npm run test:faults:20.2 — the fault suites (jest project 'faults', test/faults/)
# on Ceph 20.2: client AND daemons of that release. It runs them the way
# `npm run test:client-container` runs unit + integration: the SDK built against
# the release's librbd/librados inside the client container
# (localhost/xrbd-client:<suite>, which holds the release's daemons too), and the
# faults project's labs — the shared lab of the global setup, lab-faults' bluestore
# lab, dr-site-loss' demo lab — started natively inside that container by
# docker/ceph-site.sh, so every kill -9, stopped monitor and killed client hits a
# 20.2 daemon or a 20.2 librbd. Then the tally table (scripts/faults-table.js), as
# `npm run test:faults` ends with it.
#
#   npm run test:faults:20.2                        every fault suite but leaks (see below)
#   XRBD_FAULTS_SET=ci npm run test:faults:20.2     the subset .ci/run runs (lab-faults)
#   npm run test:faults:20.2 -- test/faults/property.test.ts    extra arguments go to jest
#
# leaks.test.ts is left out, loudly: it runs node under valgrind, and the client
# image has no valgrind (the 16.2 host run, `npm run test:faults`, covers the
# addon's leaks; adding valgrind to the image would rebuild it for every client-container user).
#
# Environment:
#   XRBD_CEPH_RELEASE          20.2 (default) | 18.2 | 16.2
#   XRBD_FAULTS_SET            all (default) | ci
#   XRBD_CONTAINER_BASE_PORT   the labs' base port inside the container (default 22100: base … base+999,
#                              as test/setup/ports.ts lays them out)
#   XRBD_CLIENT_STATE_DIR      state (logs, npm ci, the lab, the tally, jest.json);
#                              default build-client-faults-<release>
#   XRBD_FAULTS_TALLY          the tally file (default <state>/faults-tally.jsonl; must be under the state dir,
#                              which the container mounts at the same path)
#   XRBD_PROPERTY_SEED, XRBD_LAB_VERBOSE   passed on to the jest run
#   and scripts/test-client-container.sh's (XRBD_CLIENT_IMAGE, XRBD_CLIENT_TEST_TIMEOUT, XRBD_CLIENT_KEEP, ...).
# Exits non-zero when jest failed or the tally records a crash, a hang or a data mismatch.
# One compound command, read before any of it runs (an edit during a run cannot shift it).
{
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd -P)"

export XRBD_CEPH_RELEASE="${XRBD_CEPH_RELEASE:-20.2}"
case "$XRBD_CEPH_RELEASE" in
  16|16.2|pacific) rel=16.2 ;;
  18|18.2|reef) rel=18.2 ;;
  20|20.2|tentacle) rel=20.2 ;;
  *) echo "test-faults-container: XRBD_CEPH_RELEASE must be 16.2, 18.2 or 20.2 (got '$XRBD_CEPH_RELEASE')" >&2; exit 2 ;;
esac

export XRBD_CLIENT_STATE_DIR="${XRBD_CLIENT_STATE_DIR:-$REPO/build-client-faults-$rel}"
mkdir -p "$XRBD_CLIENT_STATE_DIR"
XRBD_CLIENT_STATE_DIR="$(cd "$XRBD_CLIENT_STATE_DIR" && pwd -P)"
export XRBD_FAULTS_TALLY="${XRBD_FAULTS_TALLY:-$XRBD_CLIENT_STATE_DIR/faults-tally.jsonl}"
case "$XRBD_FAULTS_TALLY" in
  "$XRBD_CLIENT_STATE_DIR"/*) ;;
  *) echo "test-faults-container: XRBD_FAULTS_TALLY must be under $XRBD_CLIENT_STATE_DIR (the container sees only that)" >&2; exit 2 ;;
esac
rm -f "$XRBD_FAULTS_TALLY"
export XRBD_CONTAINER_BASE_PORT="${XRBD_CONTAINER_BASE_PORT:-22100}"
export XRBD_CLIENT_JEST_PROJECTS=faults
# lab-faults' bluestore OSDs: with the engine's default seccomp profile, libaio's io_getevents in
# ceph-osd 20.2 fails EPERM ("got unexpected error from io_getevents", abort at mkfs)
export XRBD_CLIENT_ENGINE_ARGS="${XRBD_CLIENT_ENGINE_ARGS:---security-opt seccomp=unconfined}"
export XRBD_CLIENT_PASS_ENV="XRBD_FAULTS_TALLY XRBD_PROPERTY_SEED XRBD_LAB_VERBOSE ${XRBD_CLIENT_PASS_ENV:-}"

# a test path among the arguments picks the suites; otherwise the set does
paths=0
for a in "$@"; do [[ "$a" == test/* || "$a" == *.test.ts ]] && paths=1; done
set_args=()
if ((paths == 0)); then
  case "${XRBD_FAULTS_SET:-all}" in
    all) set_args=(--testPathIgnorePatterns 'test/faults/leaks\.test\.ts') ;;
    ci) set_args=(test/faults/lab-faults.test.ts) ;;
    *) echo "test-faults-container: XRBD_FAULTS_SET must be all or ci (got '$XRBD_FAULTS_SET')" >&2; exit 2 ;;
  esac
  echo "test-faults-container: Ceph $rel client and daemons; set ${XRBD_FAULTS_SET:-all}:" \
    "${set_args[*]}" "(leaks.test.ts NOT run here: no valgrind in the client image)" >&2
fi

jest_rc=0
bash scripts/test-client-container.sh --maxWorkers=1 "${set_args[@]}" "$@" || jest_rc=$?

table_rc=0
echo "faults on Ceph $rel (client container, $XRBD_CEPH_RELEASE daemons):"
node scripts/faults-table.js "$XRBD_FAULTS_TALLY" || table_rc=$?

if ((jest_rc != 0)); then
  echo "test:faults ($rel): jest failed (exit $jest_rc)"
  exit "$jest_rc"
fi
if ((table_rc != 0)); then
  echo "test:faults ($rel): the tally records failures (exit $table_rc)"
  exit "$table_rc"
fi
exit 0
}
