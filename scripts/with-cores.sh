#!/usr/bin/env bash
# Run a command (a jest run) with core dumps on; if a process it started left a
# core file in the working directory (a test process, or a daemon the lab
# started), print where it crashed (gdb backtraces of the crashing thread, its
# innermost and outermost frames, and the other threads' top frames), then keep
# the core under .cores/ (the newest two; they are large). Exits with the
# command's status. Used by `npm test`, test:faults and test:containers, so a
# crash in CI (librbd's, or ours) comes with a stack rather than only
# "Segmentation fault".
#
# Cores land in the crashing process's working directory when
# /proc/sys/kernel/core_pattern is a plain name such as "core" (Debian's
# default); with a pipe (systemd-coredump, apport) this prints how to get them.
set -uo pipefail

ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)" 2>/dev/null || true
marker=$(mktemp)
"$@"
rc=$?

pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo core)
mapfile -t cores < <(find . -maxdepth 1 -type f \( -name 'core' -o -name 'core.[0-9]*' \) -newer "$marker" 2>/dev/null)
rm -f "$marker"
if ((${#cores[@]} == 0)); then
  if ((rc != 0)) && [[ $pattern == '|'* ]]; then
    echo "with-cores: exit $rc; cores go to a handler here ($pattern): see coredumpctl/apport for a crash"
  fi
  exit "$rc"
fi

mkdir -p .cores
for c in "${cores[@]}"; do
  exe=$(file -b "$c" 2>/dev/null | sed -n "s/.*execfn: '\([^']*\)'.*/\1/p")
  [[ -x $exe ]] || exe=$(command -v node)
  echo "with-cores: $c (exit $rc) from $exe"
  if command -v gdb >/dev/null 2>&1; then
    timeout 300 gdb -q -nx -batch "$exe" "$c" \
      -ex 'info threads' \
      -ex 'echo \n--- crashing thread, innermost frames ---\n' -ex 'bt 25' \
      -ex 'echo \n--- crashing thread, outermost frames ---\n' -ex 'bt -10' \
      -ex 'echo \n--- every thread, top frames ---\n' -ex 'thread apply all bt 4' 2>&1 |
      sed -e "s/warning: Section \`[^']*' in core file too small\.//" | grep -v '^\[New LWP\|^warning: \|^Download' | head -400
  else
    echo "with-cores: gdb is not installed (scripts/setup-system.sh installs it); the core is kept"
  fi
  mv "$c" ".cores/$(basename "$c").$(date +%s)"
done
# Keep the newest two.
ls -1t .cores/ 2>/dev/null | tail -n +3 | sed 's|^|.cores/|' | xargs -r rm -f
exit "$rc"
