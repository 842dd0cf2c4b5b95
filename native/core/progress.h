// Progress: forwards librbd's progress callbacks (remove, resize, rollback,
// flatten, copy...) to a JS function through a thread-safe function.
//
// librbd calls the C callback on the thread running the operation; it must not
// block there, so calls are NonBlockingCall()s, and only a change of whole
// percent (or the final call) is forwarded. The function is unref'd: a pending
// progress callback never keeps the process alive. lib/ drops calls that arrive
// after the operation's promise settled.
#pragma once

#include <napi.h>
#include <rbd/librbd.h>

#include <atomic>
#include <cstdint>

namespace xrbd {

class Progress final {
 public:
  // `cb` may be undefined: then this is a no-op and fn() is a callback that
  // does nothing (librbd wants a non-null one for its *_with_progress calls).
  Progress(Napi::Env env, Napi::Value cb) {
    if (cb.IsFunction()) {
      tsfn_ = Napi::ThreadSafeFunction::New(env, cb.As<Napi::Function>(), "xrbd:progress", 0, 1);
      tsfn_.Unref(env);
      active_ = true;
    }
  }
  ~Progress() {
    if (active_) tsfn_.Release();
  }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  librbd_progress_fn_t fn() const { return &Progress::OnProgress; }
  void* arg() { return this; }

 private:
  struct Tick {
    uint64_t offset, total;
  };

  static int OnProgress(uint64_t offset, uint64_t total, void* arg) {
    auto* self = static_cast<Progress*>(arg);
    if (!self->active_) return 0;
    int pct = total == 0 ? 100 : static_cast<int>((offset * 100) / total);
    if (pct == self->last_pct_.exchange(pct) && offset != total) return 0;
    auto* tick = new Tick{offset, total};
    napi_status st = self->tsfn_.NonBlockingCall(tick, [](Napi::Env env, Napi::Function f, Tick* t) {
      uint64_t off = t->offset, tot = t->total;
      delete t;
      if (env != nullptr && f != nullptr) {
        try {
          f.Call({Napi::Number::New(env, static_cast<double>(off)), Napi::Number::New(env, static_cast<double>(tot))});
        } catch (const Napi::Error& e) {
          // lib/core/progress.ts never lets a user callback throw; should anything
          // else, it surfaces as an uncaught JS exception, not std::terminate
          // (and while the environment terminates, not at all).
          try {
            e.ThrowAsJavaScriptException();
          } catch (...) {
          }
        }
      }
    });
    if (st != napi_ok) delete tick;
    return 0;  // never abort the operation from here
  }

  Napi::ThreadSafeFunction tsfn_;
  bool active_ = false;
  std::atomic<int> last_pct_{-1};
};

}  // namespace xrbd
