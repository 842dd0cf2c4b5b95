#include "cluster/capabilities.h"

#include <string>

namespace xrbd {

namespace {

std::string Dotted(int maj, int min, int extra) {
  return std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(extra);
}

// capabilities() → { librbdHeader, librbd, calls: { <C function>: { compiled, available } } }
Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int maj = 0, min = 0, extra = 0;
  rbd_version(&maj, &min, &extra);
  const bool runtime_ok = RuntimeLibrbdAtLeastHeaders();
  Napi::Object calls = Napi::Object::New(env);
  auto add = [&](const char* name, bool compiled) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("compiled", compiled);
    c.Set("available", compiled && runtime_ok);
    calls.Set(name, c);
  };
  add("rbd_mirror_remote_namespace_get", XRBD_HAS_MIRROR_REMOTE_NAMESPACE);
  add("rbd_mirror_remote_namespace_set", XRBD_HAS_MIRROR_REMOTE_NAMESPACE);
  add("rbd_encryption_load2", XRBD_HAS_ENCRYPTION_LOAD2);
  add("rbd_aio_compare_and_writev", XRBD_HAS_AIO_COMPARE_AND_WRITEV);
  add("rbd_diff_iterate3", XRBD_HAS_DIFF_ITERATE3);
  Napi::Object out = Napi::Object::New(env);
  out.Set("librbdHeader", Dotted(LIBRBD_VER_MAJOR, LIBRBD_VER_MINOR, LIBRBD_VER_EXTRA));
  out.Set("librbd", Dotted(maj, min, extra));
  out.Set("calls", calls);
  return out;
}

}  // namespace

bool RuntimeLibrbdAtLeastHeaders() {
  int maj = 0, min = 0, extra = 0;
  rbd_version(&maj, &min, &extra);
  return LIBRBD_VERSION(maj, min, extra) >= LIBRBD_VERSION_CODE;
}

void InitCapabilities(Napi::Env env, Napi::Object exports) {
  exports.Set("capabilities", Napi::Function::New<Capabilities>(env, "capabilities"));
}

}  // namespace xrbd
