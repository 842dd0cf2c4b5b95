#!/usr/bin/env bash
# Are the lab's two librbd 16.2.15 workarounds still needed on another release?
# (README "Known issues"). Stress runs with each one off, on Ceph 20.2 by default:
# the SDK built in the client container of that release (scripts/test-client-container.sh,
# no jest), a two-site lab of that release started inside it, then
#
#   1. gate off: the property suite (random I/O, handles and demote/promote/enable/disable
#      of snapshot mirroring through two Cluster connections: another handle asks for the
#      exclusive lock in the middle of a demote) run XRBD_STRESS_GATE_RUNS times with the
#      SDK's role gate bypassed (test/faults/stress/jest.gate-off.config.js; a test-only
#      jest.mock of lib/image/role-gate.ts, librbd untouched);
#   2. limit off: scripts/stress-mirror-snapshots.js, XRBD_STRESS_SNAP_ROUNDS rounds of
#      mirror snapshots back to back on replicating images with the client's
#      rbd_mirroring_max_mirroring_snapshots at librbd's default (5, not the lab's 100),
#      with the gate on and then off (XRBD_STRESS_SNAP_GATES, default "on off"), for each
#      limit in XRBD_STRESS_SNAP_LIMITS (default "5"; "100" is the lab's 16.2 setting).
#
# Each run/round that ends with a signal (SIGSEGV, an abort) is a crash; the gdb
# backtrace of its core is printed (scripts/with-cores.sh). Ends with one line per
# stress and STRESS-SUMMARY {...}.
#
#   bash scripts/stress-workarounds.sh                           20.2, defaults below
#   XRBD_CEPH_RELEASE=16.2 bash scripts/stress-workarounds.sh    the same in a 16.2 client container
#
# Environment: XRBD_STRESS_GATE_RUNS (default 8), XRBD_STRESS_SNAP_ROUNDS (default 3 per gate
# setting), XRBD_STRESS_SNAPS (mirror snapshots per image per round, default 60),
# XRBD_STRESS_IMAGES (default 3), XRBD_CONTAINER_BASE_PORT (default 23100), and
# scripts/test-client-container.sh's. State: build-client-stress-<release>/ (gitignored).
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
  *) echo "stress: XRBD_CEPH_RELEASE must be 16.2, 18.2 or 20.2" >&2; exit 2 ;;
esac
GATE_RUNS="${XRBD_STRESS_GATE_RUNS:-8}"
SNAP_ROUNDS="${XRBD_STRESS_SNAP_ROUNDS:-3}"
SNAPS="${XRBD_STRESS_SNAPS:-60}"
IMAGES="${XRBD_STRESS_IMAGES:-3}"
SNAP_GATES="${XRBD_STRESS_SNAP_GATES:-on off}"
SNAP_LIMITS="${XRBD_STRESS_SNAP_LIMITS:-5}"
export XRBD_CONTAINER_BASE_PORT="${XRBD_CONTAINER_BASE_PORT:-23100}"
BASE="$XRBD_CONTAINER_BASE_PORT"
export XRBD_CLIENT_STATE_DIR="${XRBD_CLIENT_STATE_DIR:-$REPO/build-client-stress-$rel}"
mkdir -p "$XRBD_CLIENT_STATE_DIR"
STATE="$(cd "$XRBD_CLIENT_STATE_DIR" && pwd -P)"
export XRBD_CLIENT_STATE_DIR="$STATE"
CTR="xrbd-client-p$BASE"
log() { echo "stress: $*" >&2; }

# the SDK built against the release's librbd, in a container left running
XRBD_CLIENT_NO_JEST=1 XRBD_CLIENT_KEEP=1 bash scripts/test-client-container.sh
export CONTAINERS_CONF="$STATE/containers.conf"
ENGINE="${XRBD_CONTAINER_ENGINE:-}"
if [[ -z "$ENGINE" ]]; then
  if command -v docker >/dev/null && timeout 15 docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
fi
in_ctr() { "$ENGINE" exec -w /build "$CTR" bash -c "$1"; }
cleanup() {
  local rc=$?
  in_ctr 'for s in "$XRBD_LAB_DIR"/site-*; do [[ -d $s ]] && timeout 60 bash docker/ceph-site.sh stop --dir "$s"; done' >/dev/null 2>&1 || true
  timeout 60 "$ENGINE" rm -f "$CTR" >/dev/null 2>&1 || log "cannot remove container $CTR"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ctr 'echo "container: librbd $(node -e "console.log(require(\"node-gyp-build\")(process.cwd()).versions().rbd)"), $(ceph --version)"' >&2
log "starting a two-site lab of Ceph $rel in the container (mons on $BASE, $((BASE + 100)))"
in_ctr 'node dist/lab/cli.js start --dir "$XRBD_LAB_DIR" --base-port "$XRBD_LAB_BASE_PORT" --quiet >/dev/null'
in_ctr 'grep -H "max mirroring snapshots" "$XRBD_LAB_DIR"/site-a/ceph.conf || echo "site-a/ceph.conf: no rbd mirroring max mirroring snapshots (librbd default)"' >&2

# ---- 1. the property suite with the role gate bypassed
gate_runs=0 gate_crashes=0 gate_failed=0 gate_ok=0
for ((i = 1; i <= GATE_RUNS; i++)); do
  rc=0
  in_ctr "ulimit -c unlimited; bash scripts/with-cores.sh npx jest -c test/faults/stress/jest.gate-off.config.js --ci" \
    >"$STATE/gate-off-$i.log" 2>&1 || rc=$?
  gate_runs=$((gate_runs + 1))
  seed="$(grep -o 'seed [0-9]*' "$STATE/gate-off-$i.log" | head -n1 || true)"
  if ((rc >= 128)) || grep -q 'with-cores: .*core' "$STATE/gate-off-$i.log" || grep -qE 'signal=SIG(SEGV|ABRT|BUS)' "$STATE/gate-off-$i.log"; then
    gate_crashes=$((gate_crashes + 1)); verdict="CRASH (exit $rc)"
    grep -A30 'with-cores:' "$STATE/gate-off-$i.log" | head -n 40 >&2 || true
  elif ((rc != 0)); then
    gate_failed=$((gate_failed + 1)); verdict="failed (exit $rc; see $STATE/gate-off-$i.log)"
    grep -E '^\s+(Expected|Received|\+|-) |fail\(|mismatch|allows' "$STATE/gate-off-$i.log" | head -n 8 >&2 || true
  else
    gate_ok=$((gate_ok + 1)); verdict=ok
  fi
  log "gate off, property run $i/$GATE_RUNS ($seed): $verdict; $(grep -o '[0-9]* operations in [0-9.]* s' "$STATE/gate-off-$i.log" | head -n1 || true)"
done

# ---- 2. mirror snapshots back to back with librbd's default limit
snap_summary=()
snap_crashes=0
for lim in $SNAP_LIMITS; do
for g in $SNAP_GATES; do
  rc=0
  in_ctr "ulimit -c unlimited; bash scripts/with-cores.sh node scripts/stress-mirror-snapshots.js \
      --conf \"\$XRBD_LAB_DIR/site-a/ceph.conf\" --pool rbd-lab --rounds $SNAP_ROUNDS --snaps $SNAPS --images $IMAGES --limit $lim --gate $g" \
    2>&1 | tee "$STATE/snapshots-limit-$lim-gate-$g.log" >&2 || rc=$?
  line="$(grep '^STRESS-MIRROR-SNAPSHOTS ' "$STATE/snapshots-limit-$lim-gate-$g.log" | tail -n1 | cut -d' ' -f2-)"
  snap_summary+=("\"limit-$lim-gate-$g\":${line:-null}")
  c="$(node -e 'try{console.log(JSON.parse(process.argv[1]).crashes)}catch{console.log(0)}' "${line:-x}")"
  snap_crashes=$((snap_crashes + c))
done
done

echo "stress (Ceph $rel): gate off, property suite: $gate_runs runs, $gate_crashes crashes, $gate_failed other failures, $gate_ok passed"
echo "stress (Ceph $rel): mirror snapshots (rbd_mirroring_max_mirroring_snapshots $SNAP_LIMITS): ${snap_summary[*]}"
echo "STRESS-SUMMARY {\"release\":\"$rel\",\"gateOff\":{\"runs\":$gate_runs,\"crashes\":$gate_crashes,\"failed\":$gate_failed,\"ok\":$gate_ok},\"snapshots\":{$(IFS=,; echo "${snap_summary[*]}")}}"
((gate_crashes + snap_crashes == 0))
}
