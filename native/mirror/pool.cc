// binding.mirrorPool: pool-level rbd_mirror_* calls (`rbd mirror pool ...`).
//
//   modeGet(pool) → number                     modeSet(pool, mode) → undefined
//   uuidGet(pool) → string
//   remoteNamespaceGet(pool) → string          remoteNamespaceSet(pool, ns)  (librbd 1.20+ only; see capabilities.h)
//   siteNameGet(pool) → string                 siteNameSet(pool, name)      (on the pool's rados_t)
//   bootstrapCreate(pool) → string             bootstrapImport(pool, direction, token)
//   peerAdd(pool, direction, siteName, clientName) → uuid
//   peerRemove(pool, uuid)   peerSetName(pool, uuid, name)   peerSetClient(pool, uuid, client)
//   peerSetDirection(pool, uuid, direction)
//   peerList(pool) → { uuid, direction, siteName, mirrorUuid, clientName, lastSeen (s) }[]
//   peerGetAttributes(pool, uuid) → [key, value][]
//   peerSetAttributes(pool, uuid, [key, value][])
//   statusSummary(pool) → [state, count][]
//   globalStatusList(pool, startId, max) → { id, status (mirror_status.h) }[]
//   infoList(pool, modeFilter (-1: all), startId, max) → { id, mode, info }[]
//   instanceIdList(pool, startId, max) → [imageId, instanceId][]
//
// Promoting and demoting images pool-wide is lib/'s loop over its own Image
// handles (lib/mirror/), so that the per-image role gate covers it: no image is
// opened here.
// Numbers are librbd's enum values; lib/mirror/pool-mirror.ts names them. Tokens and
// peer keys are secrets: they never go into an error message.
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

// A string answer: librbd answers -ERANGE and the length it needs, NUL included.
int GetString(const std::function<int(char*, size_t*)>& fn, std::string* out) {
  int rc = GrowString(256, out, [&](char* buf, size_t& len) { return fn(buf, &len); });
  return rc < 0 ? rc : 0;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

Napi::Array PairsToJs(Napi::Env env, const Pairs& pairs) {
  Napi::Array out = Napi::Array::New(env, pairs.size());
  for (size_t i = 0; i < pairs.size(); i++) {
    Napi::Array kv = Napi::Array::New(env, 2);
    kv.Set(0u, pairs[i].first);
    kv.Set(1u, pairs[i].second);
    out.Set(static_cast<uint32_t>(i), kv);
  }
  return out;
}

// Walk `count` NUL-terminated strings packed in `buf`.
std::vector<std::string> SplitNul(const std::vector<char>& buf, size_t count) {
  std::vector<std::string> out;
  size_t at = 0;
  while (out.size() < count && at < buf.size()) {
    size_t len = strnlen(buf.data() + at, buf.size() - at);
    out.emplace_back(buf.data() + at, len);
    at += len + 1;
  }
  return out;
}

class GetAttributesWorker final : public PromiseWorker {
 public:
  GetAttributesWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string uuid)
      : PromiseWorker(env, "xrbd:mirrorPool.peerGetAttributes"), h_(std::move(h)), uuid_(std::move(uuid)) {}

 protected:
  int Run() override {
    op_ = "rbd_mirror_peer_site_get_attributes";
    std::vector<char> keys, values;
    size_t klen = 1024, vlen = 4096, count = 0;
    int rc = GrowRetryPair(klen, vlen, [&](size_t& kl, size_t& vl) {
      keys.assign(kl, '\0');
      values.assign(vl, '\0');
      return rbd_mirror_peer_site_get_attributes(h_->io, uuid_.c_str(), keys.data(), &kl, values.data(), &vl, &count);
    });
    if (rc < 0) return rc;
    keys.resize(klen < keys.size() ? klen : keys.size());
    values.resize(vlen < values.size() ? vlen : values.size());
    auto k = SplitNul(keys, count), v = SplitNul(values, count);
    for (size_t j = 0; j < k.size() && j < v.size(); j++) pairs_.emplace_back(k[j], v[j]);
    return 0;
  }

  Napi::Value Result(Napi::Env env) override { return PairsToJs(env, pairs_); }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string uuid_;
  Pairs pairs_;
};

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

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, rows_.size());
    for (size_t i = 0; i < rows_.size(); i++) {
      Napi::Array kv = Napi::Array::New(env, 2);
      kv.Set(0u, rows_[i].first);
      kv.Set(1u, rows_[i].second);
      out.Set(static_cast<uint32_t>(i), kv);
    }
    return out;
  }

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

Napi::Value Start(const Napi::CallbackInfo& info, PromiseWorker* w) { return StartOnFirstArg(info, w); }

// One librbd call on the pool: nothing, a number or a string out.
Napi::Value Call(const Napi::CallbackInfo& info, const char* op, std::function<int()> fn) {
  return Start(info, new CallWorker(info.Env(), op, std::move(fn)));
}
Napi::Value CallForNumber(const Napi::CallbackInfo& info, const char* op, std::function<int(double&)> fn) {
  return Start(info, new ValueCallWorker<double>(info.Env(), op, std::move(fn)));
}
Napi::Value CallForString(const Napi::CallbackInfo& info, const char* op, std::function<int(std::string&)> fn) {
  return Start(info, new ValueCallWorker<std::string>(info.Env(), op, std::move(fn)));
}

Napi::Value ModeGet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_mode_get");
  return CallForNumber(info, "rbd_mirror_mode_get", [h](double& out) {
    rbd_mirror_mode_t mode = RBD_MIRROR_MODE_DISABLED;
    int rc = rbd_mirror_mode_get(h->io, &mode);
    out = static_cast<double>(mode);
    return rc;
  });
}

Napi::Value ModeSet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_mode_set");
  int mode = IntArg(info, 1, "mode");
  return Call(info, "rbd_mirror_mode_set",
              [h, mode] { return rbd_mirror_mode_set(h->io, static_cast<rbd_mirror_mode_t>(mode)); });
}

Napi::Value UuidGet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_uuid_get");
  return CallForString(info, "rbd_mirror_uuid_get", [h](std::string& out) {
    return GetString([&](char* buf, size_t* len) { return rbd_mirror_uuid_get(h->io, buf, len); }, &out);
  });
}

#if XRBD_HAS_MIRROR_REMOTE_NAMESPACE
Napi::Value RemoteNamespaceGet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_remote_namespace_get");
  return CallForString(info, "rbd_mirror_remote_namespace_get", [h](std::string& out) {
    return GetString([&](char* buf, size_t* len) { return rbd_mirror_remote_namespace_get(h->io, buf, len); }, &out);
  });
}

Napi::Value RemoteNamespaceSet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_remote_namespace_set");
  std::string ns = StringArg(info, 1, "remote namespace");
  return Call(info, "rbd_mirror_remote_namespace_set",
              [h, ns] { return rbd_mirror_remote_namespace_set(h->io, ns.c_str()); });
}
#endif

Napi::Value SiteNameGet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_site_name_get");
  return CallForString(info, "rbd_mirror_site_name_get", [h](std::string& out) {
    return GetString([&](char* buf, size_t* len) { return rbd_mirror_site_name_get(h->cluster->cluster, buf, len); },
                     &out);
  });
}

Napi::Value SiteNameSet(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_site_name_set");
  std::string name = StringArg(info, 1, "site name");
  return Call(info, "rbd_mirror_site_name_set",
              [h, name] { return rbd_mirror_site_name_set(h->cluster->cluster, name.c_str()); });
}

Napi::Value BootstrapCreate(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_bootstrap_create");
  return CallForString(info, "rbd_mirror_peer_bootstrap_create", [h](std::string& out) {
    return GetString([&](char* buf, size_t* len) { return rbd_mirror_peer_bootstrap_create(h->io, buf, len); }, &out);
  });
}

Napi::Value BootstrapImport(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_bootstrap_import");
  int direction = IntArg(info, 1, "direction");
  std::string token = StringArg(info, 2, "token");
  return Call(info, "rbd_mirror_peer_bootstrap_import", [h, direction, token] {
    return rbd_mirror_peer_bootstrap_import(h->io, static_cast<rbd_mirror_peer_direction_t>(direction), token.c_str());
  });
}

Napi::Value PeerAdd(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_add");
  int direction = IntArg(info, 1, "direction");
  std::string site = StringArg(info, 2, "site name");
  std::string client = StringArg(info, 3, "client name");
  return CallForString(info, "rbd_mirror_peer_site_add", [h, direction, site, client](std::string& out) {
    char uuid[128] = {0};
    int rc = rbd_mirror_peer_site_add(h->io, uuid, sizeof(uuid), static_cast<rbd_mirror_peer_direction_t>(direction),
                                      site.c_str(), client.c_str());
    if (rc >= 0) out.assign(uuid, strnlen(uuid, sizeof(uuid)));
    return rc;
  });
}

Napi::Value PeerRemove(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_remove");
  std::string uuid = StringArg(info, 1, "peer uuid");
  return Call(info, "rbd_mirror_peer_site_remove", [h, uuid] { return rbd_mirror_peer_site_remove(h->io, uuid.c_str()); });
}

Napi::Value PeerSetName(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_set_name");
  std::string uuid = StringArg(info, 1, "peer uuid");
  std::string name = StringArg(info, 2, "site name");
  return Call(info, "rbd_mirror_peer_site_set_name",
              [h, uuid, name] { return rbd_mirror_peer_site_set_name(h->io, uuid.c_str(), name.c_str()); });
}

Napi::Value PeerSetClient(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_set_client_name");
  std::string uuid = StringArg(info, 1, "peer uuid");
  std::string client = StringArg(info, 2, "client name");
  return Call(info, "rbd_mirror_peer_site_set_client_name",
              [h, uuid, client] { return rbd_mirror_peer_site_set_client_name(h->io, uuid.c_str(), client.c_str()); });
}

Napi::Value PeerSetDirection(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_set_direction");
  std::string uuid = StringArg(info, 1, "peer uuid");
  int direction = IntArg(info, 2, "direction");
  return Call(info, "rbd_mirror_peer_site_set_direction", [h, uuid, direction] {
    return rbd_mirror_peer_site_set_direction(h->io, uuid.c_str(), static_cast<rbd_mirror_peer_direction_t>(direction));
  });
}

Napi::Value PeerList(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_list");
  return Start(info, NewPeerSiteListWorker(info.Env(), std::move(h), "xrbd:mirrorPool.peerList"));
}

Napi::Value PeerGetAttributes(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_get_attributes");
  return Start(info, new GetAttributesWorker(info.Env(), std::move(h), StringArg(info, 1, "peer uuid")));
}

Napi::Value PeerSetAttributes(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_set_attributes");
  std::string uuid = StringArg(info, 1, "peer uuid");
  Napi::Array arr = ArrayArg(info, 2, "attributes");
  // Packed as librbd wants them: NUL-terminated keys, NUL-terminated values.
  std::string keys, values;
  size_t count = arr.Length();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value kv = arr.Get(i);
    if (!kv.IsArray() || kv.As<Napi::Array>().Length() != 2 || !kv.As<Napi::Array>().Get(0u).IsString() ||
        !kv.As<Napi::Array>().Get(1u).IsString()) {
      throw Napi::TypeError::New(info.Env(), "attributes must be [key, value] string pairs");
    }
    keys += kv.As<Napi::Array>().Get(0u).As<Napi::String>().Utf8Value();
    keys.push_back('\0');
    values += kv.As<Napi::Array>().Get(1u).As<Napi::String>().Utf8Value();
    values.push_back('\0');
  }
  return Call(info, "rbd_mirror_peer_site_set_attributes", [h, uuid, keys, values, count] {
    return rbd_mirror_peer_site_set_attributes(h->io, uuid.c_str(), keys.data(), values.data(), count);
  });
}

Napi::Value StatusSummary(const Napi::CallbackInfo& info) {
  return Start(info, new SummaryWorker(info.Env(), PoolWrap::FromArg(info, 0, "rbd_mirror_image_status_summary")));
}

Napi::Value GlobalStatusList(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_image_global_status_list");
  std::string start = StringArg(info, 1, "start id");
  return Start(info, new GlobalStatusPageWorker(info.Env(), std::move(h), std::move(start), PageArg(info, 2)));
}

Napi::Value InfoList(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_image_info_list");
  int filter = IntArg(info, 1, "mode filter");
  std::string start = StringArg(info, 2, "start id");
  return Start(info, new InfoPageWorker(info.Env(), std::move(h), filter, std::move(start), PageArg(info, 3)));
}

Napi::Value InstanceIdList(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_image_instance_id_list");
  std::string start = StringArg(info, 1, "start id");
  return Start(info, new InstanceIdPageWorker(info.Env(), std::move(h), std::move(start), PageArg(info, 2)));
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
      {"bootstrapCreate", BootstrapCreate},
      {"bootstrapImport", BootstrapImport},
      {"peerAdd", PeerAdd},
      {"peerRemove", PeerRemove},
      {"peerSetName", PeerSetName},
      {"peerSetClient", PeerSetClient},
      {"peerSetDirection", PeerSetDirection},
      {"peerList", PeerList},
      {"peerGetAttributes", PeerGetAttributes},
      {"peerSetAttributes", PeerSetAttributes},
      {"statusSummary", StatusSummary},
      {"globalStatusList", GlobalStatusList},
      {"infoList", InfoList},
      {"instanceIdList", InstanceIdList},
  };
  for (const auto& [name, fn] : fns) area.Set(name, Napi::Function::New(env, fn, name));
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
