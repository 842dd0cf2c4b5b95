// PromiseWorker: the one base for every blocking librados/librbd call.
//
// The "baton" shape (from sharp): a subclass keeps its inputs and outputs as
// plain C++ members, Run() executes on a libuv worker thread touching only those
// members and the C library, and Result() builds the JS value on the JS thread.
// Run() returns the C call's return code; a negative one rejects the promise
// with an errno error naming `op`.
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <utility>

#include "core/errors.h"
#include "core/exit_guard.h"

namespace xrbd {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* resource)
      : Napi::AsyncWorker(env, resource), deferred_(Napi::Promise::Deferred::New(env)) {}

  // Queue the work and hand back the promise. The worker deletes itself.
  Napi::Promise Start() {
    Napi::Promise p = deferred_.Promise();
    Queue();
    return p;
  }

  // Keep a JS value (a Buffer, the wrapping object) alive until the work is done.
  void Pin(Napi::Value v) { pins_.Set(pin_count_++, v); }

 protected:
  // Worker thread. Return < 0 on failure, and set op_ to the failing call.
  virtual int Run() = 0;
  // JS thread, only when Run() returned >= 0.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  std::string op_;

 private:
  void Execute() final {
    ExitGuard::CallScope scope;
    rc_ = scope.ok() ? Run() : -ESHUTDOWN;
  }

  // Settling can fail while a worker thread's environment terminates (JS can no
  // longer run): nothing may escape then, or it is std::terminate.
  void OnOK() final {
    Napi::Env env = Env();
    try {
      if (rc_ < 0) {
        deferred_.Reject(ErrnoError(env, rc_, op_).Value());
        return;
      }
      try {
        deferred_.Resolve(Result(env));
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      }
    } catch (...) {
    }
  }

  void OnError(const Napi::Error& e) final {
    try {
      deferred_.Reject(e.Value());
    } catch (...) {
    }
  }

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference pins_ = Napi::Persistent(Napi::Object::New(Env()));
  uint32_t pin_count_ = 0;
  int rc_ = 0;
};

// For a call whose inputs its lambda captures and which returns nothing but
// its rc: the lambda runs on the worker thread (touching no Napi::).
class CallWorker final : public PromiseWorker {
 public:
  CallWorker(Napi::Env env, const char* op, std::function<int()> fn) : PromiseWorker(env, op), fn_(std::move(fn)) {
    op_ = op;
  }

 protected:
  int Run() override { return fn_(); }

 private:
  std::function<int()> fn_;
};

// The same for a call that also answers one value: the lambda fills `out` on
// the worker thread and the promise resolves with it (a number or a string).
template <typename T>
class ValueCallWorker final : public PromiseWorker {
 public:
  ValueCallWorker(Napi::Env env, const char* op, std::function<int(T& out)> fn)
      : PromiseWorker(env, op), fn_(std::move(fn)) {
    op_ = op;
  }

 protected:
  int Run() override { return fn_(out_); }
  Napi::Value Result(Napi::Env env) override { return ToJs(env, out_); }

 private:
  static Napi::Value ToJs(Napi::Env env, double v) { return Napi::Number::New(env, v); }
  static Napi::Value ToJs(Napi::Env env, const std::string& v) { return Napi::String::New(env, v); }

  std::function<int(T&)> fn_;
  T out_{};
};

// Start a worker on the wrapped handle that is the call's first argument,
// which stays pinned until the work is done.
inline Napi::Value StartOnFirstArg(const Napi::CallbackInfo& info, PromiseWorker* w) {
  w->Pin(info[0]);
  return w->Start();
}

// One librbd call on the handle that is the first argument: nothing, or one value, out.
inline Napi::Value StartCall(const Napi::CallbackInfo& info, const char* op, std::function<int()> fn) {
  return StartOnFirstArg(info, new CallWorker(info.Env(), op, std::move(fn)));
}
template <typename T>
Napi::Value StartValueCall(const Napi::CallbackInfo& info, const char* op, std::function<int(T&)> fn) {
  return StartOnFirstArg(info, new ValueCallWorker<T>(info.Env(), op, std::move(fn)));
}

}  // namespace xrbd
