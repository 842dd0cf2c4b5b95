// binding.mirrorPool's peer calls (`rbd mirror pool peer ...`, `... bootstrap ...`),
// registered on the area object by InitMirrorPool (mirror/pool.cc):
//
//   bootstrapCreate(pool) → string             bootstrapImport(pool, direction, token)
//   peerAdd(pool, direction, siteName, clientName) → uuid
//   peerRemove(pool, uuid)   peerSetName(pool, uuid, name)   peerSetClient(pool, uuid, client)
//   peerSetDirection(pool, uuid, direction)
//   peerList(pool) → { uuid, direction, siteName, mirrorUuid, clientName, lastSeen (s) }[]
//   peerGetAttributes(pool, uuid) → [key, value][]
//   peerSetAttributes(pool, uuid, [key, value][])
//
// and the peer-site list worker mirrorImage.peerSites shares. Tokens and peer
// keys are secrets: they never go into an error message.
#include "mirror/peers.h"

#include <rbd/librbd.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/args.h"
#include "core/erange.h"
#include "mirror/status.h"
#include "pool/pool.h"

namespace xrbd {

namespace {

struct PeerSite {
  std::string uuid, site_name, mirror_uuid, client_name;
  int direction = 0;
  double last_seen = 0;
};

class PeerSiteListWorker final : public PromiseWorker {
 public:
  PeerSiteListWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> pool, const char* resource)
      : PromiseWorker(env, resource), pool_(std::move(pool)) {}

 protected:
  int Run() override {
    op_ = "rbd_mirror_peer_site_list";
    std::vector<rbd_mirror_peer_site_t> raw;
    size_t n = 8;
    int rc = GrowRetry(n, sizeof(rbd_mirror_peer_site_t), [&](size_t& cap) {
      raw.assign(cap, rbd_mirror_peer_site_t{});
      int count = static_cast<int>(cap);
      int r = rbd_mirror_peer_site_list(pool_->io, raw.data(), &count);  // on -ERANGE, the count needed
      cap = count < 0 ? 0 : static_cast<size_t>(count);
      return r;
    });
    if (rc < 0) return rc;
    auto s = [](const char* c) { return std::string(c != nullptr ? c : ""); };
    for (size_t i = 0; i < n; i++) {
      const rbd_mirror_peer_site_t& p = raw[i];
      sites_.push_back({s(p.uuid), s(p.site_name), s(p.mirror_uuid), s(p.client_name), static_cast<int>(p.direction),
                        static_cast<double>(p.last_seen)});
    }
    rbd_mirror_peer_site_list_cleanup(raw.data(), static_cast<int>(n));
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, sites_.size());
    for (size_t i = 0; i < sites_.size(); i++) {
      const PeerSite& p = sites_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("uuid", p.uuid);
      o.Set("direction", p.direction);
      o.Set("siteName", p.site_name);
      o.Set("mirrorUuid", p.mirror_uuid);
      o.Set("clientName", p.client_name);
      o.Set("lastSeen", p.last_seen);
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  std::shared_ptr<IoCtxHandle> pool_;
  std::vector<PeerSite> sites_;
};

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

Napi::Value BootstrapCreate(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_bootstrap_create");
  return StartValueCall<std::string>(info, "rbd_mirror_peer_bootstrap_create", [h](std::string& out) {
    return GrowString(256, &out,
                      [&](char* buf, size_t& len) { return rbd_mirror_peer_bootstrap_create(h->io, buf, &len); });
  });
}

Napi::Value BootstrapImport(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_bootstrap_import");
  int direction = IntArg(info, 1, "direction");
  std::string token = StringArg(info, 2, "token");
  return StartCall(info, "rbd_mirror_peer_bootstrap_import", [h, direction, token] {
    return rbd_mirror_peer_bootstrap_import(h->io, static_cast<rbd_mirror_peer_direction_t>(direction), token.c_str());
  });
}

Napi::Value PeerAdd(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_add");
  int direction = IntArg(info, 1, "direction");
  std::string site = StringArg(info, 2, "site name");
  std::string client = StringArg(info, 3, "client name");
  return StartValueCall<std::string>(info, "rbd_mirror_peer_site_add", [h, direction, site, client](std::string& out) {
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
  return StartCall(info, "rbd_mirror_peer_site_remove",
                   [h, uuid] { return rbd_mirror_peer_site_remove(h->io, uuid.c_str()); });
}

Napi::Value PeerSetName(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_set_name");
  std::string uuid = StringArg(info, 1, "peer uuid");
  std::string name = StringArg(info, 2, "site name");
  return StartCall(info, "rbd_mirror_peer_site_set_name",
                   [h, uuid, name] { return rbd_mirror_peer_site_set_name(h->io, uuid.c_str(), name.c_str()); });
}

Napi::Value PeerSetClient(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_set_client_name");
  std::string uuid = StringArg(info, 1, "peer uuid");
  std::string client = StringArg(info, 2, "client name");
  return StartCall(info, "rbd_mirror_peer_site_set_client_name", [h, uuid, client] {
    return rbd_mirror_peer_site_set_client_name(h->io, uuid.c_str(), client.c_str());
  });
}

Napi::Value PeerSetDirection(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_set_direction");
  std::string uuid = StringArg(info, 1, "peer uuid");
  int direction = IntArg(info, 2, "direction");
  return StartCall(info, "rbd_mirror_peer_site_set_direction", [h, uuid, direction] {
    return rbd_mirror_peer_site_set_direction(h->io, uuid.c_str(), static_cast<rbd_mirror_peer_direction_t>(direction));
  });
}

Napi::Value PeerList(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_list");
  return StartOnFirstArg(info, NewPeerSiteListWorker(info.Env(), std::move(h), "xrbd:mirrorPool.peerList"));
}

Napi::Value PeerGetAttributes(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_mirror_peer_site_get_attributes");
  return StartOnFirstArg(info, new GetAttributesWorker(info.Env(), std::move(h), StringArg(info, 1, "peer uuid")));
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
  return StartCall(info, "rbd_mirror_peer_site_set_attributes", [h, uuid, keys, values, count] {
    return rbd_mirror_peer_site_set_attributes(h->io, uuid.c_str(), keys.data(), values.data(), count);
  });
}

}  // namespace

PromiseWorker* NewPeerSiteListWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> pool, const char* resource) {
  return new PeerSiteListWorker(env, std::move(pool), resource);
}

void AddMirrorPeerCalls(Napi::Env env, Napi::Object area) {
  const std::pair<const char*, Napi::Value (*)(const Napi::CallbackInfo&)> fns[] = {
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
  };
  for (const auto& [name, fn] : fns) area.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace xrbd
