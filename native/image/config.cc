// binding.imageConfig: an image's effective librbd config (rbd_config_image_list).
//
//   list(image) → { name, value, source }[]  (source: rbd_config_source_t, numbers in binding.poolConfig.sources)
//
// `rbd config image set/get/remove` are image metadata under "conf_<option>"
// (binding.metadata); lib/image/config.ts adds the prefix.
#include "image/config.h"

#include <rbd/librbd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"
#include "core/args.h"
#include "core/kv_list.h"
#include "core/worker.h"

namespace xrbd {

namespace {

class ConfigListWorker final : public PromiseWorker {
 public:
  ConfigListWorker(Napi::Env env, std::shared_ptr<ImageHandle> h)
      : PromiseWorker(env, "xrbd:imageConfigList"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_config_image_list";
    return ListConfigOptions(
        &options_, [&](rbd_config_option_t* o, int* max) { return rbd_config_image_list(h_->image, o, max); },
        rbd_config_image_list_cleanup);
  }
  Napi::Value Result(Napi::Env env) override { return ConfigOptionsToJs(env, options_); }

 private:
  std::shared_ptr<ImageHandle> h_;
  std::vector<ConfigOption> options_;
};

Napi::Value List(const Napi::CallbackInfo& info) {
  auto* w = new ConfigListWorker(info.Env(), ImageWrap::FromArg(info, 0, "rbd_config_image_list"));
  w->Pin(info[0]);
  return w->Start();
}

}  // namespace

void InitImageConfig(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("list", Napi::Function::New(env, List, "list"));
  exports.Set("imageConfig", area);
}

}  // namespace xrbd
