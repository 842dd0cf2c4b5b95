#!/usr/bin/env node
// npm's prepack (npm pack, npm publish; not run by --ignore-scripts): refuses to
// pack a tarball that would leave linux-x64 users without the prebuilt addon.
// Consumers on npm 12 get no install script unless they allow it, so the
// tarball must hold a binary that loads as it is:
//   prebuilds/linux-x64/@x+rbd.napi.glibc.node  (npm run build:prebuilds)
// It must exist, be an ELF shared object, and be newer than every native source
// (native/, binding.gyp), else it was built from other sources. dist/ (npm run
// build:ts) must hold the entry points package.json names.
//
// XRBD_PACK_WITHOUT_PREBUILD=1 packs anyway (a warning): every install of that
// tarball then needs a compiler, python3, make and librbd-dev/librados-dev.
//
// Usage: node scripts/prepack.js [package dir, default the current directory]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = path.resolve(process.argv[2] || process.cwd());
const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const file = `${pkg.name.replace(/\//g, '+')}.napi.glibc.node`;
const prebuild = path.join('prebuilds', 'linux-x64', file);
const problems = [];

for (const entry of [pkg.main, pkg.module, pkg.types].filter(Boolean)) {
  if (!fs.existsSync(path.join(dir, entry))) problems.push(`${entry} is missing: npm run build:ts`);
}

/** Newest modification time of the files under p (a file or a directory). */
function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return { mtime: st.mtimeMs, file: p };
  let best = { mtime: 0, file: p };
  for (const name of fs.readdirSync(p)) {
    const n = newest(path.join(p, name));
    if (n.mtime > best.mtime) best = n;
  }
  return best;
}

const abs = path.join(dir, prebuild);
if (!fs.existsSync(abs)) {
  problems.push(`${prebuild} is missing: npm run build:prebuilds (podman or docker; see scripts/prebuild.sh)`);
} else {
  const fd = fs.openSync(abs, 'r');
  const head = Buffer.alloc(18);
  fs.readSync(fd, head, 0, 18, 0);
  fs.closeSync(fd);
  // ELF magic, 64-bit, little-endian, e_type ET_DYN (3)
  if (!head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])) || head[4] !== 2 || head[5] !== 1 || head.readUInt16LE(16) !== 3) {
    problems.push(`${prebuild} is not a 64-bit ELF shared object`);
  } else {
    const built = fs.statSync(abs).mtimeMs;
    for (const src of ['native', 'binding.gyp'].map((s) => path.join(dir, s)).filter((s) => fs.existsSync(s))) {
      const n = newest(src);
      if (n.mtime > built) {
        problems.push(`${prebuild} is older than ${path.relative(dir, n.file)}: npm run build:prebuilds`);
        break;
      }
    }
  }
}

if (problems.length) {
  const msg = problems.map((p) => `prepack: ${p}`).join('\n');
  if (process.env.XRBD_PACK_WITHOUT_PREBUILD === '1' && problems.every((p) => p.startsWith(prebuild))) {
    console.error(`${msg}\nprepack: XRBD_PACK_WITHOUT_PREBUILD=1: packing anyway; every install of this tarball builds from source`);
    process.exit(0);
  }
  console.error(`${msg}\nprepack: refusing to pack (XRBD_PACK_WITHOUT_PREBUILD=1 packs without the prebuild)`);
  process.exit(1);
}
console.error(`prepack: ${prebuild} (${fs.statSync(abs).size} bytes) goes into the tarball`);
