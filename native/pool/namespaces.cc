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

#include "pool/name_list.h"
#include "pool/pool.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/worker.h"

namespace xrbd {

namespace {

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
  auto h = PoolWrap::FromArg(info, 0, "rbd_namespace_list");
  return Start(info, new PoolNameListWorker(info.Env(), std::move(h), rbd_namespace_list, "rbd_namespace_list",
                                            "xrbd:namespaces.list"));
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
