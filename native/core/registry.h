// Live native handles of one addon instance, released by an environment cleanup
// hook when the Node environment is torn down (process exit, worker thread
// exit), so no librados client is still running when the process unwinds.
//
// The registry is shared-owned by every wrapper, so it outlives them whatever
// order teardown runs in.
#pragma once

#include <napi.h>

#include "core/aio.h"

#include <cstring>
#include <memory>
#include <unordered_set>

namespace xrbd {

class Releasable {
 public:
  virtual ~Releasable() = default;
  // Drop the native handle now (JS thread). Must be a no-op when already released.
  virtual void ReleaseNative() = 0;
  // "cluster", "pool" or "image": for liveHandles() (a debug count).
  virtual const char* Kind() const = 0;
};

class Registry final {
 public:
  void Add(Releasable* r) {
    if (!torn_down_) live_.insert(r);
  }
  void Remove(Releasable* r) {
    if (!torn_down_) live_.erase(r);
  }
  // Cleanup hook body. Children hold their parents through shared_ptr, so the
  // release order does not matter.
  void ReleaseAll() {
    torn_down_ = true;
    for (Releasable* r : live_) r->ReleaseNative();
    live_.clear();
  }
  // How many wrappers of one kind are alive (not yet finalised) in this environment.
  size_t Count(const char* kind) const {
    size_t n = 0;
    for (const Releasable* r : live_) n += std::strcmp(r->Kind(), kind) == 0 ? 1 : 0;
    return n;
  }

 private:
  std::unordered_set<Releasable*> live_;
  bool torn_down_ = false;
};

// Per-addon-instance data (better-sqlite3: no globals).
struct AddonData final {
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  Napi::FunctionReference cluster_ctor;
  Napi::FunctionReference pool_ctor;
  Napi::FunctionReference image_ctor;
  AioBridge* aio = nullptr;  // rbd_aio_* completions → JS thread; owned by its TSFN (aio.h)
};

inline AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

}  // namespace xrbd
