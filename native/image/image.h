// Image: an open librbd image (rbd_image_t).
#pragma once

#include <napi.h>

#include <memory>

#include "handles.h"
#include "core/handle_wrap.h"

namespace xrbd {

class ImageWrap final : public HandleWrap<ImageWrap, ImageHandle> {
 public:
  static constexpr const char* kKind = "image";
  static Napi::Function Init(Napi::Env env);
  static Napi::Function Constructor(Napi::Env env) { return GetAddonData(env)->image_ctor.Value(); }
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<ImageHandle> h);
  explicit ImageWrap(const Napi::CallbackInfo& info) : HandleWrap(info) {}

 private:
  Napi::Value Stat(const Napi::CallbackInfo& info);
  Napi::Value Resize(const Napi::CallbackInfo& info);
  Napi::Value UpdateFeatures(const Napi::CallbackInfo& info);
  Napi::Value Flatten(const Napi::CallbackInfo& info);
  Napi::Value Parent(const Napi::CallbackInfo& info);
  Napi::Value LockOwners(const Napi::CallbackInfo& info);
  Napi::Value Watchers(const Napi::CallbackInfo& info);
  Napi::Value Copy(const Napi::CallbackInfo& info);
  Napi::Value CloseImage(const Napi::CallbackInfo& info) { return Close(info, "rbd_close"); }
  Napi::Value IsOpenGetter(const Napi::CallbackInfo& info) { return IsOpen(info); }
};

}  // namespace xrbd
