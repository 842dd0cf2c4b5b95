#!/usr/bin/env bash
# The two-site lab with one container per site: the image of docker/Dockerfile
# runs docker/ceph-site.sh (the same script the native lab uses) in each
# container; the host-side lab controller (Lab.adopt in lib/lab) then creates the
# pool, sets up image-mode mirroring with bootstrap tokens, waits for both
# rbd-mirror daemons and writes lab.json, so that `XRBD_LAB_DIR=<dir> npx jest`
# (and Lab.attach) use the containers.
#
#   scripts/container-lab.sh images           engine + base image + site image (cached)
#   scripts/container-lab.sh up               images, both sites, the mirroring set-up
#   scripts/container-lab.sh down [--purge]   stop and remove the containers (--purge: the lab dir too)
#   scripts/container-lab.sh status           containers and daemons
#   scripts/container-lab.sh env              prints XRBD_LAB_DIR=... and XRBD_CEPH_RELEASE=... for the shell
#
# Containers share the host's network (each site binds 127.0.0.1 on its own
# ports: no bridge, no private-range address) and pid namespace (the pid files
# the sites write name processes the host can see), and each site directory is
# bind-mounted at the same path inside, so ceph.conf/site.json are valid on
# the host as written.
#
# Environment:
#   XRBD_CEPH_RELEASE        Ceph of the sites: 16.2 (default; Debian bookworm), 18.2 (trixie) or
#                            20.2 (forky); picks the base image, the site image and the lab dir
#   XRBD_CONTAINER_LAB_DIR   lab directory (default <repo>/.lab-containers-<release>)
#   XRBD_CONTAINER_BASE_PORT site-a's mon port; site-b gets +100 (default 20100)
#   XRBD_CONTAINER_ENGINE    docker | podman (default: docker if `docker info` answers, else podman)
#   XRBD_BASE_IMAGE          base image for 16.2 (default: debian:bookworm with Docker,
#                            localhost/xrbd-debian:bookworm made by debootstrap with podman; the
#                            other releases: debian:<suite> or localhost/xrbd-debian:<suite>)
#   XRBD_DEBIAN_MIRROR       mirror for debootstrap (default http://deb.debian.org/debian)
#   XRBD_SITE_IMAGE          site image name (default localhost/xrbd-ceph-site:<release>)
#   XRBD_REBUILD=1           rebuild the images even when cached
#   XRBD_CONTAINER_TIMEOUT   seconds for the sites to start (default 180)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd -P)"

log() { echo "container-lab: $*" >&2; }
die() { echo "container-lab: $*" >&2; exit 1; }

# engine set-up (podman: runc, cgroupfs, a containers.conf in $LAB_DIR), the base
# image, and XRBD_CEPH_RELEASE -> CEPH_RELEASE + DEBIAN_SUITE
# shellcheck source=scripts/container-engine.sh
source scripts/container-engine.sh
ceph_release_suite

LAB_DIR="${XRBD_CONTAINER_LAB_DIR:-$REPO/.lab-containers-$CEPH_RELEASE}"
BASE_PORT="${XRBD_CONTAINER_BASE_PORT:-20100}"
SITES=(site-a site-b)
SITE_IMAGE="${XRBD_SITE_IMAGE:-localhost/xrbd-ceph-site:$CEPH_RELEASE}"
START_TIMEOUT="${XRBD_CONTAINER_TIMEOUT:-180}"
MIRROR="${XRBD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

[[ "$BASE_PORT" =~ ^[0-9]+$ ]] || die "bad XRBD_CONTAINER_BASE_PORT '$BASE_PORT'"
mkdir -p "$LAB_DIR"
LAB_DIR="$(cd "$LAB_DIR" && pwd -P)"
ENGINE_STATE_DIR="$LAB_DIR"
# container names carry release and port, so labs of two releases (or ports) run side by side:
# xrbd-20.2-p20100-site-a, ...
CTR_PREFIX="xrbd-${CEPH_RELEASE}-p${BASE_PORT}"
container_of() { echo "$CTR_PREFIX-$1"; }
mon_port_of() { local i; for i in "${!SITES[@]}"; do [[ "${SITES[$i]}" == "$1" ]] && echo $((BASE_PORT + 100 * i)); done; return 0; }

# ------------------------------------------------------------------ images
# the build context, the release and the base image's id: a rebuilt base rebuilds the site image
context_hash() {
  { cat docker/Dockerfile docker/entrypoint.sh docker/ceph-site.sh
    echo "release=$CEPH_RELEASE base=$1 id=$(engine image inspect --format '{{.Id}}' "$1" 2>/dev/null)"
  } | sha256sum | cut -c1-16
}

ensure_images() {
  local base t0 hash have
  ensure_base_image "$DEBIAN_SUITE"
  base="$BASE_IMAGE"
  hash="$(context_hash "$base")"
  have="$(engine image inspect --format '{{ index .Config.Labels "xrbd.context" }}' "$SITE_IMAGE" 2>/dev/null || true)"
  if [[ "${XRBD_REBUILD:-0}" != 1 && "$have" == "$hash" ]]; then
    log "site image $SITE_IMAGE: cached (context $hash)"
    return 0
  fi
  t0=$(now)
  log "building site image $SITE_IMAGE (Ceph $CEPH_RELEASE) from $base (apt-get inside, host network)"
  local fmt=()
  [[ "$ENGINE" == podman ]] && fmt=(--format docker)
  if ! timeout 1200 "$ENGINE" build "${fmt[@]}" --network host --build-arg "BASE_IMAGE=$base" \
      --build-arg "CEPH_RELEASE=$CEPH_RELEASE" \
      --label "xrbd.context=$hash" -t "$SITE_IMAGE" docker >"$LAB_DIR/build.log" 2>&1; then
    tail -n 20 "$LAB_DIR/build.log" >&2
    die "site image build failed; see $LAB_DIR/build.log"
  fi
  local v
  v="$(timeout 60 "$ENGINE" run --rm --no-healthcheck --network none --entrypoint ceph-mon "$SITE_IMAGE" --version 2>/dev/null | cut -d' ' -f1-3)"
  log "site image built in $(( $(now) - t0 )) s (${v:-ceph version unknown})"
}

# ------------------------------------------------------------------ sites
running() { [[ "$(engine inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" == true ]]; }

remove_containers() {
  local s c
  for s in "${SITES[@]}"; do
    c="$(container_of "$s")"
    engine container inspect "$c" >/dev/null 2>&1 || continue
    # SIGTERM: the entrypoint runs ceph-site.sh stop (bounded at 45 s)
    timeout 90 "$ENGINE" stop -t 50 "$c" >/dev/null 2>&1 || log "stop of $c failed; removing it by force"
    timeout 60 "$ENGINE" rm -f "$c" >/dev/null 2>&1 || log "cannot remove container $c"
  done
  # belt and braces (shared pid namespace): whatever of a site is still recorded or names its conf
  for s in "${SITES[@]}"; do
    [[ -d "$LAB_DIR/$s" ]] && timeout 60 bash docker/ceph-site.sh stop --dir "$LAB_DIR/$s" || true
  done
}

# The release of the host's librbd (the clients of these sites: the SDK, the CLIs): ceph-site.sh
# keys its librbd 16.2.15 workaround (the mirror-snapshot limit) by it. Unknown: 16.2 (the safe side).
host_client_release() {
  local r
  r="$(rbd --version 2>/dev/null | sed -n 's/^ceph version \([0-9]*\.[0-9]*\).*/\1/p')"
  echo "${r:-16.2}"
}

start_sites() {
  local s c port dir client_release
  client_release="$(host_client_release)"
  rm -rf "$LAB_DIR/lab.json" "$LAB_DIR/.users"   # a fresh lab: no users of an old one
  for s in "${SITES[@]}"; do
    c="$(container_of "$s")"; port="$(mon_port_of "$s")"; dir="$LAB_DIR/$s"
    if [[ -e "$dir" ]]; then
      [[ -f "$dir/.ceph-site" || -z "$(ls -A "$dir")" ]] || die "$dir exists and is not a site directory; not wiping it"
      rm -rf "$dir"
    fi
    mkdir -p "$dir"
    local extra=()
    [[ "$ENGINE" == podman ]] && extra=(--no-healthcheck)   # podman's healthchecks need systemd
    engine run -d --name "$c" --network host --pid host --stop-timeout 50 "${extra[@]}" \
      --label "xrbd.lab-dir=$LAB_DIR" --label "xrbd.ceph-release=$CEPH_RELEASE" \
      -e "SITE_NAME=$s" -e "MON_PORT=$port" -e "SITE_DIR=$dir" -e "START_TIMEOUT=$START_TIMEOUT" \
      -e "XRBD_CLIENT_CEPH_RELEASE=$client_release" \
      ${MEMSTORE_BYTES:+-e "MEMSTORE_BYTES=$MEMSTORE_BYTES"} \
      -v "$dir:$dir" "$SITE_IMAGE" >/dev/null
    log "container $c: site $s (Ceph $CEPH_RELEASE), mon 127.0.0.1:$port"
  done
  # wait (bounded) for every site.json; a container that exits fails at once
  local deadline=$(( $(now) + START_TIMEOUT + 30 )) pending
  while :; do
    pending=()
    for s in "${SITES[@]}"; do
      c="$(container_of "$s")"
      [[ -f "$LAB_DIR/$s/site.json" ]] && continue
      if ! running "$c"; then
        engine logs --tail 30 "$c" >&2 || true
        die "container $c exited before site $s was up (logs above; daemon logs in $LAB_DIR/$s/log)"
      fi
      pending+=("$s")
    done
    ((${#pending[@]})) || break
    if (( $(now) > deadline )); then
      for s in "${pending[@]}"; do engine logs --tail 30 "$(container_of "$s")" >&2 || true; done
      die "timed out after $((START_TIMEOUT + 30)) s waiting for ${pending[*]}"
    fi
    sleep 1
  done
}

ensure_dist() {
  # the controller runs from dist/ (npm run build:ts); rebuild when lib/lab is newer
  if [[ ! -f dist/lab/index.js || -n "$(find lib/lab -newer dist/lab/index.js -print -quit)" ]]; then
    log "compiling TypeScript (dist/)"
    npm run --silent build:ts >/dev/null || [[ -f dist/lab/index.js ]] || die "npm run build:ts failed"
  fi
  command -v ceph >/dev/null && command -v rbd >/dev/null || die "the host needs the ceph and rbd CLIs for the set-up: bash scripts/setup-system.sh"
}

adopt() {
  XRBD_ADOPT_DIR="$LAB_DIR" XRBD_ADOPT_SITES="$(IFS=,; echo "${SITES[*]}")" timeout 300 node -e '
    const { Lab } = require("./dist/lab");
    Lab.adopt({
      dir: process.env.XRBD_ADOPT_DIR,
      sites: process.env.XRBD_ADOPT_SITES.split(","),
      timeoutMs: 180000,
      log: (l) => process.stderr.write(`container-lab: ${l}\n`),
    }).then(() => process.exit(0), (e) => { process.stderr.write(`container-lab: ${e && e.message || e}\n`); process.exit(1); });
  '
}

cmd_up() {
  local t0 t1
  t0=$(now)
  setup_engine
  ensure_images
  ensure_dist
  remove_containers
  t1=$(now)
  start_sites
  log "both sites up in $(( $(now) - t1 )) s"
  adopt || die "mirroring set-up failed (the containers are left running: scripts/container-lab.sh down)"
  log "lab ready in $(( $(now) - t1 )) s (sites + set-up; $(( $(now) - t0 )) s in all): XRBD_LAB_DIR=$LAB_DIR"
}

cmd_down() {
  setup_engine
  remove_containers
  rm -rf "$LAB_DIR/lab.json" "$LAB_DIR/.users"   # the lab is gone, and so are its users
  if [[ "${1:-}" == --purge ]]; then
    local s
    for s in "${SITES[@]}"; do rm -rf "${LAB_DIR:?}/$s"; done
    # ours, and the jest lock/user registry (lib/lab/lock.ts) a killed run leaves behind
    rm -rf "$LAB_DIR"/containers.conf "$LAB_DIR"/build.log "$LAB_DIR"/debootstrap*.log "$LAB_DIR"/.lock "$LAB_DIR"/.users 2>/dev/null || true
    rmdir "$LAB_DIR" 2>/dev/null || true
  fi
  log "down"
}

cmd_status() {
  setup_engine
  local s c rc=0
  for s in "${SITES[@]}"; do
    c="$(container_of "$s")"
    if running "$c"; then echo "$c: running"; else echo "$c: not running"; rc=1; fi
    bash docker/ceph-site.sh status --dir "$LAB_DIR/$s" | sed "s/^/  /" || rc=1
  done
  [[ -f "$LAB_DIR/lab.json" ]] && echo "lab.json: $LAB_DIR/lab.json" || { echo "lab.json: missing"; rc=1; }
  return $rc
}

case "${1:-}" in
  images) setup_engine; ensure_images ;;
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  env) echo "XRBD_LAB_DIR=$LAB_DIR"; echo "XRBD_CEPH_RELEASE=$CEPH_RELEASE" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
