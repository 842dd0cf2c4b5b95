#!/usr/bin/env bash
# npm run test:client-container — the SDK built and tested inside a client
# container of another Ceph release (default 20.2 "Tentacle", Debian forky),
# against a lab of that same release:
#
#   1. client image localhost/xrbd-client:<suite>: the base image of
#      scripts/container-engine.sh (debootstrap) + g++/make/python3, the
#      release's librbd-dev/librados-dev, the rbd/ceph CLIs and python3-rbd
#      (oracles), and the daemons (ceph-mon/osd/mgr, rbd-mirror) of the lab;
#      cached, labelled with a hash of its Containerfile;
#   2. the repository's tracked and untracked-but-not-ignored files (never the
#      host's node_modules/, build/, dist/ or prebuilds/) copied into the
#      container; `npm ci --ignore-scripts` there (host network, the host's CA
#      bundle); the addon built with node-gyp against the release's headers
#      (the compiler's warnings are listed); tsc;
#   3. `jest --selectProjects unit integration` in the container. The
#      integration project's global setup starts the native two-site lab
#      (docker/ceph-site.sh, the daemons of the image) in XRBD_LAB_DIR, so the
#      lab is the same release as the client, and stops it at the end.
#
# The container cannot reach nodejs.org: the host's node (same major as the
# project needs), its headers and its npm are mounted read-only, as in
# scripts/prebuild.sh. Host network: the lab binds 127.0.0.1 on its ports.
#
#   npm run test:client-container                         unit + integration
#   npm run test:client-container -- test/integration/dr/dr.test.ts   extra arguments go to jest
#
# Environment:
#   XRBD_CEPH_RELEASE            20.2 (default) | 18.2 | 16.2 (the suite: forky | trixie | bookworm)
#   XRBD_CLIENT_IMAGE            image name (default localhost/xrbd-client:<suite>)
#   XRBD_CONTAINER_BASE_PORT     the lab's base port (mons on base and base+100; default 21100)
#   XRBD_CLIENT_JEST_PROJECTS    jest projects (default "unit integration")
#   XRBD_CLIENT_TEST_TIMEOUT     bound of the jest run, seconds (default 2400)
#   XRBD_CLIENT_JOBS             make jobs for the addon (default 2)
#   XRBD_CLIENT_NPM_CACHE=1      keep npm's cache between runs in build-client-<suite>/npm-cache
#   XRBD_CLIENT_IMAGE_ONLY=1     build (or find) the image and stop
#   XRBD_CLIENT_NO_JEST=1        stop after the build (addon + tsc)
#   XRBD_CLIENT_KEEP=1           leave the container (xrbd-client-p<port>) running, for `exec` (debugging)
#   XRBD_CLIENT_STATE_DIR        state directory (default build-client-<suite>; another one lets two runs
#                                of different ports go side by side)
#   XRBD_CLIENT_ENGINE_ARGS      extra arguments of the container's `run`, space-separated (test-faults-container.sh:
#                                --security-opt seccomp=unconfined, for bluestore OSDs' libaio)
#   XRBD_CLIENT_PASS_ENV         names of host variables passed on to the jest run, space-separated
#                                (e.g. "XRBD_FAULTS_TALLY XRBD_PROPERTY_SEED"; unset ones are left out)
#   and container-engine.sh's XRBD_CONTAINER_ENGINE, XRBD_DEBIAN_MIRROR, XRBD_REBUILD=1.
# State (logs, the lab directory, the jest output): build-client-<suite>/ (gitignored).
# The whole script is one compound command, read before any of it runs: an
# edit of this file (git pull, a merge) during a run cannot shift what runs next.
{
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd -P)"
started=$(date +%s)

log() { echo "client-container: $*" >&2; }
die() { echo "client-container: $*" >&2; exit 1; }

MIRROR="${XRBD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
XRBD_CEPH_RELEASE="${XRBD_CEPH_RELEASE:-20.2}"
# shellcheck source=scripts/container-engine.sh
source scripts/container-engine.sh
ceph_release_suite
STATE_DIR="${XRBD_CLIENT_STATE_DIR:-$REPO/build-client-$DEBIAN_SUITE}"
mkdir -p "$STATE_DIR"
STATE_DIR="$(cd "$STATE_DIR" && pwd -P)"
ENGINE_STATE_DIR="$STATE_DIR"
CLIENT_IMAGE="${XRBD_CLIENT_IMAGE:-localhost/xrbd-client:$DEBIAN_SUITE}"
BASE_PORT="${XRBD_CONTAINER_BASE_PORT:-21100}"
[[ "$BASE_PORT" =~ ^[0-9]+$ ]] || die "bad XRBD_CONTAINER_BASE_PORT '$BASE_PORT'"
JOBS="${XRBD_CLIENT_JOBS:-2}"
PROJECTS="${XRBD_CLIENT_JEST_PROJECTS:-unit integration}"
LAB_DIR="$STATE_DIR/lab"
CTR="xrbd-client-p$BASE_PORT"
phases=()
phase() { phases+=("$1: $2 s"); log "$1: $2 s"; }

# ------------------------------------------------------------------ node to mount
host_node
CA_BUNDLE="${XRBD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[[ -f "$CA_BUNDLE" ]] || die "no CA bundle at $CA_BUNDLE (npm inside the container needs it; XRBD_CA_BUNDLE)"

# ------------------------------------------------------------------ client image
containerfile() {
  cat <<EOF
FROM $BASE_IMAGE
# build: g++, make, python3 (node-gyp), the release's headers; oracles: the rbd/ceph
# CLIs, python3-rbd/rados; the lab: the daemons, uuidgen, ss, ps; crashes: gdb, file
RUN set -eux; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; \\
    apt-get install -y -qq --no-install-recommends \\
      g++ make python3 librbd-dev librados-dev \\
      ceph-common python3-rbd python3-rados \\
      ceph-mon ceph-osd ceph-mgr rbd-mirror uuid-runtime \\
      procps iproute2 util-linux coreutils gdb file >/dev/null; \\
    apt-get clean; rm -rf /var/lib/apt/lists/*; \\
    dpkg-query -W -f='\${Package} \${Version}\n' librbd-dev librados-dev ceph-mon g++ libc6; ceph --version
EOF
}

ensure_client_image() {
  ensure_base_image "$DEBIAN_SUITE"
  ensure_generated_image "client image" "$CLIENT_IMAGE" containerfile 1800
}

setup_engine
t0=$(now)
ensure_client_image
phase "image" $(( $(now) - t0 ))
[[ "${XRBD_CLIENT_IMAGE_ONLY:-0}" == 1 ]] && exit 0

# ------------------------------------------------------------------ the sources
# what a fresh clone (plus the work tree's changes) has: git's tracked and
# untracked-but-not-ignored files that exist; without git, all but the build output
FILES="$STATE_DIR/files.txt"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$REPO" ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done >"$FILES"
else
  find . -mindepth 1 \( -name node_modules -o -name build -o -name 'build-*' -o -name dist -o -name prebuilds \
    -o -name '.lab*' -o -name .git -o -name .cores \) -prune -o \( -type f -o -type l \) -print0 >"$FILES"
fi
grep -qz '^package-lock.json$' "$FILES" || die "no package-lock.json among the sources (npm ci needs it)"

# ------------------------------------------------------------------ run
teardown() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ "${XRBD_CLIENT_KEEP:-0}" == 1 ]]; then
    log "leaving container $CTR running (podman exec -w /build $CTR ...; podman rm -f $CTR)"
  elif engine container inspect "$CTR" >/dev/null 2>&1; then
    # a lab the run left behind (a killed jest): its daemons live in the container
    timeout 120 "$ENGINE" exec "$CTR" bash -c 'cd /build 2>/dev/null && for s in "$XRBD_LAB_DIR"/site-*; do
        [[ -d $s ]] && timeout 60 bash docker/ceph-site.sh stop --dir "$s"; done' >/dev/null 2>&1 || true
    timeout 60 "$ENGINE" rm -f "$CTR" >/dev/null 2>&1 || log "cannot remove container $CTR"
  fi
  log "phases: ${phases[*]:-none}"
  log "finished in $(( $(now) - started )) s (exit $rc)"
  exit $rc
}
trap teardown EXIT
trap 'exit 130' INT TERM

engine rm -f "$CTR" >/dev/null 2>&1 || true
rm -rf "$LAB_DIR"; mkdir -p "$LAB_DIR"
mounts=("${NODE_MOUNTS[@]}"
        -v "$CA_BUNDLE:/etc/ssl/certs/host-ca-bundle.crt:ro"
        -v "$REPO:/src:ro" -v "$STATE_DIR:$STATE_DIR")
if [[ "${XRBD_CLIENT_NPM_CACHE:-0}" == 1 ]]; then
  mkdir -p "$STATE_DIR/npm-cache"; mounts+=(-v "$STATE_DIR/npm-cache:/root/.npm")
fi
# a long-lived container; each phase is an exec in it (timed apart)
# shellcheck disable=SC2206
engine_args=(${XRBD_CLIENT_ENGINE_ARGS:-})
engine run -d --name "$CTR" --network host "${engine_args[@]}" "${mounts[@]}" \
  -e PATH=/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  -e npm_config_nodedir=/opt/node -e npm_config_cafile=/etc/ssl/certs/host-ca-bundle.crt \
  -e NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-bundle.crt \
  -e npm_config_update_notifier=false -e CI=1 -e JOBS="$JOBS" \
  -e XRBD_LAB_DIR="$LAB_DIR" -e XRBD_LAB_BASE_PORT="$BASE_PORT" \
  "$CLIENT_IMAGE" sleep infinity >/dev/null
in_ctr() { engine exec -w /build "$CTR" bash -euo pipefail -c "$1"; }
engine exec "$CTR" bash -euo pipefail -c "
  ln -sf /opt/node/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
  ln -sf /opt/node/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
  mkdir /build && tar -C /src --null -T '$FILES' -cf - | tar -C /build -xf -
  echo \"container: node \$(node --version), npm \$(npm --version), \$(g++ --version | head -n1), \$(ceph --version)\"" >&2

t0=$(now)
log "npm ci (host network, the host's CA bundle)"
in_ctr 'npm ci --no-audit --no-fund --ignore-scripts' >"$STATE_DIR/npm-ci.log" 2>&1 \
  || { tail -n 30 "$STATE_DIR/npm-ci.log" >&2; die "npm ci failed; see $STATE_DIR/npm-ci.log"; }
phase "npm ci" $(( $(now) - t0 ))

t0=$(now)
log "addon: node-gyp rebuild against the container's librbd/librados headers (make -j$JOBS)"
in_ctr 'npm run --silent build:native -- --jobs "$JOBS"' >"$STATE_DIR/addon.log" 2>&1 \
  || { grep -E 'error|Error' "$STATE_DIR/addon.log" | head -n 30 >&2; die "the addon build failed; see $STATE_DIR/addon.log"; }
phase "addon" $(( $(now) - t0 ))
warnings="$(grep -cE ': warning: ' "$STATE_DIR/addon.log" || true)"
if ((warnings > 0)); then
  log "the compiler warned $warnings time(s) (see $STATE_DIR/addon.log):"
  grep -E ': warning: ' "$STATE_DIR/addon.log" | sort -u | head -n 40 >&2
else
  log "no compiler warning"
fi
# the addon jest loads is this build, linked against the container's librbd
in_ctr 'test ! -e prebuilds; node -e "
  const a = require(\"node-gyp-build\")(process.cwd());
  console.log(\"container: addon loads, librbd \" + a.versions().rbd)"' >&2

t0=$(now)
in_ctr 'npm run --silent build:ts' >"$STATE_DIR/tsc.log" 2>&1 \
  || { tail -n 30 "$STATE_DIR/tsc.log" >&2; die "tsc failed; see $STATE_DIR/tsc.log"; }
phase "tsc" $(( $(now) - t0 ))
[[ "${XRBD_CLIENT_NO_JEST:-0}" == 1 ]] && exit 0

t0=$(now)
# shellcheck disable=SC2206
projects=(--selectProjects $PROJECTS)
log "jest $* ${projects[*]} (lab: native, in the container, $LAB_DIR, ports $BASE_PORT..$((BASE_PORT + 199)))"
quoted="$(printf '%q ' "$@" "${projects[@]}")"
pass=()
for v in ${XRBD_CLIENT_PASS_ENV:-}; do
  [[ "$v" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "XRBD_CLIENT_PASS_ENV: '$v' is not a variable name"
  [[ -n "${!v+set}" ]] && pass+=(-e "$v=${!v}")
done
set +e
timeout -k 30 "${XRBD_CLIENT_TEST_TIMEOUT:-2400}" "$ENGINE" exec "${pass[@]}" -w /build "$CTR" \
  bash -c "ulimit -c unlimited; bash scripts/with-cores.sh npx jest $quoted" 2>&1 | tee "$STATE_DIR/jest.log"
rc=${PIPESTATUS[0]}
set -e
phase "jest" $(( $(now) - t0 ))
grep -E '^(Tests|Test Suites):' "$STATE_DIR/jest.log" | sed 's/^/client-container: /' >&2 || true
exit "$rc"
}
