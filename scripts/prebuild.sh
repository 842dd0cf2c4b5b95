#!/usr/bin/env bash
# npm run prebuild — the prebuilt binary that `npm pack` ships:
#   prebuilds/linux-x64/@x+rbd.napi.glibc.node
# built with prebuildify (--napi --strip --tag-libc) in a Debian 12 container
# against Debian's Ceph 16.2 librbd-dev/librados-dev, so the binary needs
# nothing newer than Pacific and bookworm's glibc.
#
# The container engine and the Debian base image are scripts/container-lab.sh's
# (scripts/container-engine.sh: podman with runc and a project-local
# containers.conf, base image by debootstrap). The build image adds g++, make,
# python3 and the Ceph headers (apt-get inside, host network; cached, labelled
# with a hash of its Containerfile). The container has no route to nodejs.org,
# so the host's node (same major version), its headers and its npm are mounted
# read-only and node-gyp uses them through npm_config_nodedir. The sources are
# copied into the container: nothing under build/ on the host is touched.
#
# Then, on the host: the file is checked (stripped, only the expected shared
# libraries, loads and reports librbd) and moved into prebuilds/.
#
# Environment: XRBD_PREBUILD_IMAGE (default localhost/xrbd-prebuild:bookworm),
# XRBD_PREBUILD_JOBS (make jobs, default 2), XRBD_PREBUILD_TIMEOUT (seconds,
# default 1200), and container-lab.sh's XRBD_CONTAINER_ENGINE, XRBD_BASE_IMAGE,
# XRBD_DEBIAN_MIRROR, XRBD_REBUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd -P)"
started=$(date +%s)

log() { echo "prebuild: $*" >&2; }
die() { echo "prebuild: $*" >&2; exit 1; }

STATE_DIR="$REPO/build-prebuild"          # gitignored (build-*/): containers.conf, logs, output
BUILD_IMAGE="${XRBD_PREBUILD_IMAGE:-localhost/xrbd-prebuild:bookworm}"
MIRROR="${XRBD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
JOBS="${XRBD_PREBUILD_JOBS:-2}"
PLATFORM="linux-$(node -p process.arch)"
# prebuildify names the file after the package ('/' becomes '+') and the tags;
# prebuildify 6 leaves 'napi' out when the package has a name, so it is put
# back: node-gyp-build reads it as "any ABI" (a Node-API build).
FILE="$(node -p "require('./package.json').name.replace(/\//g, '+')").napi.glibc.node"
DEST="prebuilds/$PLATFORM/$FILE"

[[ "$PLATFORM" == linux-x64 ]] || die "only linux-x64 is built here (this host: $PLATFORM)"
mkdir -p "$STATE_DIR"
ENGINE_STATE_DIR="$STATE_DIR"
# shellcheck source=scripts/container-engine.sh
source scripts/container-engine.sh

# ------------------------------------------------------------------ node to mount
host_node
NODE_GYP="$NPM_DIR/node_modules/node-gyp/bin/node-gyp.js"
[[ -f "$NODE_GYP" ]] || die "no node-gyp in npm's directory ($NPM_DIR)"
[[ -x node_modules/.bin/prebuildify ]] || die "prebuildify is missing: npm install"

# ------------------------------------------------------------------ build image
containerfile() {
  cat <<EOF
FROM $BASE_IMAGE
# what node-gyp needs (g++, make, python3; strip from binutils) and Ceph 16.2's headers
RUN set -eux; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; \\
    apt-get install -y -qq --no-install-recommends g++ make python3 binutils librbd-dev librados-dev >/dev/null; \\
    apt-get clean; rm -rf /var/lib/apt/lists/*; \\
    dpkg-query -W -f='\${Package} \${Version}\n' librbd-dev librados-dev g++ libc6
EOF
}

ensure_build_image() {
  ensure_base_image
  ensure_generated_image "build image" "$BUILD_IMAGE" containerfile 1200
}

setup_engine
ensure_build_image

# ------------------------------------------------------------------ build
OUT="$STATE_DIR/out"
rm -rf "$OUT"; mkdir -p "$OUT"
t0=$(now)
log "prebuildify --napi --strip --tag-libc for node $NODE_VERSION in $BUILD_IMAGE (make -j$JOBS)"
# the container: no network; node, its headers and npm read-only at /opt/node
if ! timeout "${XRBD_PREBUILD_TIMEOUT:-1200}" "$ENGINE" run --rm --network none \
    "${NODE_MOUNTS[@]}" \
    -v "$REPO:/src:ro" -v "$OUT:/out" \
    -e "NODE_VERSION=$NODE_VERSION" -e "JOBS=$JOBS" -e "FILE=$FILE" -e "PLATFORM=$PLATFORM" \
    -e "NODE_GYP=/opt/node/lib/node_modules/npm/${NODE_GYP#"$NPM_DIR"/}" \
    "$BUILD_IMAGE" bash -euo pipefail -c '
      export PATH=/opt/node/bin:$PATH npm_config_nodedir=/opt/node PREBUILD_NODE_GYP=$NODE_GYP
      ln -s /opt/node/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
      echo "container: node $(node --version), npm $(npm --version), $(g++ --version | head -n1)"
      mkdir /build && cd /build
      cp -a /src/package.json /src/binding.gyp /src/native .
      ln -s /src/node_modules node_modules          # node-addon-api, prebuildify
      # --out on the same file system as build/ (prebuildify renames the file there)
      node_modules/.bin/prebuildify --napi --strip --tag-libc --target "$NODE_VERSION" --out /build
      mkdir -p "/out/prebuilds/$PLATFORM"
      cp /build/prebuilds/$PLATFORM/*.node "/out/prebuilds/$PLATFORM/$FILE"
      node -e "console.log(\"container: loads, librbd \" + require(process.argv[1]).versions().rbd)" "/out/prebuilds/$PLATFORM/$FILE"
    ' 2>&1 | tee "$STATE_DIR/build.log" | grep -v '^gyp info' >&2; then
  die "the build failed; see $STATE_DIR/build.log"
fi
built="$OUT/prebuilds/$PLATFORM/$FILE"
[[ -f "$built" ]] || die "no $FILE in the build output (see $STATE_DIR/build.log)"
log "built in $(( $(now) - t0 )) s"

# ------------------------------------------------------------------ checks
if readelf -S "$built" | grep -q '\.symtab'; then die "$FILE is not stripped"; fi
needed="$(readelf -d "$built" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
for lib in $needed; do
  case "$lib" in
    librbd.so.1 | librados.so.2 | libstdc++.so.6 | libm.so.6 | libgcc_s.so.1 | libc.so.6 | ld-linux-x86-64.so.2) ;;
    *) die "$FILE needs $lib (only librbd, librados and the C/C++ runtime are expected)" ;;
  esac
done
for lib in librbd.so.1 librados.so.2; do [[ " $needed " == *" $lib "* ]] || die "$FILE does not link $lib"; done
glibc="$(objdump -T "$built" | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -n1)"
log "NEEDED: $needed"
log "newest glibc symbol version: $glibc"
# ldd lists librbd's own dependencies too: show how the direct ones resolve here
ldd_out="$(ldd "$built")"
if grep -q 'not found' <<<"$ldd_out"; then echo "$ldd_out" >&2; die "$FILE has unresolved libraries on this host"; fi
log "ldd on this host (the NEEDED entries; $(wc -l <<<"$ldd_out") lines in all):"
for lib in $needed; do grep -F "$lib" <<<"$ldd_out" | sed 's/^[[:space:]]*/  /' >&2; done
rbd="$(node -e 'console.log(require(process.argv[1]).versions().rbd)' "$built")" || die "$FILE does not load on this host"

mkdir -p "prebuilds/$PLATFORM"
mv -f "$built" "$DEST"
log "$DEST: $(stat -c %s "$DEST") bytes, stripped, loads here (librbd $rbd); $(( $(now) - started )) s in all"
