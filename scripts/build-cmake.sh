#!/usr/bin/env bash
# Build the addon with cmake-js into build-cmake/, then check it loads.
# cmake-js would download Node's headers; point it at the local ones instead
# (this machine has no route to nodejs.org): the prefix of the running node.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${npm_config_nodedir:-}" ]; then
  prefix=$(dirname "$(dirname "$(node -p 'process.execPath')")")
  if [ -f "$prefix/include/node/node_api.h" ]; then export npm_config_nodedir="$prefix"; fi
fi
out=${1:-build}
npx --no-install cmake-js rebuild --out "$out" --log-level warn
node -e "
  const b = require(require('path').resolve('$out', 'Release', 'xrbd.node'));
  if (typeof b.Cluster !== 'function') throw new Error('cmake build lacks Cluster');
  console.log('cmake-js build loads: librbd', b.versions().rbd);
"
