// ExitGuard: no librados client may still be running when the process exits.
//
// process.exit() does not run Node's environment cleanup hooks: exit() goes
// straight to the atexit handlers and the static destructors of libceph-common
// and OpenSSL while librados' threads are still running — an abort or a
// segfault about one time in five. So every live handle is also listed here,
// process-wide, and an on_exit handler (registered after the first connect, so
// that it runs before the handlers OpenSSL and Ceph registered earlier) closes
// images, destroys I/O contexts and shuts clients down.
//
// Worker threads hold a shared lock for the length of each native call; the
// exit handler takes the exclusive lock, so it never frees a handle under a
// running call. If a call does not finish within a short grace period, the
// process leaves with _exit(status): skipping the remaining handlers beats
// crashing in them.
#pragma once

#include <rados/librados.h>
#include <rbd/librbd.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

namespace xrbd {

class ExitGuard final {
 public:
  // Held by a worker thread around one native call. ok() is false once the
  // process is exiting: the call must not touch librados then.
  class CallScope final {
   public:
    CallScope() : lock_(Mutex()) { ok_ = !Exiting(); }
    bool ok() const { return ok_; }

   private:
    std::shared_lock<std::shared_timed_mutex> lock_;
    bool ok_;
  };

  template <typename T>
  static void Track(T* h) {
    std::lock_guard<std::mutex> g(RegistryMutex());
    Set<T>().insert(h);
  }
  template <typename T>
  static void Untrack(T* h) {
    std::lock_guard<std::mutex> g(RegistryMutex());
    Set<T>().erase(h);
  }

  // Handles alive in the whole process (rados clients, I/O contexts, images),
  // whoever holds them: a wrapper, a worker, a child handle. For liveHandles().
  static void Counts(size_t* clusters, size_t* pools, size_t* images);

  // Call on the JS thread after a successful connect. Idempotent.
  static void Arm() {
    static std::once_flag once;
    std::call_once(once, [] { on_exit(&ExitGuard::OnExit, nullptr); });
  }

 private:
  // Never destroyed, on purpose: a function-local static first used after the
  // exit handler was registered would be destroyed before the handler runs.
  static std::shared_timed_mutex& Mutex() {
    static auto* m = new std::shared_timed_mutex();
    return *m;
  }
  static std::mutex& RegistryMutex() {
    static auto* m = new std::mutex();
    return *m;
  }
  static bool& Exiting() {
    static bool exiting = false;  // trivially destructible: nothing to tear down
    return exiting;
  }
  template <typename T>
  static std::unordered_set<T*>& Set() {
    static auto* s = new std::unordered_set<T*>();
    return *s;
  }

  static void OnExit(int status, void*);
};

}  // namespace xrbd
