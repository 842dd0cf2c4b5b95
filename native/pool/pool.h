// Pool: a librados I/O context (rados_ioctx_t) and the librbd calls that take one.
#pragma once

#include <napi.h>

#include <memory>

#include "handles.h"
#include "core/handle_wrap.h"

namespace xrbd {

class PoolWrap final : public HandleWrap<PoolWrap, IoCtxHandle> {
 public:
  static constexpr const char* kKind = "pool";
  static Napi::Function Init(Napi::Env env);  // the class; Init(info) is rbd_pool_init
  static Napi::Function Constructor(Napi::Env env) { return GetAddonData(env)->pool_ctor.Value(); }
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<IoCtxHandle> h);
  explicit PoolWrap(const Napi::CallbackInfo& info) : HandleWrap(info) {}

 private:
  Napi::Value CreateImage(const Napi::CallbackInfo& info);
  Napi::Value ListImages(const Napi::CallbackInfo& info);
  Napi::Value RemoveImage(const Napi::CallbackInfo& info);
  Napi::Value OpenImage(const Napi::CallbackInfo& info);
  Napi::Value PoolId(const Napi::CallbackInfo& info);
  Napi::Value Init(const Napi::CallbackInfo& info);
  Napi::Value RenameImage(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value ClosePool(const Napi::CallbackInfo& info) { return Close(info, "rados_ioctx_destroy"); }
  Napi::Value IsOpenGetter(const Napi::CallbackInfo& info) { return IsOpen(info); }
};

}  // namespace xrbd
