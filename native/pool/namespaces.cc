// binding.namespaces: rbd_namespace_* on a pool.
//
//   create(pool, name)  → undefined
//   remove(pool, name)  → undefined
//   list(pool)          → string[]   (librbd's order)
//   exists(pool, name)  → boolean
#include "pool/namespaces.h"

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pool/pool.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/worker.h"

namespace xrbd {

namespace {

class ListWorker final : public PromiseWorker {
 public:
  ListWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h)
      : PromiseWorker(env, "xrbd:namespaces.list"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_namespace_list";
    // librbd wants a non-null buffer even for an empty list.
    int rc = GrowNames(1024, &names_, [&](char* buf, size_t& len) { return rbd_namespace_list(h_->io, buf, &len); });
    return rc < 0 ? rc : 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, names_.size());
    for (size_t i = 0; i < names_.size(); i++) out.Set(static_cast<uint32_t>(i), names_[i]);
    return out;
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::vector<std::string> names_;
};

class ExistsWorker final : public PromiseWorker {
 public:
  ExistsWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string name)
      : PromiseWorker(env, "xrbd:namespaces.exists"), h_(std::move(h)), name_(std::move(name)) {}

 protected:
  int Run() override {
    op_ = "rbd_namespace_exists";
    return rbd_namespace_exists(h_->io, name_.c_str(), &exists_);
  }

  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, exists_); }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string name_;
  bool exists_ = false;
};

Napi::Value Start(const Napi::CallbackInfo& info, PromiseWorker* w) {
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_namespace_create");
  std::string name = StringArg(info, 1, "namespace");
  return Start(info, new CallWorker(info.Env(), "rbd_namespace_create",
                                    [h, name] { return rbd_namespace_create(h->io, name.c_str()); }));
}

Napi::Value Remove(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_namespace_remove");
  std::string name = StringArg(info, 1, "namespace");
  return Start(info, new CallWorker(info.Env(), "rbd_namespace_remove",
                                    [h, name] { return rbd_namespace_remove(h->io, name.c_str()); }));
}

Napi::Value List(const Napi::CallbackInfo& info) {
  return Start(info, new ListWorker(info.Env(), PoolWrap::FromArg(info, 0, "rbd_namespace_list")));
}

Napi::Value Exists(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_namespace_exists");
  return Start(info, new ExistsWorker(info.Env(), std::move(h), StringArg(info, 1, "namespace")));
}

}  // namespace

void InitNamespaces(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("create", Napi::Function::New(env, Create, "create"));
  area.Set("remove", Napi::Function::New(env, Remove, "remove"));
  area.Set("list", Napi::Function::New(env, List, "list"));
  area.Set("exists", Napi::Function::New(env, Exists, "exists"));
  exports.Set("namespaces", area);
}

}  // namespace xrbd
