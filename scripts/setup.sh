#!/usr/bin/env bash
# Everything `npm test` and `npm run demo` need, from a fresh clone: system
# packages, npm dependencies (which build the addon), the TypeScript build.
# Each step is skipped when already up to date, so repeated runs are quick.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh

# PREBUILDS_ONLY=1 (node-gyp-build loads only prebuilds/): fail before anything
# (npm install's node-gyp-build included) would build the addon instead.
if [ -n "${PREBUILDS_ONLY:-}" ]; then
  prebuild=$(ls prebuilds/linux-"$(node -p process.arch)"/*.node 2>/dev/null | head -n1 || true)
  if [ -z "$prebuild" ]; then
    echo "setup: PREBUILDS_ONLY is set but prebuilds/linux-$(node -p process.arch)/ has no addon: npm run build:prebuilds" >&2
    exit 1
  fi
fi

# npm dependencies, exactly as the lock file pins them (`npm ci`), when
# node_modules is missing or older than the lock file. The lock file lists every
# platform's optional bindings of the dev dependencies, so npm 11 and 12 accept
# it; test/unit/build/lockfile.test.ts fails when it drifts from package.json.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# The addon: rebuild when missing or older than any native source; not with
# PREBUILDS_ONLY=1, where the prebuilt binary is what gets loaded.
addon=build/Release/xrbd.node
if [ -n "${PREBUILDS_ONLY:-}" ]; then
  echo "setup: PREBUILDS_ONLY is set: using $prebuild, not building the addon"
elif [ ! -f "$addon" ] || [ -n "$(find native binding.gyp -newer "$addon" -print -quit)" ]; then
  echo "setup: building the native addon"
  npm run --silent build:native >/dev/null
fi

echo "setup: compiling TypeScript"
npm run --silent build:ts
