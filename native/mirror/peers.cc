#include "mirror/peers.h"

#include <rbd/librbd.h>

#include <string>
#include <utility>
#include <vector>

#include "core/erange.h"

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

}  // namespace

PromiseWorker* NewPeerSiteListWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> pool, const char* resource) {
  return new PeerSiteListWorker(env, std::move(pool), resource);
}

}  // namespace xrbd
