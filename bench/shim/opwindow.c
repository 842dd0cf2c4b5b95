/*
 * opwindow.c — LD_PRELOAD shim of the benchmark (bench/run.js builds it with
 * cc at run time into bench/tmp/shim/opwindow.so; it is never committed as a
 * binary). It cuts the counting window by op count, the same way for every
 * client (fio's rbd engine, python-rbd, @x/rbd): it wraps librbd's
 * rbd_aio_create_completion(), which each of them calls once per submitted
 * I/O, and
 *
 *   - on the (WARMUP + 1)th call opens the window, on the (WARMUP + OPS + 1)th
 *     closes it: exactly OPS submissions fall inside;
 *   - at both edges reads getrusage(RUSAGE_SELF) (user + system CPU and
 *     voluntary / involuntary context switches of every thread of the process)
 *     and CLOCK_MONOTONIC, and, when the kernel lets it, a perf counter of the
 *     raw_syscalls:sys_enter tracepoint opened at load time with inherit=1
 *     (every thread created after load: all of them in these clients), read as
 *     one sum;
 *   - under valgrind --tool=callgrind --instr-atstart=no, zeroes the counts and
 *     starts instrumentation at the opening edge and stops it and dumps at the
 *     closing one (valgrind/callgrind.h client requests: the whole process, all
 *     threads, are counted in between; outside the window nothing is);
 *   - at the closing edge writes one JSON line to $XRBD_WIN_OUT.
 *
 * Environment: XRBD_WIN_WARMUP (default 1000), XRBD_WIN_OPS (default 1000),
 * XRBD_WIN_OUT (required; without it the shim only forwards the call),
 * XRBD_WIN_SYSCALL_ID (the tracepoint id of raw_syscalls:sys_enter, read by
 * run.js from tracefs; absent or 0: no syscall count).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

typedef void *rbd_completion_t;
typedef void (*rbd_callback_t)(rbd_completion_t cb, void *arg);
typedef int (*create_fn)(void *cb_arg, rbd_callback_t complete_cb, rbd_completion_t *c);

static create_fn real_create;
static atomic_ullong calls;
static unsigned long long warmup = 1000, ops = 1000;
static const char *out_path;
static int sys_fd = -1;

struct edge {
  struct rusage ru;
  struct timespec ts;
  unsigned long long syscalls;
  int have_syscalls;
};
static struct edge e0, e1;

static unsigned long long env_ull(const char *name, unsigned long long dflt) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  return strtoull(v, NULL, 10);
}

__attribute__((constructor)) static void opwindow_init(void) {
  warmup = env_ull("XRBD_WIN_WARMUP", 1000);
  ops = env_ull("XRBD_WIN_OPS", 1000);
  out_path = getenv("XRBD_WIN_OUT");
  unsigned long long id = env_ull("XRBD_WIN_SYSCALL_ID", 0);
  if (out_path && id && !RUNNING_ON_VALGRIND) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_TRACEPOINT;
    a.config = id;
    a.inherit = 1;
    a.exclude_kernel = 0;
    long fd = syscall(SYS_perf_event_open, &a, 0 /* this process */, -1 /* any cpu */, -1, PERF_FLAG_FD_CLOEXEC);
    sys_fd = fd >= 0 ? (int)fd : -1;
  }
}

static void take(struct edge *e) {
  getrusage(RUSAGE_SELF, &e->ru);
  clock_gettime(CLOCK_MONOTONIC, &e->ts);
  e->have_syscalls = 0;
  if (sys_fd >= 0) {
    uint64_t v;
    if (read(sys_fd, &v, sizeof v) == (ssize_t)sizeof v) {
      e->syscalls = v;
      e->have_syscalls = 1;
    }
  }
}

static double tv_us(const struct timeval *t) { return t->tv_sec * 1e6 + t->tv_usec; }

static void write_result(void) {
  FILE *f = fopen(out_path, "w");
  if (!f) return;
  double wall = (e1.ts.tv_sec - e0.ts.tv_sec) * 1e6 + (e1.ts.tv_nsec - e0.ts.tv_nsec) / 1e3;
  fprintf(f,
          "{\"warmup\":%llu,\"ops\":%llu,\"wallUs\":%.1f,\"userUs\":%.1f,\"sysUs\":%.1f,"
          "\"nvcsw\":%ld,\"nivcsw\":%ld,\"syscalls\":",
          warmup, ops, wall, tv_us(&e1.ru.ru_utime) - tv_us(&e0.ru.ru_utime), tv_us(&e1.ru.ru_stime) - tv_us(&e0.ru.ru_stime),
          e1.ru.ru_nvcsw - e0.ru.ru_nvcsw, e1.ru.ru_nivcsw - e0.ru.ru_nivcsw);
  if (e0.have_syscalls && e1.have_syscalls)
    fprintf(f, "%llu", e1.syscalls - e0.syscalls);
  else
    fprintf(f, "null");
  fprintf(f, ",\"valgrind\":%s}\n", RUNNING_ON_VALGRIND ? "true" : "false");
  fclose(f);
}

int rbd_aio_create_completion(void *cb_arg, rbd_callback_t complete_cb, rbd_completion_t *c) {
  if (!real_create) {
    /* librbd is usually dlopen()ed RTLD_LOCAL (python's and node's extension
       modules), out of RTLD_NEXT's reach: ask it by name, then the scope. */
    void *h = dlopen("librbd.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (h) real_create = (create_fn)dlsym(h, "rbd_aio_create_completion");
    if (!real_create) real_create = (create_fn)dlsym(RTLD_NEXT, "rbd_aio_create_completion");
    if (!real_create) {
      fprintf(stderr, "opwindow: rbd_aio_create_completion not found: %s\n", dlerror());
      abort();
    }
  }
  if (out_path) {
    unsigned long long n = atomic_fetch_add(&calls, 1) + 1;
    if (n == warmup + 1) {
      take(&e0);
      CALLGRIND_ZERO_STATS;
      CALLGRIND_START_INSTRUMENTATION;
    } else if (n == warmup + ops + 1) {
      CALLGRIND_STOP_INSTRUMENTATION;
      CALLGRIND_DUMP_STATS_AT("opwindow");
      take(&e1);
      write_result();
    }
  }
  return real_create(cb_arg, complete_cb, c);
}
