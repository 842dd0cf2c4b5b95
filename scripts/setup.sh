#!/usr/bin/env bash
# Everything `npm test` and `npm run demo` need, from a fresh clone: system
# packages, npm dependencies (which build the addon), the TypeScript build.
# Each step is skipped when already up to date, so repeated runs are quick.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh

# npm dependencies, from the lock file, when node_modules is missing or older.
# `npm install`, not `npm ci`: npm 11's ci rejects this lock file for lacking the
# other platforms' optional bindings of a dev dependency (unrs-resolver), which
# install (still pinned by the lock) does not need.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm install --no-audit --no-fund
fi

# The addon: rebuild when missing or older than any native source.
addon=build/Release/xrbd.node
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp -newer "$addon" -print -quit)" ]; then
  echo "setup: building the native addon"
  npm run --silent build:native >/dev/null
fi

echo "setup: compiling TypeScript"
npm run --silent build:ts
