# Sourced by scripts/container-lab.sh and scripts/prebuild.sh: the container
# engine as this kind of machine needs it, and the Debian 12 base image.
#
# The caller defines log() and die() and sets:
#   ENGINE_STATE_DIR  where containers.conf and debootstrap.log go (must exist)
#   MIRROR            the Debian mirror for debootstrap
# and may set ENGINE (docker | podman) to skip the detection.
# XRBD_CONTAINER_ENGINE, XRBD_BASE_IMAGE and XRBD_REBUILD=1 are read here.

now() { date +%s; }

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else die "needs root for: $*"
  fi
}

# ------------------------------------------------------------------ engine
ENGINE="${ENGINE:-${XRBD_CONTAINER_ENGINE:-}}"
pick_engine() {
  [[ -n "$ENGINE" ]] && return 0
  if command -v docker >/dev/null && timeout 15 docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
}

# podman as this machine kind needs it: runc (crun fails on its cgroups), cgroupfs,
# no default ulimits; in a project-local containers.conf, not the system's.
podman_setup() {
  local need=()
  command -v podman >/dev/null || need+=(podman)
  command -v runc >/dev/null || need+=(runc)
  if ((${#need[@]})); then
    command -v apt-get >/dev/null || die "podman/runc missing and no apt-get: install ${need[*]} (or a Docker engine)"
    log "installing ${need[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  [[ "$(id -u)" -eq 0 ]] || die "podman needs root here (rootful storage, host network/pid namespace)"
  local conf="$ENGINE_STATE_DIR/containers.conf"
  cat >"$conf.tmp" <<'EOF'
# written by scripts/container-engine.sh (CONTAINERS_CONF): podman on this kind of machine
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
EOF
  mv "$conf.tmp" "$conf"
  export CONTAINERS_CONF="$conf"
}

engine() { "$ENGINE" "$@"; }

setup_engine() {
  pick_engine
  case "$ENGINE" in
    podman) podman_setup ;;
    docker) command -v docker >/dev/null || die "no docker client" ;;
    *) die "XRBD_CONTAINER_ENGINE must be docker or podman (got '$ENGINE')" ;;
  esac
}

image_exists() { engine image inspect "$1" >/dev/null 2>&1; }

# ------------------------------------------------------------------ Ceph release
# XRBD_CEPH_RELEASE picks the Ceph of the container images, by the Debian suite
# whose packages carry it (the archive served here: 16.2.15 in bookworm, 18.2.7
# in trixie, 20.2.x in forky). Sets CEPH_RELEASE and DEBIAN_SUITE.
ceph_release_suite() {
  CEPH_RELEASE="${XRBD_CEPH_RELEASE:-16.2}"
  case "$CEPH_RELEASE" in
    16|16.2|pacific) CEPH_RELEASE=16.2; DEBIAN_SUITE=bookworm ;;
    18|18.2|reef) CEPH_RELEASE=18.2; DEBIAN_SUITE=trixie ;;
    20|20.2|tentacle) CEPH_RELEASE=20.2; DEBIAN_SUITE=forky ;;
    *) die "XRBD_CEPH_RELEASE must be 16.2, 18.2 or 20.2 (got '$CEPH_RELEASE')" ;;
  esac
}

# ------------------------------------------------------------------ base image
# Debian minbase of SUITE (bookworm | trixie | forky) through debootstrap: no
# registry needed, only a Debian mirror. What Docker Hub's Debian images have and
# a bare debootstrap lacks is added: /usr/sbin/policy-rc.d (no daemon starts from a
# postinst: ceph-mon 20.2's runs deb-systemd-invoke, which fails without systemd).
# The archive served here is a frozen snapshot whose testing suite (forky) reads as
# expired: apt skips the Valid-Until check for that suite only.
build_base_debootstrap() {
  local name="$1" suite="$2" root t0 script=()
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  # bookworm's debootstrap has no script named forky: it is built like sid
  [[ -e "/usr/share/debootstrap/scripts/$suite" ]] || script=(/usr/share/debootstrap/scripts/sid)
  t0=$(now)
  root="$(mktemp -d /var/tmp/xrbd-debootstrap.XXXXXX)"
  log "building base image $name: debootstrap --variant=minbase $suite ($MIRROR)"
  if ! timeout 900 debootstrap --variant=minbase "$suite" "$root" "$MIRROR" "${script[@]}" \
      >"$ENGINE_STATE_DIR/debootstrap-$suite.log" 2>&1; then
    rm -rf "$root"
    die "debootstrap $suite failed; see $ENGINE_STATE_DIR/debootstrap-$suite.log"
  fi
  local base="${MIRROR%/debian}"
  case "$suite" in
    bookworm|trixie)
      printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s/debian-security %s-security main\n' \
        "$MIRROR" "$suite" "$MIRROR" "$suite" "$base" "$suite" >"$root/etc/apt/sources.list" ;;
    *)
      printf 'deb [check-valid-until=no] %s %s main\n' "$MIRROR" "$suite" >"$root/etc/apt/sources.list" ;;
  esac
  rm -f "$root/etc/apt/sources.list.d/debian.sources"
  printf '#!/bin/sh\n# no daemon starts from a package script inside a container\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* 2>/dev/null || true
  tar -C "$root" -c . | engine import --change 'CMD ["/bin/bash"]' - "$name" >/dev/null
  rm -rf "$root"
  log "base image $name built in $(( $(now) - t0 )) s"
}

# Sets BASE_IMAGE for SUITE (default bookworm): XRBD_BASE_IMAGE (bookworm only),
# else debian:SUITE (Docker, pulled) or localhost/xrbd-debian:SUITE (podman, made
# by debootstrap); cached.
ensure_base_image() {
  local suite="${1:-bookworm}"
  BASE_IMAGE=""
  [[ "$suite" == bookworm ]] && BASE_IMAGE="${XRBD_BASE_IMAGE:-}"
  if [[ -z "$BASE_IMAGE" ]]; then
    if [[ "$ENGINE" == docker ]]; then BASE_IMAGE="debian:$suite"; else BASE_IMAGE="localhost/xrbd-debian:$suite"; fi
  fi
  if [[ "${XRBD_REBUILD:-0}" == 1 ]] || ! image_exists "$BASE_IMAGE"; then
    if [[ "$BASE_IMAGE" == localhost/* ]]; then
      build_base_debootstrap "$BASE_IMAGE" "$suite"
    else
      log "pulling $BASE_IMAGE"
      timeout 600 "$ENGINE" pull "$BASE_IMAGE" >/dev/null || die "cannot pull $BASE_IMAGE (set XRBD_CONTAINER_ENGINE=podman to build one with debootstrap)"
    fi
  else
    log "base image $BASE_IMAGE: cached"
  fi
}

# ------------------------------------------------------------------ host node
# Containers here have no route to nodejs.org: the host's node (same major as
# the project needs), its headers and its npm are mounted read-only at
# /opt/node. Sets NODE_BIN, NODE_VERSION, NODE_PREFIX, NPM_DIR and NODE_MOUNTS
# (the -v arguments).
host_node() {
  NODE_BIN="$(node -p process.execPath)"
  NODE_VERSION="$(node -p process.versions.node)"
  NODE_PREFIX="$(dirname "$(dirname "$NODE_BIN")")"
  [[ -f "$NODE_PREFIX/include/node/node_api.h" ]] \
    || die "no Node headers in $NODE_PREFIX/include/node (node-gyp needs them; the container cannot download them)"
  NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [[ -f "$NPM_DIR/package.json" ]] || die "cannot find npm's own directory (from $(command -v npm))"
  NODE_MOUNTS=(-v "$NODE_BIN:/opt/node/bin/node:ro"
               -v "$NODE_PREFIX/include/node:/opt/node/include/node:ro"
               -v "$NPM_DIR:/opt/node/lib/node_modules/npm:ro")
}

# ------------------------------------------------------------------ generated images
# ensure_generated_image WHAT IMAGE GENERATOR TIMEOUT: IMAGE built from the
# Containerfile the function GENERATOR prints (FROM an image ensure_base_image
# made), in $ENGINE_STATE_DIR/context with the host network, labelled with the
# hash of that text; cached while the label matches (XRBD_REBUILD=1 rebuilds).
# The build's output goes to $ENGINE_STATE_DIR/image.log.
ensure_generated_image() {
  local what="$1" image="$2" gen="$3" limit="$4" hash have t0 v fmt=()
  local ctx="$ENGINE_STATE_DIR/context" logf="$ENGINE_STATE_DIR/image.log"
  hash="$("$gen" | sha256sum | cut -c1-16)"
  have="$(engine image inspect --format '{{ index .Config.Labels "xrbd.context" }}' "$image" 2>/dev/null || true)"
  if [[ "${XRBD_REBUILD:-0}" != 1 && "$have" == "$hash" ]]; then
    log "$what $image: cached (context $hash)"
    return 0
  fi
  t0=$(now)
  log "building $what $image from $BASE_IMAGE (apt-get inside, host network)"
  rm -rf "$ctx"; mkdir -p "$ctx"
  "$gen" >"$ctx/Containerfile"
  [[ "$ENGINE" == podman ]] && fmt=(--format docker)
  if ! timeout "$limit" "$ENGINE" build "${fmt[@]}" --network host --label "xrbd.context=$hash" \
      -t "$image" -f "$ctx/Containerfile" "$ctx" >"$logf" 2>&1; then
    tail -n 20 "$logf" >&2
    die "$what failed; see $logf"
  fi
  v="$(grep -o 'ceph version [0-9.]*' "$logf" | head -n1 || true)"
  log "$what built in $(( $(now) - t0 )) s${v:+ ($v)}"
}
