#!/usr/bin/python3
"""One benchmark case with the official Python binding (python3-rbd).

Run with the system python (/usr/bin/python3), which has the rados/rbd modules:

  /usr/bin/python3 bench/python_rbd_bench.py --conf C --pool P --image I \
      --op write|read --bs 4096 --qd 32 --pattern rand|seq --warmup 1 --seconds 5

Keeps `qd` aio operations in flight: each completion callback (run on a librbd
thread) submits the next operation straight away, the cheapest way to drive the
binding (no hand-off to the main thread). Writes send one preallocated bytes
object per slot; reads get a new bytes object per completion (the binding has
no read-into-buffer call). CPU time is getrusage(RUSAGE_SELF), i.e. every
thread of the process, librbd's included, over the measured window only.
Prints one JSON line.

With --ops N the run is cut by op count: exactly N operations are submitted,
then it drains (bench/run.js measures a window of them with the LD_PRELOAD
shim bench/shim/opwindow.c).
"""
import argparse
import itertools
import json
import os
import random
import resource
import sys
import threading
import time

import rados
import rbd


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--conf', required=True)
    ap.add_argument('--pool', required=True)
    ap.add_argument('--image', required=True)
    ap.add_argument('--op', choices=['write', 'read'], required=True)
    ap.add_argument('--bs', type=int, required=True)
    ap.add_argument('--qd', type=int, required=True)
    ap.add_argument('--pattern', choices=['rand', 'seq'], required=True)
    ap.add_argument('--warmup', type=float, default=1.0)
    ap.add_argument('--seconds', type=float, default=5.0)
    ap.add_argument('--region', type=int, default=0, help='bytes of the image to use (0: all)')
    ap.add_argument('--ops', type=int, default=0, help='submit exactly this many operations, then drain (0: timed run)')
    a = ap.parse_args()

    cluster = rados.Rados(conffile=a.conf, rados_id='admin')
    cluster.connect()
    ioctx = cluster.open_ioctx(a.pool)
    image = rbd.Image(ioctx, a.image)
    try:
        size = image.size()
        region = min(size, a.region) if a.region else size
        blocks = region // a.bs
        bufs = [os.urandom(a.bs) for _ in range(a.qd)]
        rnd = random.Random()
        seq = itertools.count()
        done = itertools.count()  # next() is atomic under the GIL
        issued = itertools.count(1)
        state = {'stop': False, 'inflight': 0, 'error': None}
        lock = threading.Lock()
        drained = threading.Event()

        def next_offset():
            if a.pattern == 'rand':
                return rnd.randrange(blocks) * a.bs
            return (next(seq) % blocks) * a.bs

        def finish_one():
            with lock:
                state['inflight'] -= 1
                if state['inflight'] == 0:
                    drained.set()

        def submit(slot):
            off = next_offset()
            if a.op == 'write':
                image.aio_write(bufs[slot], off, lambda c, s=slot: on_done(s, c))
            else:
                image.aio_read(off, a.bs, lambda c, data, s=slot: on_done(s, c))

        def on_done(slot, comp):
            r = comp.get_return_value()
            if r < 0 and state['error'] is None:
                state['error'] = r
                state['stop'] = True
            next(done)
            if state['stop'] or (a.ops and next(issued) > a.ops):
                finish_one()
                return
            try:
                submit(slot)
            except Exception as e:  # noqa: BLE001
                state['error'] = repr(e)
                state['stop'] = True
                finish_one()

        state['inflight'] = a.qd
        if a.ops:
            t0 = time.monotonic()
            for _ in range(a.qd):  # the first qd submissions count too
                next(issued)
        for s in range(a.qd):
            submit(s)
        if a.ops:
            drained.wait()
            if state['error'] is not None:
                raise RuntimeError(f'I/O error: {state["error"]}')
            print(json.dumps({'client': 'python-rbd', 'submitted': a.ops, 'seconds': time.monotonic() - t0}))
            return 0
        time.sleep(a.warmup)
        c0, n0, t0 = cpu_seconds(), next(done), time.monotonic()
        time.sleep(a.seconds)
        c1, n1, t1 = cpu_seconds(), next(done), time.monotonic()
        state['stop'] = True
        drained.wait(60)
        # next(done) itself advanced the counter once per reading
        ops = n1 - n0 - 1
        if state['error'] is not None:
            raise RuntimeError(f'I/O error: {state["error"]}')
        secs = t1 - t0
        print(json.dumps({
            'client': 'python-rbd',
            'ops': ops,
            'seconds': secs,
            'iops': ops / secs,
            'mibps': ops * a.bs / secs / 1048576,
            'cpuSeconds': c1 - c0,
            'cpuUsPerOp': (c1 - c0) * 1e6 / ops if ops else None,
        }))
    finally:
        image.close()
        ioctx.close()
        cluster.shutdown()


if __name__ == '__main__':
    sys.exit(main())
