// Pool stats: what `rbd pool stats` reports (rbd_pool_stats_*): images,
// provisioned bytes and snapshots, in the pool and in its trash. One worker:
// librbd walks every image header of the pool (namespace) to add them up.
#include "pool/stats.h"

#include <rbd/librbd.h>

#include <memory>
#include <utility>

#include "pool/pool.h"
#include "core/worker.h"

namespace xrbd {

namespace {

class PoolStatsWorker final : public PromiseWorker {
 public:
  PoolStatsWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h) : PromiseWorker(env, "xrbd:poolStats"), h_(std::move(h)) {}

 protected:
  int Run() override {
    rbd_pool_stats_t stats;
    rbd_pool_stats_create(&stats);
    int rc = 0;
    op_ = "rbd_pool_stats_option_add_uint64";
    for (size_t i = 0; i < kCount && rc >= 0; i++) rc = rbd_pool_stats_option_add_uint64(stats, kOptions[i], &values_[i]);
    if (rc >= 0) {
      op_ = "rbd_pool_stats_get";
      rc = rbd_pool_stats_get(h_->io, stats);
    }
    rbd_pool_stats_destroy(stats);
    return rc;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    for (size_t i = 0; i < kCount; i++) o.Set(kNames[i], Napi::Number::New(env, static_cast<double>(values_[i])));
    return o;
  }

 private:
  static constexpr size_t kCount = 8;
  static constexpr int kOptions[kCount] = {
      RBD_POOL_STAT_OPTION_IMAGES,          RBD_POOL_STAT_OPTION_IMAGE_PROVISIONED_BYTES,
      RBD_POOL_STAT_OPTION_IMAGE_MAX_PROVISIONED_BYTES, RBD_POOL_STAT_OPTION_IMAGE_SNAPSHOTS,
      RBD_POOL_STAT_OPTION_TRASH_IMAGES,    RBD_POOL_STAT_OPTION_TRASH_PROVISIONED_BYTES,
      RBD_POOL_STAT_OPTION_TRASH_MAX_PROVISIONED_BYTES, RBD_POOL_STAT_OPTION_TRASH_SNAPSHOTS,
  };
  static constexpr const char* kNames[kCount] = {
      "images",      "provisionedBytes",      "maxProvisionedBytes",      "snapshots",
      "trashImages", "trashProvisionedBytes", "trashMaxProvisionedBytes", "trashSnapshots",
  };
  std::shared_ptr<IoCtxHandle> h_;
  uint64_t values_[kCount] = {};
};

// get(pool)
Napi::Value Get(const Napi::CallbackInfo& info) {
  auto* w = new PoolStatsWorker(info.Env(), PoolWrap::FromArg(info, 0, "rbd_pool_stats_get"));
  w->Pin(info[0]);
  return w->Start();
}

}  // namespace

void InitPoolStats(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("get", Napi::Function::New(env, Get, "get"));
  exports.Set("poolStats", area);
}

}  // namespace xrbd
