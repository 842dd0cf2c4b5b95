#!/usr/bin/env bash
# npm run test:containers — the integration suite against the two-site lab in
# containers (one container per site, image of docker/Dockerfile), from a fresh
# machine: host set-up (scripts/setup.sh: Ceph CLI, npm deps, addon, dist/),
# engine (Docker if `docker info` answers, else podman + runc, installed if
# missing), images (cached between runs), both sites, the mirroring set-up,
# `jest --selectProjects integration` with XRBD_LAB_DIR on that lab; the
# containers are always removed at the end.
#
#   npm run test:containers                   the whole integration project
#   npm run test:containers -- test/integration/image/io.test.ts   extra arguments go to jest
#
# XRBD_KEEP_CONTAINERS=1 leaves the lab running afterwards (scripts/container-lab.sh down).
# XRBD_CONTAINER_TEST_TIMEOUT bounds the jest run (default 1500 s). See
# scripts/container-lab.sh for the ports, lab directory and image settings.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
LAB_DIR="$(bash scripts/container-lab.sh env | sed -n 's/^XRBD_LAB_DIR=//p')"
RELEASE="$(bash scripts/container-lab.sh env | sed -n 's/^XRBD_CEPH_RELEASE=//p')"

bash scripts/setup.sh

teardown() {
  local rc=$?
  if [[ "${XRBD_KEEP_CONTAINERS:-0}" == 1 ]]; then
    echo "test-containers: leaving the container lab running (XRBD_LAB_DIR=$LAB_DIR; scripts/container-lab.sh down)" >&2
  else
    bash scripts/container-lab.sh down --purge || rc=1
  fi
  echo "test-containers: finished in $(( $(date +%s) - started )) s (exit $rc)" >&2
  exit $rc
}
trap teardown EXIT
child=""
# a signal ends the running step first (jest runs in the background for that), then the teardown runs
trap '[[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null; exit 130' INT TERM

t0=$(date +%s)
bash scripts/container-lab.sh up
echo "test-containers: container lab up in $(( $(date +%s) - t0 )) s" >&2

t0=$(date +%s)
XRBD_LAB_DIR="$LAB_DIR" timeout -k 30 "${XRBD_CONTAINER_TEST_TIMEOUT:-1500}" \
  bash scripts/with-cores.sh npx jest "$@" --selectProjects integration &
child=$!
wait "$child"
echo "test-containers: integration suite passed in $(( $(date +%s) - t0 )) s" >&2
