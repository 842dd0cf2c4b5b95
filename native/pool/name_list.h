// The pool-level "list of names" calls (rbd_group_list, rbd_namespace_list):
// one worker for both. librbd fills a buffer of NUL-separated names and says
// how big it must be when it is too small (GrowNames, core/erange.h).
#pragma once

#include <rados/librados.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/erange.h"
#include "core/worker.h"
#include "handles.h"

namespace xrbd {

// int rbd_group_list(rados_ioctx_t, char*, size_t*) and rbd_namespace_list have this shape.
using PoolNameListFn = int (*)(rados_ioctx_t, char*, size_t*);

class PoolNameListWorker final : public PromiseWorker {
 public:
  PoolNameListWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, PoolNameListFn fn, const char* op,
                     const char* resource)
      : PromiseWorker(env, resource), h_(std::move(h)), fn_(fn), name_(op) {}

 protected:
  int Run() override {
    op_ = name_;
    // librbd wants a non-null buffer even for an empty list.
    int rc = GrowNames(1024, &names_, [&](char* buf, size_t& len) { return fn_(h_->io, buf, &len); });
    return rc < 0 ? rc : 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, names_.size());
    for (size_t i = 0; i < names_.size(); i++) out.Set(static_cast<uint32_t>(i), names_[i]);
    return out;
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  PoolNameListFn fn_;
  const char* name_;
  std::vector<std::string> names_;
};

}  // namespace xrbd
