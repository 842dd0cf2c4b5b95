#include "image/metadata.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/kv_list.h"
#include "core/worker.h"

namespace xrbd {

namespace {

using ImagePtr = std::shared_ptr<ImageHandle>;

class GetWorker final : public PromiseWorker {
 public:
  GetWorker(Napi::Env env, ImagePtr h, std::string key)
      : PromiseWorker(env, "xrbd:metadataGet"), h_(std::move(h)), key_(std::move(key)) {}

 protected:
  int Run() override {
    op_ = "rbd_metadata_get";
    int rc = GrowString(256, &value_,
                        [&](char* buf, size_t& len) { return rbd_metadata_get(h_->image, key_.c_str(), buf, &len); });
    return rc < 0 ? rc : 0;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, value_); }

 private:
  ImagePtr h_;
  std::string key_, value_;
};

// set(key, value) and remove(key)
class SetWorker final : public PromiseWorker {
 public:
  SetWorker(Napi::Env env, ImagePtr h, std::string key, std::string value, bool remove)
      : PromiseWorker(env, "xrbd:metadataSet"), h_(std::move(h)), key_(std::move(key)), value_(std::move(value)),
        remove_(remove) {}

 protected:
  int Run() override {
    if (remove_) {
      op_ = "rbd_metadata_remove";
      return rbd_metadata_remove(h_->image, key_.c_str());
    }
    op_ = "rbd_metadata_set";
    return rbd_metadata_set(h_->image, key_.c_str(), value_.c_str());
  }

 private:
  ImagePtr h_;
  std::string key_, value_;
  bool remove_;
};

// list(): every key/value, fetched in pages so that any number of keys fits.
class ListWorker final : public PromiseWorker {
 public:
  ListWorker(Napi::Env env, ImagePtr h) : PromiseWorker(env, "xrbd:metadataList"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_metadata_list";
    return ListKeyValues(&pairs_, [&](const char* start, uint64_t max, char* k, size_t* kl, char* v, size_t* vl) {
      return rbd_metadata_list(h_->image, start, max, k, kl, v, vl);
    });
  }
  Napi::Value Result(Napi::Env env) override { return PairsToJs(env, pairs_); }

 private:
  ImagePtr h_;
  KeyValues pairs_;
};

Napi::Value Get(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_metadata_get");
  auto* w = new GetWorker(info.Env(), std::move(h), StringArg(info, 1, "key"));
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value Set(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_metadata_set");
  std::string key = StringArg(info, 1, "key"), value = StringArg(info, 2, "value");
  auto* w = new SetWorker(info.Env(), std::move(h), std::move(key), std::move(value), false);
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value Remove(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_metadata_remove");
  auto* w = new SetWorker(info.Env(), std::move(h), StringArg(info, 1, "key"), "", true);
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value List(const Napi::CallbackInfo& info) {
  auto* w = new ListWorker(info.Env(), ImageWrap::FromArg(info, 0, "rbd_metadata_list"));
  w->Pin(info[0]);
  return w->Start();
}

}  // namespace

void InitMetadata(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("get", Napi::Function::New(env, Get, "get"));
  area.Set("set", Napi::Function::New(env, Set, "set"));
  area.Set("remove", Napi::Function::New(env, Remove, "remove"));
  area.Set("list", Napi::Function::New(env, List, "list"));
  exports.Set("metadata", area);
}

}  // namespace xrbd
