// HandleWrap: what every wrapped librados/librbd handle shares.
//
// The JS object owns a shared_ptr to the RAII handle (handles.h). close() moves
// it into a worker that drops it off the JS thread; the registry drops it at
// environment teardown; a garbage-collected wrapper drops it in its destructor.
// The open/closing/closed state machine and the waiting for in-flight calls
// live in lib/ (TypeScript); here a missing handle only means EBADF.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "handles.h"
#include "core/errors.h"
#include "core/registry.h"
#include "core/worker.h"

namespace xrbd {

// What closing a handle reports: only rbd_close has a return code worth giving.
inline int CloseHandle(ImageHandle& h) { return h.Close(); }
inline int CloseHandle(IoCtxHandle&) { return 0; }
inline int CloseHandle(RadosHandle&) { return 0; }

template <typename H>
class CloseWorker final : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<H> h, const char* op)
      : PromiseWorker(env, "xrbd:close"), h_(std::move(h)) {
    op_ = op;
  }

 protected:
  int Run() override {
    int rc = h_ ? CloseHandle(*h_) : 0;
    h_.reset();  // last reference: rados_ioctx_destroy / rados_shutdown run here, off the JS thread
    return rc;
  }

 private:
  std::shared_ptr<H> h_;
};

// A 128-bit type tag per wrapper kind (two FNV-1a hashes of the kind's name):
// napi_check_object_type_tag is one pointer compare where napi_instanceof walks
// the prototype chain (~1.2k instructions per I/O, measured).
constexpr uint64_t TagHash(const char* s, uint64_t h) { return *s ? TagHash(s + 1, (h ^ static_cast<uint8_t>(*s)) * 0x100000001b3ULL) : h; }
constexpr napi_type_tag KindTag(const char* kind) {
  return {TagHash(kind, 0xcbf29ce484222325ULL), TagHash(kind, 0x78726264c0ffee11ULL)};
}

template <typename Self, typename H>
class HandleWrap : public Napi::ObjectWrap<Self>, public Releasable {
 public:
  static constexpr napi_type_tag kTypeTag = KindTag(Self::kKind);

  explicit HandleWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Self>(info), registry_(GetAddonData(info.Env())->registry) {
    info.This().As<Napi::Object>().TypeTag(&kTypeTag);  // what FromArg checks
    registry_->Add(this);
  }
  ~HandleWrap() override { registry_->Remove(this); }

  void ReleaseNative() override { handle_.reset(); }
  const char* Kind() const override { return Self::kKind; }
  void Adopt(std::shared_ptr<H> h) { handle_ = std::move(h); }

  // For the API-area files (snapshots.cc, trash.cc...), whose functions take the
  // wrapper as their first argument: its open handle, or a TypeError for
  // anything that is not one of ours, or EBADF when it is closed. Only our
  // constructor tags an object (a JS object that inherits from a wrapper, or
  // is a wrapper of another kind, carries no tag or another one), so a tagged
  // object always has a native instance to unwrap.
  static std::shared_ptr<H> FromArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
    Napi::Env env = info.Env();
    if (i >= info.Length() || !info[i].IsObject() || !info[i].As<Napi::Object>().CheckTypeTag(&kTypeTag)) {
      throw Napi::TypeError::New(env, std::string(op) + ": argument " + std::to_string(i) + " is not a native " +
                                          Self::kKind);
    }
    return Self::Unwrap(info[i].As<Napi::Object>())->Handle(env, op);
  }

 protected:
  std::shared_ptr<H> Handle(Napi::Env env, const char* op) const {
    if (!handle_) throw ClosedError(env, op);
    return handle_;
  }

  // close(): idempotent; resolves with undefined, rejects with rbd_close's error.
  Napi::Value Close(const Napi::CallbackInfo& info, const char* op) {
    auto* w = new CloseWorker<H>(info.Env(), std::move(handle_), op);
    handle_.reset();
    w->Pin(info.This());
    return w->Start();
  }

  Napi::Value IsOpen(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), static_cast<bool>(handle_));
  }

  std::shared_ptr<H> handle_;

 private:
  std::shared_ptr<Registry> registry_;
};

}  // namespace xrbd
