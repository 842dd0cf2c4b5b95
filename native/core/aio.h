// Asynchronous librbd I/O (rbd_aio_*) with completions brought back to the JS
// thread through one thread-safe function per environment.
//
// An AioOp lives from submission (JS thread) to settlement (JS thread). In
// between, librbd calls OnComplete on one of its own threads: that only reads
// the return value, releases the completion and pushes the op onto the
// bridge's lock-free list of completed ops — it never blocks and never touches
// Napi::. Only the push that finds the list empty calls the thread-safe
// function; that one call drains the whole list and settles every op in it, so
// at queue depth N one wake-up, one call into the module and one microtask
// checkpoint serve up to N completions instead of one each. No libuv pool
// thread is held while the I/O is in flight. The op holds the image handle
// until it settles; the caller's Buffer (used in place, zero copy) is held by
// the op (Pin) or, on the read/write hot path, by lib/ (see io.cc's Unpinned).
//
// Ops point at the bridge without owning it (no atomic reference count per
// op). The bridge is freed only by the TSFN's finalizer (environment teardown)
// and only when nothing is in flight then; with ops in flight it is leaked on
// purpose, like them (see OnComplete), so a late completion still finds it.
//
// The TSFN is unref'd while nothing is in flight and ref'd otherwise, so
// pending I/O keeps the process alive and idle images do not.
#pragma once

#include <napi.h>
#include <rbd/librbd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>

#include "handles.h"
#include "core/errors.h"

namespace xrbd {

class AioOp;

// Owned by the TSFN's finalizer; the addon data and the ops only point at it.
// Once Node finalizes the thread-safe function (environment teardown), Queue()
// refuses instead of calling into a destroyed one.
//
// Why an op in flight can rely on it without a reference: the finalizer runs
// on the JS thread, takes mu_ and frees the bridge only when inflight_ (ops
// started and not yet settled, JS thread only) is 0. An op stops counting
// when CallJs settles it, and CallJs can only take an op off the list after
// that op's Queue() made its wake-up call (a push that finds the list empty
// is drained by the wake-up it makes itself; the other pushes touch the
// bridge no more after their CAS). That call is made under mu_, so the
// finalizer cannot free the bridge before Queue() lets go of it.
class AioBridge final {
 public:
  static AioBridge* Create(Napi::Env env) {
    auto* b = new AioBridge();
    b->tsfn_ = Tsfn::New(env, "xrbd:aio", 0, 1, b,
                         [](Napi::Env, AioBridge* self, AioBridge*) {
                           bool idle;
                           {
                             std::lock_guard<std::mutex> g(self->mu_);
                             self->alive_ = false;
                             idle = self->inflight_ == 0;
                           }
                           if (idle) delete self;  // else leaked on purpose: a late completion may still push
                         },
                         b);
    b->tsfn_.Unref(env);
    return b;
  }

  // JS thread: one more op in flight / `n` fewer.
  void Started(Napi::Env env) {
    if (inflight_++ == 0) tsfn_.Ref(env);
  }
  void Finished(Napi::Env env, size_t n) {
    if ((inflight_ -= n) == 0) tsfn_.Unref(env);
  }

  // librbd thread: push a completed op. Only the push onto an empty list wakes
  // the JS thread; the others ride on that wake-up. Once the environment is
  // going away nothing wakes it: the op stays on the list, leaked on purpose
  // (see OnComplete).
  void Queue(AioOp* op);

 private:
  AioBridge() = default;
  // JS thread: settle every op on the list, in completion order.
  static void CallJs(Napi::Env env, Napi::Function, AioBridge* self, std::nullptr_t*);
  using Tsfn = Napi::TypedThreadSafeFunction<AioBridge, std::nullptr_t, &AioBridge::CallJs>;
  Tsfn tsfn_;
  // Completed ops, newest first (a Treiber stack: push by CAS, drain by exchange).
  std::atomic<AioOp*> done_{nullptr};
  std::mutex mu_;  // guards alive_ against the finalizer; taken once per wake-up, not per op
  bool alive_ = true;
  size_t inflight_ = 0;
};

class AioOp {
 public:
  AioOp(Napi::Env env, AioBridge* bridge, std::shared_ptr<ImageHandle> image, const char* op)
      : image(std::move(image)), op_(op), bridge_(bridge), deferred_(Napi::Promise::Deferred::New(env)) {}
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
    // Read the bridge first: once pushed, the JS thread may delete the op
    // while Queue() is still running (the bridge itself stays: see AioBridge).
    AioBridge* bridge = self->bridge_;
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

  AioBridge* bridge_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference pins_[2];
  ssize_t rc_ = 0;
  AioOp* next_ = nullptr;  // on the bridge's list of completed ops
};

inline void AioBridge::Queue(AioOp* op) {
  AioOp* head = done_.load(std::memory_order_relaxed);
  do {
    op->next_ = head;
  } while (!done_.compare_exchange_weak(head, op, std::memory_order_release, std::memory_order_relaxed));
  if (head != nullptr) return;  // a wake-up is already on its way and will drain this op too
  std::lock_guard<std::mutex> g(mu_);
  if (alive_) tsfn_.NonBlockingCall(nullptr);
}

inline void AioBridge::CallJs(Napi::Env env, Napi::Function, AioBridge* self, std::nullptr_t*) {
  if (env == nullptr) return;  // torn down: see OnComplete
  // Take the whole list: a completion arriving from now on finds it empty and
  // wakes us again. Reverse it into completion order.
  AioOp* op = self->done_.exchange(nullptr, std::memory_order_acquire);
  AioOp* fifo = nullptr;
  size_t n = 0;
  while (op != nullptr) {
    AioOp* next = op->next_;
    op->next_ = fifo;
    fifo = op;
    op = next;
    n++;
  }
  // While a worker thread's environment is terminating, JS can no longer run:
  // settling (and even Unref) fail with a Napi::Error, which must not escape
  // this callback (std::terminate). Nobody is left to tell. `self` outlives
  // the ops: the TSFN's finalizer holds it.
  while (fifo != nullptr) {
    AioOp* next = fifo->next_;
    try {
      fifo->Settle(env);
    } catch (...) {
    }
    delete fifo;
    fifo = next;
  }
  if (n == 0) return;
  try {
    self->Finished(env, n);
  } catch (...) {
  }
}

}  // namespace xrbd
