#!/usr/bin/env bash
# Container entrypoint: one Ceph site through the same docker/ceph-site.sh the
# native lab uses, then stay in the foreground until SIGTERM/SIGINT, which runs
# `ceph-site.sh stop` (bounded) before exiting.
#
# Environment (see docker/README.md):
#   SITE_NAME        site name (default site-a)
#   MON_PORT         monitor port on 127.0.0.1 (default 20100)
#   PORT_MIN/MAX     bind range of mgr/osd/rbd-mirror (default MON_PORT+1 .. MON_PORT+99)
#   SITE_DIR         site directory (default /var/lib/ceph-site/$SITE_NAME). To use the
#                    site from the host, bind-mount a host directory at the SAME path:
#                    ceph.conf and site.json name paths under it.
#   OBJECTSTORE      memstore (default) or bluestore
#   START_TIMEOUT    seconds for the start (default 120)
#   SITE_RESUME=1    resume the site already in SITE_DIR (same fsid, keys, pools)
#                    instead of creating a fresh one; falls back to start
#   MEMSTORE_BYTES   passed through to ceph-site.sh
# The daemons' pid files name pids of the container's pid namespace: run with
# --pid=host when a host-side controller (lib/lab) is to see them.
set -uo pipefail

SCRIPT=${CEPH_SITE_SCRIPT:-/usr/local/bin/ceph-site.sh}
SITE_NAME=${SITE_NAME:-site-a}
MON_PORT=${MON_PORT:-20100}
PORT_MIN=${PORT_MIN:-$((MON_PORT + 1))}
PORT_MAX=${PORT_MAX:-$((MON_PORT + 99))}
SITE_DIR=${SITE_DIR:-/var/lib/ceph-site/$SITE_NAME}
OBJECTSTORE=${OBJECTSTORE:-memstore}
START_TIMEOUT=${START_TIMEOUT:-120}

say() { echo "entrypoint[$SITE_NAME]: $*" >&2; }

stopping=0
starter=""
on_term() {
  ((stopping)) && return
  stopping=1
  say "stopping the site"
  if [[ -n "${starter:-}" ]] && kill -0 "$starter" 2>/dev/null; then
    kill -TERM "$starter" 2>/dev/null   # its own trap stops what it started
    for _ in $(seq 1 300); do kill -0 "$starter" 2>/dev/null || break; sleep 0.1; done
  fi
  timeout -k 5 45 bash "$SCRIPT" stop --dir "$SITE_DIR" || say "ceph-site.sh stop failed"
  say "stopped"
  exit 0
}
trap on_term TERM INT

mkdir -p "$SITE_DIR"
if [[ "${SITE_RESUME:-0}" == 1 && -f "$SITE_DIR/site.json" ]]; then
  say "resuming the site in $SITE_DIR"
  bash "$SCRIPT" resume --dir "$SITE_DIR" --timeout "$START_TIMEOUT" &
else
  say "starting site $SITE_NAME in $SITE_DIR (mon 127.0.0.1:$MON_PORT, ports $PORT_MIN-$PORT_MAX, $OBJECTSTORE)"
  bash "$SCRIPT" start --dir "$SITE_DIR" --name "$SITE_NAME" --mon-port "$MON_PORT" \
    --port-min "$PORT_MIN" --port-max "$PORT_MAX" --objectstore "$OBJECTSTORE" --timeout "$START_TIMEOUT" &
fi
# started in the background so that a SIGTERM during the start is handled
# (ceph-site.sh then stops what it started on its own INT/TERM trap)
starter=$!
wait "$starter"; rc=$?
while ((rc > 128)) && kill -0 "$starter" 2>/dev/null; do wait "$starter"; rc=$?; done
if ((rc != 0)); then
  say "ceph-site.sh failed (exit $rc); last log lines:"
  for f in "$SITE_DIR"/log/*.out; do [[ -s "$f" ]] && { echo "--- $f"; tail -n 5 "$f"; }; done >&2
  exit 1
fi
say "site up: $(tr -d '\n ' <"$SITE_DIR/site.json" | grep -o '"monHost":"[^"]*"')"

# Foreground: report changes of the daemons' state. A site stopped from outside
# (e.g. Lab.stopSite through the shared pid namespace) keeps the container up.
last=""
while :; do
  st="$(bash "$SCRIPT" status --dir "$SITE_DIR" 2>&1 | tr '\n' ';')"
  [[ "$st" != "$last" ]] && say "daemons: $st"
  last="$st"
  sleep 5 &
  wait $! || true
done
