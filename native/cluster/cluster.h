// Cluster: a librados client (rados_t).
#pragma once

#include <napi.h>

#include "handles.h"
#include "core/handle_wrap.h"

namespace xrbd {

class ClusterWrap final : public HandleWrap<ClusterWrap, RadosHandle> {
 public:
  static constexpr const char* kKind = "cluster";
  static Napi::Function Init(Napi::Env env);
  static Napi::Function Constructor(Napi::Env env) { return GetAddonData(env)->cluster_ctor.Value(); }
  explicit ClusterWrap(const Napi::CallbackInfo& info) : HandleWrap(info) {}

 private:
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Fsid(const Napi::CallbackInfo& info);
  Napi::Value InstanceId(const Napi::CallbackInfo& info);
  Napi::Value OpenPool(const Napi::CallbackInfo& info);
  Napi::Value ConfGet(const Napi::CallbackInfo& info);
  Napi::Value ConfSet(const Napi::CallbackInfo& info);
  Napi::Value CloseCluster(const Napi::CallbackInfo& info) { return Close(info, "rados_shutdown"); }
  Napi::Value IsOpenGetter(const Napi::CallbackInfo& info) { return IsOpen(info); }
};

// Library versions, for `versions()`: no handle needed.
Napi::Value Versions(const Napi::CallbackInfo& info);

}  // namespace xrbd
