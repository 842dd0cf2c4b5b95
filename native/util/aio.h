// Asynchronous librbd I/O (rbd_aio_*) with completions brought back to the JS
// thread through one thread-safe function per environment.
//
// An AioOp lives from submission (JS thread) to settlement (JS thread). In
// between, librbd calls OnComplete on one of its own threads: that only reads
// the return value, releases the completion and queues the op with a
// NonBlockingCall — it never blocks and never touches Napi::. No libuv pool
// thread is held while the I/O is in flight. The op pins the caller's Buffer
// (used in place, zero copy) and the wrapped image until it settles.
//
// The TSFN is unref'd while nothing is in flight and ref'd otherwise, so
// pending I/O keeps the process alive and idle images do not.
#pragma once

#include <napi.h>
#include <rbd/librbd.h>

#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>

#include "../handles.h"
#include "errors.h"

namespace xrbd {

class AioOp;

// Shared-owned: by the addon data and by every op in flight, so a completion
// arriving while the environment is torn down never finds it freed. Once Node
// finalizes the thread-safe function (environment teardown), Queue() refuses
// instead of calling into a destroyed one.
class AioBridge final : public std::enable_shared_from_this<AioBridge> {
 public:
  static std::shared_ptr<AioBridge> Create(Napi::Env env) {
    std::shared_ptr<AioBridge> b(new AioBridge());
    // The finalizer owns one reference, so the bridge outlives the TSFN.
    auto* keep = new std::shared_ptr<AioBridge>(b);
    b->tsfn_ = Tsfn::New(env, "xrbd:aio", 0, 1, static_cast<std::nullptr_t*>(nullptr),
                         [](Napi::Env, std::shared_ptr<AioBridge>* self, std::nullptr_t*) {
                           {
                             std::lock_guard<std::mutex> g((*self)->mu_);
                             (*self)->alive_ = false;
                           }
                           delete self;
                         },
                         keep);
    b->tsfn_.Unref(env);
    return b;
  }

  // JS thread: one more / one fewer op in flight.
  void Started(Napi::Env env) {
    if (inflight_++ == 0) tsfn_.Ref(env);
  }
  void Finished(Napi::Env env) {
    if (--inflight_ == 0) tsfn_.Unref(env);
  }

  // librbd thread. False when the environment is going away.
  bool Queue(AioOp* op) {
    std::lock_guard<std::mutex> g(mu_);
    return alive_ && tsfn_.NonBlockingCall(op) == napi_ok;
  }

 private:
  AioBridge() = default;
  static void CallJs(Napi::Env env, Napi::Function, std::nullptr_t*, AioOp* op);
  using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, AioOp, &AioBridge::CallJs>;
  Tsfn tsfn_;
  std::mutex mu_;
  bool alive_ = true;
  size_t inflight_ = 0;
};

class AioOp {
 public:
  AioOp(Napi::Env env, AioBridge* bridge, std::shared_ptr<ImageHandle> image, const char* op)
      : image(std::move(image)), op_(op), bridge_(bridge->shared_from_this()),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  virtual ~AioOp() = default;
  AioOp(const AioOp&) = delete;
  AioOp& operator=(const AioOp&) = delete;

  // Keep a Buffer alive (and in place) until the op settles. At most two per
  // op (compare-and-write); the image itself is held by `image`, not by its
  // JS wrapper, so the wrapper needs no pin. One reference each, no object:
  // this is the per-I/O hot path.
  void Pin(Napi::Value v) {
    if (v.IsObject()) (pins_[0].IsEmpty() ? pins_[0] : pins_[1]) = Napi::Persistent(v.As<Napi::Object>());
  }

  // JS thread: create the completion and hand it to `submit`, which calls the
  // rbd_aio_* function. On a synchronous failure the op rejects at once.
  template <typename Submit>
  Napi::Promise Start(Napi::Env env, Submit submit) {
    Napi::Promise p = deferred_.Promise();
    rbd_completion_t c = nullptr;
    int rc = rbd_aio_create_completion(this, &AioOp::OnComplete, &c);
    if (rc == 0) {
      rc = submit(c);
      if (rc < 0) rbd_aio_release(c);
    }
    if (rc < 0) {
      deferred_.Reject(ErrnoError(env, rc, op_).Value());
      delete this;
      return p;
    }
    bridge_->Started(env);
    return p;
  }

  std::shared_ptr<ImageHandle> image;

 protected:
  // JS thread, for rc >= 0: the value the promise resolves with.
  virtual Napi::Value Result(Napi::Env env, ssize_t rc) { return Napi::Number::New(env, static_cast<double>(rc)); }
  // JS thread, for rc < 0: the error (the default names errno and op).
  virtual Napi::Value Error(Napi::Env env, ssize_t rc) { return ErrnoError(env, static_cast<int>(rc), op_).Value(); }

  const char* op_;

 private:
  friend class AioBridge;

  static void OnComplete(rbd_completion_t c, void* arg) {
    auto* self = static_cast<AioOp*>(arg);
    self->rc_ = rbd_aio_get_return_value(c);
    rbd_aio_release(c);
    // Hold the bridge ourselves: once queued, the JS thread may delete the op
    // (and its reference) while Queue() is still returning.
    std::shared_ptr<AioBridge> bridge = self->bridge_;
    // If the environment is gone the op is leaked on purpose: its Napi
    // references may only be freed on the JS thread, which no longer runs.
    bridge->Queue(self);
  }

  void Settle(Napi::Env env) {
    try {
      if (rc_ < 0) {
        deferred_.Reject(Error(env, rc_));
      } else {
        deferred_.Resolve(Result(env, rc_));
      }
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  std::shared_ptr<AioBridge> bridge_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference pins_[2];
  ssize_t rc_ = 0;
};

inline void AioBridge::CallJs(Napi::Env env, Napi::Function, std::nullptr_t*, AioOp* op) {
  if (env == nullptr) return;  // torn down: see OnComplete
  std::shared_ptr<AioBridge> bridge = op->bridge_;
  // While a worker thread's environment is terminating, JS can no longer run:
  // settling (and even Unref) fail with a Napi::Error, which must not escape
  // this callback (std::terminate). Nobody is left to tell.
  try {
    op->Settle(env);
  } catch (...) {
  }
  delete op;
  try {
    bridge->Finished(env);
  } catch (...) {
  }
}

}  // namespace xrbd
