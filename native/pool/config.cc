// binding.poolConfig: pool metadata (rbd_pool_metadata_*) and the pool's
// librbd config overrides (rbd_config_pool_list), on the pool's ioctx.
//
//   metadataGet(pool, key)          → string (ENOENT when unset)
//   metadataSet(pool, key, value)   → undefined
//   metadataRemove(pool, key)       → undefined
//   metadataList(pool)              → [key, value][]
//   list(pool)                      → { name, value, source }[]  (source: rbd_config_source_t)
//
// `rbd config pool set/get/remove` are pool metadata under the key "conf_<option>";
// lib/pool/config.ts adds the prefix.
#include "pool/config.h"

#include <rbd/librbd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pool/pool.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/kv_list.h"
#include "core/worker.h"

namespace xrbd {

namespace {

using PoolPtr = std::shared_ptr<IoCtxHandle>;

class MetaGetWorker final : public PromiseWorker {
 public:
  MetaGetWorker(Napi::Env env, PoolPtr h, std::string key)
      : PromiseWorker(env, "xrbd:poolMetadataGet"), h_(std::move(h)), key_(std::move(key)) {}

 protected:
  int Run() override {
    op_ = "rbd_pool_metadata_get";
    int rc = GrowString(256, &value_,
                        [&](char* buf, size_t& len) { return rbd_pool_metadata_get(h_->io, key_.c_str(), buf, &len); });
    return rc < 0 ? rc : 0;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, value_); }

 private:
  PoolPtr h_;
  std::string key_, value_;
};

class MetaListWorker final : public PromiseWorker {
 public:
  MetaListWorker(Napi::Env env, PoolPtr h) : PromiseWorker(env, "xrbd:poolMetadataList"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_pool_metadata_list";
    return ListKeyValues(&pairs_, [&](const char* start, uint64_t max, char* k, size_t* kl, char* v, size_t* vl) {
      return rbd_pool_metadata_list(h_->io, start, max, k, kl, v, vl);
    });
  }
  Napi::Value Result(Napi::Env env) override { return PairsToJs(env, pairs_); }

 private:
  PoolPtr h_;
  KeyValues pairs_;
};

class ConfigListWorker final : public PromiseWorker {
 public:
  ConfigListWorker(Napi::Env env, PoolPtr h) : PromiseWorker(env, "xrbd:poolConfigList"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_config_pool_list";
    return ListConfigOptions(
        &options_, [&](rbd_config_option_t* o, int* max) { return rbd_config_pool_list(h_->io, o, max); },
        rbd_config_pool_list_cleanup);
  }
  Napi::Value Result(Napi::Env env) override { return ConfigOptionsToJs(env, options_); }

 private:
  PoolPtr h_;
  std::vector<ConfigOption> options_;
};

Napi::Value Start(const Napi::CallbackInfo& info, PromiseWorker* w) {
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value MetadataGet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_pool_metadata_get");
  return Start(info, new MetaGetWorker(info.Env(), std::move(h), StringArg(info, 1, "key")));
}

Napi::Value MetadataSet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_pool_metadata_set");
  std::string key = StringArg(info, 1, "key"), value = StringArg(info, 2, "value");
  return Start(info, new CallWorker(info.Env(), "rbd_pool_metadata_set", [h, key, value] {
                 return rbd_pool_metadata_set(h->io, key.c_str(), value.c_str());
               }));
}

Napi::Value MetadataRemove(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_pool_metadata_remove");
  std::string key = StringArg(info, 1, "key");
  return Start(info, new CallWorker(info.Env(), "rbd_pool_metadata_remove",
                                    [h, key] { return rbd_pool_metadata_remove(h->io, key.c_str()); }));
}

Napi::Value MetadataList(const Napi::CallbackInfo& info) {
  return Start(info, new MetaListWorker(info.Env(), PoolWrap::FromArg(info, 0, "rbd_pool_metadata_list")));
}

Napi::Value ConfigList(const Napi::CallbackInfo& info) {
  return Start(info, new ConfigListWorker(info.Env(), PoolWrap::FromArg(info, 0, "rbd_config_pool_list")));
}

}  // namespace

void InitPoolConfig(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("metadataGet", Napi::Function::New(env, MetadataGet, "metadataGet"));
  area.Set("metadataSet", Napi::Function::New(env, MetadataSet, "metadataSet"));
  area.Set("metadataRemove", Napi::Function::New(env, MetadataRemove, "metadataRemove"));
  area.Set("metadataList", Napi::Function::New(env, MetadataList, "metadataList"));
  area.Set("list", Napi::Function::New(env, ConfigList, "list"));
  exports.Set("poolConfig", area);
}

}  // namespace xrbd
