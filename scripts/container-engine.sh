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

# ------------------------------------------------------------------ base image
# Debian 12 minbase through debootstrap (no registry needed, only a Debian mirror)
build_base_debootstrap() {
  local name="$1" root t0
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  t0=$(now)
  root="$(mktemp -d /var/tmp/xrbd-debootstrap.XXXXXX)"
  log "building base image $name: debootstrap --variant=minbase bookworm ($MIRROR)"
  if ! timeout 900 debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$ENGINE_STATE_DIR/debootstrap.log" 2>&1; then
    rm -rf "$root"
    die "debootstrap failed; see $ENGINE_STATE_DIR/debootstrap.log"
  fi
  local base="${MIRROR%/debian}"
  cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $base/debian-security bookworm-security main
EOF
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* 2>/dev/null || true
  tar -C "$root" -c . | engine import --change 'CMD ["/bin/bash"]' - "$name" >/dev/null
  rm -rf "$root"
  log "base image $name built in $(( $(now) - t0 )) s"
}

# Sets BASE_IMAGE: XRBD_BASE_IMAGE, else debian:bookworm (Docker, pulled) or
# localhost/xrbd-debian:bookworm (podman, made by debootstrap); cached.
ensure_base_image() {
  BASE_IMAGE="${XRBD_BASE_IMAGE:-}"
  if [[ -z "$BASE_IMAGE" ]]; then
    if [[ "$ENGINE" == docker ]]; then BASE_IMAGE=debian:bookworm; else BASE_IMAGE=localhost/xrbd-debian:bookworm; fi
  fi
  if [[ "${XRBD_REBUILD:-0}" == 1 ]] || ! image_exists "$BASE_IMAGE"; then
    if [[ "$BASE_IMAGE" == localhost/* ]]; then
      build_base_debootstrap "$BASE_IMAGE"
    else
      log "pulling $BASE_IMAGE"
      timeout 600 "$ENGINE" pull "$BASE_IMAGE" >/dev/null || die "cannot pull $BASE_IMAGE (set XRBD_BASE_IMAGE=localhost/xrbd-debian:bookworm to build one with debootstrap)"
    fi
  else
    log "base image $BASE_IMAGE: cached"
  fi
}
