// binding.mirrorPool: pool-level rbd_mirror_* calls (`rbd mirror pool ...`).
//
//   modeGet(pool) → number                     modeSet(pool, mode) → undefined
//   uuidGet(pool) → string
//   remoteNamespaceGet(pool) → string          remoteNamespaceSet(pool, ns)  (librbd 1.20+ only; see capabilities.h)
//   siteNameGet(pool) → string                 siteNameSet(pool, name)      (on the pool's rados_t)
//   bootstrap* / peer*: see mirror/peers.cc
//   statusSummary(pool) → [state, count][]
//   globalStatusList(pool, startId, max) → { id, status (mirror_status.h) }[]
//   infoList(pool, modeFilter (-1: all), startId, max) → { id, mode, info }[]
//   instanceIdList(pool, startId, max) → [imageId, instanceId][]
//
// Promoting and demoting images pool-wide is lib/'s loop over its own Image
// handles (lib/mirror/), so that the per-image role gate covers it: no image is
// opened here.
// Numbers are librbd's enum values (binding.constants); lib/ names them.
#include "mirror/pool.h"

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/capabilities.h"
#include "pool/pool.h"
#include "core/args.h"
#include "core/erange.h"
#include "mirror/peers.h"
#include "mirror/status.h"
#include "core/worker.h"

namespace xrbd {

namespace {

class SummaryWorker final : public PromiseWorker {
 public:
  SummaryWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h)
      : PromiseWorker(env, "xrbd:mirrorPool.statusSummary"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_mirror_image_status_summary";
    // librbd knows 7 states; it answers -ERANGE without a size when 16 are too few.
    std::vector<rbd_mirror_image_status_state_t> states;
    std::vector<int> counts;
    size_t n = 16;
    int rc = GrowRetry(n, sizeof(rbd_mirror_image_status_state_t) + sizeof(int), [&](size_t& cap) {
      states.assign(cap, rbd_mirror_image_status_state_t{});
      counts.assign(cap, 0);
      return rbd_mirror_image_status_summary(h_->io, states.data(), counts.data(), &cap);
    });
    if (rc < 0) return rc;
    for (size_t j = 0; j < n && j < states.size(); j++) rows_.emplace_back(static_cast<int>(states[j]), counts[j]);
    return 0;
  }

  Napi::Value Result(Napi::Env env) override { return PairsToJs(env, rows_); }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::vector<std::pair<int, int>> rows_;
};

// One page of rbd_mirror_image_global_status_list. The JS objects are built on
// the JS thread from librbd's structs, which are freed in the destructor.
class GlobalStatusPageWorker final : public PromiseWorker {
 public:
  GlobalStatusPageWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string start, size_t max)
      : PromiseWorker(env, "xrbd:mirrorPool.globalStatusList"),
        h_(std::move(h)),
        start_(std::move(start)),
        ids_(max),
        statuses_(max) {}
  ~GlobalStatusPageWorker() override {
    if (len_ > 0) rbd_mirror_image_global_status_list_cleanup(ids_.data(), statuses_.data(), len_);
  }

 protected:
  int Run() override {
    op_ = "rbd_mirror_image_global_status_list";
    size_t len = 0;
    int rc = rbd_mirror_image_global_status_list(h_->io, start_.c_str(), ids_.size(), ids_.data(), statuses_.data(),
                                                 &len);
    if (rc < 0) return rc;
    len_ = len;
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, len_);
    for (size_t i = 0; i < len_; i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", ids_[i] != nullptr ? ids_[i] : "");
      o.Set("status", MirrorGlobalStatusToJs(env, statuses_[i]));
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string start_;
  std::vector<char*> ids_;
  std::vector<rbd_mirror_image_global_status_t> statuses_;
  size_t len_ = 0;
};

class InfoPageWorker final : public PromiseWorker {
 public:
  InfoPageWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, int filter, std::string start, size_t max)
      : PromiseWorker(env, "xrbd:mirrorPool.infoList"),
        h_(std::move(h)),
        filter_(filter),
        start_(std::move(start)),
        ids_(max),
        modes_(max),
        infos_(max) {}
  ~InfoPageWorker() override {
    if (len_ > 0) rbd_mirror_image_info_list_cleanup(ids_.data(), infos_.data(), len_);
  }

 protected:
  int Run() override {
    op_ = "rbd_mirror_image_info_list";
    auto mode = static_cast<rbd_mirror_image_mode_t>(filter_);
    size_t len = ids_.size();
    int rc = rbd_mirror_image_info_list(h_->io, filter_ < 0 ? nullptr : &mode, start_.c_str(), ids_.size(),
                                        ids_.data(), modes_.data(), infos_.data(), &len);
    if (rc < 0) return rc;
    len_ = len;
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, len_);
    for (size_t i = 0; i < len_; i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", ids_[i] != nullptr ? ids_[i] : "");
      o.Set("mode", static_cast<int>(modes_[i]));
      o.Set("info", MirrorInfoToJs(env, infos_[i]));
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  int filter_;
  std::string start_;
  std::vector<char*> ids_;
  std::vector<rbd_mirror_image_mode_t> modes_;
  std::vector<rbd_mirror_image_info_t> infos_;
  size_t len_ = 0;
};

class InstanceIdPageWorker final : public PromiseWorker {
 public:
  InstanceIdPageWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string start, size_t max)
      : PromiseWorker(env, "xrbd:mirrorPool.instanceIdList"),
        h_(std::move(h)),
        start_(std::move(start)),
        ids_(max),
        instances_(max) {}
  ~InstanceIdPageWorker() override {
    if (len_ > 0) rbd_mirror_image_instance_id_list_cleanup(ids_.data(), instances_.data(), len_);
  }

 protected:
  int Run() override {
    op_ = "rbd_mirror_image_instance_id_list";
    size_t len = 0;
    int rc = rbd_mirror_image_instance_id_list(h_->io, start_.c_str(), ids_.size(), ids_.data(), instances_.data(),
                                               &len);
    if (rc < 0) return rc;
    len_ = len;
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Pairs pairs;
    for (size_t i = 0; i < len_; i++) {
      pairs.emplace_back(ids_[i] != nullptr ? ids_[i] : "", instances_[i] != nullptr ? instances_[i] : "");
    }
    return PairsToJs(env, pairs);
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string start_;
  std::vector<char*> ids_;
  std::vector<char*> instances_;
  size_t len_ = 0;
};

// ---------------------------------------------------------------------------

// The page size of a paged list.
size_t PageArg(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<size_t>(IntArgInRange(info, i, "max", 1, 4096));
}

Napi::Value ModeGet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_mode_get");
  return StartValueCall<double>(info, "rbd_mirror_mode_get", [h](double& out) {
    rbd_mirror_mode_t mode = RBD_MIRROR_MODE_DISABLED;
    int rc = rbd_mirror_mode_get(h->io, &mode);
    out = static_cast<double>(mode);
    return rc;
  });
}

Napi::Value ModeSet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_mode_set");
  int mode = IntArg(info, 1, "mode");
  return StartCall(info, "rbd_mirror_mode_set",
                   [h, mode] { return rbd_mirror_mode_set(h->io, static_cast<rbd_mirror_mode_t>(mode)); });
}

Napi::Value UuidGet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_uuid_get");
  return StartValueCall<std::string>(info, "rbd_mirror_uuid_get", [h](std::string& out) {
    return GrowString(256, &out, [&](char* buf, size_t& len) { return rbd_mirror_uuid_get(h->io, buf, &len); });
  });
}

#if XRBD_HAS_MIRROR_REMOTE_NAMESPACE
Napi::Value RemoteNamespaceGet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_remote_namespace_get");
  return StartValueCall<std::string>(info, "rbd_mirror_remote_namespace_get", [h](std::string& out) {
    return GrowString(256, &out,
                      [&](char* buf, size_t& len) { return rbd_mirror_remote_namespace_get(h->io, buf, &len); });
  });
}

Napi::Value RemoteNamespaceSet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_remote_namespace_set");
  std::string ns = StringArg(info, 1, "remote namespace");
  return StartCall(info, "rbd_mirror_remote_namespace_set",
                   [h, ns] { return rbd_mirror_remote_namespace_set(h->io, ns.c_str()); });
}
#endif

Napi::Value SiteNameGet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_site_name_get");
  return StartValueCall<std::string>(info, "rbd_mirror_site_name_get", [h](std::string& out) {
    return GrowString(256, &out,
                      [&](char* buf, size_t& len) { return rbd_mirror_site_name_get(h->cluster->cluster, buf, &len); });
  });
}

Napi::Value SiteNameSet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_site_name_set");
  std::string name = StringArg(info, 1, "site name");
  return StartCall(info, "rbd_mirror_site_name_set",
                   [h, name] { return rbd_mirror_site_name_set(h->cluster->cluster, name.c_str()); });
}

Napi::Value StatusSummary(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_image_status_summary");
  return StartOnFirstArg(info, new SummaryWorker(info.Env(), std::move(h)));
}

Napi::Value GlobalStatusList(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_image_global_status_list");
  std::string start = StringArg(info, 1, "start id");
  size_t max = PageArg(info, 2);
  return StartOnFirstArg(info, new GlobalStatusPageWorker(info.Env(), std::move(h), std::move(start), max));
}

Napi::Value InfoList(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_image_info_list");
  int filter = IntArg(info, 1, "mode filter");
  std::string start = StringArg(info, 2, "start id");
  size_t max = PageArg(info, 3);
  return StartOnFirstArg(info, new InfoPageWorker(info.Env(), std::move(h), filter, std::move(start), max));
}

Napi::Value InstanceIdList(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_image_instance_id_list");
  std::string start = StringArg(info, 1, "start id");
  return StartOnFirstArg(info, new InstanceIdPageWorker(info.Env(), std::move(h), std::move(start), PageArg(info, 2)));
}

}  // namespace

void InitMirrorPool(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  const std::pair<const char*, Napi::Value (*)(const Napi::CallbackInfo&)> fns[] = {
      {"modeGet", ModeGet},
      {"modeSet", ModeSet},
      {"uuidGet", UuidGet},
      {"siteNameGet", SiteNameGet},
      {"siteNameSet", SiteNameSet},
      {"statusSummary", StatusSummary},
      {"globalStatusList", GlobalStatusList},
      {"infoList", InfoList},
      {"instanceIdList", InstanceIdList},
  };
  for (const auto& [name, fn] : fns) area.Set(name, Napi::Function::New(env, fn, name));
  AddMirrorPeerCalls(env, area);  // mirror/peers.cc
#if XRBD_HAS_MIRROR_REMOTE_NAMESPACE
  // Only where the loaded librbd has them too (the symbols bind lazily): lib/ checks capabilities() first.
  if (RuntimeLibrbdAtLeastHeaders()) {
    area.Set("remoteNamespaceGet", Napi::Function::New(env, RemoteNamespaceGet, "remoteNamespaceGet"));
    area.Set("remoteNamespaceSet", Napi::Function::New(env, RemoteNamespaceSet, "remoteNamespaceSet"));
  }
#endif
  exports.Set("mirrorPool", area);
}

}  // namespace xrbd
