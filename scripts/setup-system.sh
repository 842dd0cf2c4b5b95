#!/usr/bin/env bash
# Install the system packages @x/rbd needs, on Debian or Ubuntu: the librbd and
# librados headers to build the addon, the Ceph daemons and CLI for the lab,
# the official Python binding and fio for cross-checks and benchmarks, and
# valgrind for the faults run's leak check, gdb for backtraces of a crashed test run.
# Installs only what is missing; as root directly, else through sudo; when it
# can do neither it prints the exact command to run and exits non-zero.
set -euo pipefail

PACKAGES=(
  librbd-dev librados-dev          # build: headers and librbd.so / librados.so
  ceph-mon ceph-osd ceph-mgr       # lab: one single-node cluster per site
  rbd-mirror ceph-common           # lab: the mirror daemon; the rbd/ceph CLIs
  uuid-runtime                     # lab: uuidgen
  python3-rbd python3-rados        # cross-checks against the official binding
  fio                              # benchmarks: fio's rbd ioengine
  valgrind                         # faults: the leak check (scripts/leak-check.js, npm run test:faults)
  gdb file                         # tests: backtraces of a crashed test process (scripts/with-cores.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
  case "$p" in \#*) continue ;; esac
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: all system packages present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: missing ${missing[*]}, and this is not a Debian/Ubuntu system (no apt-get)." >&2
  echo "setup-system: install Ceph's librbd/librados headers, ceph-mon, ceph-osd, ceph-mgr, rbd-mirror and ceph-common (16.2 or newer) by hand." >&2
  exit 1
fi

cmd=(env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo)
else
  echo "setup-system: missing packages: ${missing[*]}" >&2
  echo "setup-system: run this as root, then try again:" >&2
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "setup-system: installing ${missing[*]}"
# The package lists may be absent on a fresh machine: update once, then install.
"${run[@]}" apt-get update -qq
"${run[@]}" "${cmd[@]}" -qq
echo "setup-system: done"
