#include "image.h"

#include <ctime>
#include <string>
#include <utility>

#include "util/args.h"

namespace xrbd {

namespace {

// stat(): rbd_stat plus the calls that complete it (id, name, features,
// striping, timestamps). Several of these may refresh the image header from
// the OSDs, hence a worker.
class StatWorker final : public PromiseWorker {
 public:
  StatWorker(Napi::Env env, std::shared_ptr<ImageHandle> h) : PromiseWorker(env, "xrbd:stat"), h_(std::move(h)) {}

 protected:
  int Run() override {
    rbd_image_t img = h_->image;
    int rc;
    op_ = "rbd_stat";
    if ((rc = rbd_stat(img, &info_, sizeof info_)) < 0) return rc;
    op_ = "rbd_get_features";
    if ((rc = rbd_get_features(img, &features_)) < 0) return rc;
    op_ = "rbd_get_flags";
    if ((rc = rbd_get_flags(img, &flags_)) < 0) return rc;
    op_ = "rbd_get_stripe_unit";
    if ((rc = rbd_get_stripe_unit(img, &stripe_unit_)) < 0) return rc;
    op_ = "rbd_get_stripe_count";
    if ((rc = rbd_get_stripe_count(img, &stripe_count_)) < 0) return rc;
    op_ = "rbd_get_create_timestamp";
    if ((rc = rbd_get_create_timestamp(img, &created_)) < 0) return rc;
    op_ = "rbd_get_id";
    if ((rc = rbd_get_id(img, id_, sizeof id_)) < 0) return rc;
    op_ = "rbd_get_block_name_prefix";
    if ((rc = rbd_get_block_name_prefix(img, prefix_, sizeof prefix_)) < 0) return rc;
    op_ = "rbd_get_name";
    size_t len = sizeof name_;
    if ((rc = rbd_get_name(img, name_, &len)) < 0) return rc;
    data_pool_id_ = rbd_get_data_pool_id(img);
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("size", U64ToJs(env, info_.size));
    o.Set("objectSize", U64ToJs(env, info_.obj_size));
    o.Set("numObjects", U64ToJs(env, info_.num_objs));
    o.Set("order", info_.order);
    o.Set("blockNamePrefix", prefix_);
    o.Set("id", id_);
    o.Set("name", name_);
    o.Set("features", U64ToJs(env, features_));
    o.Set("flags", U64ToJs(env, flags_));
    o.Set("stripeUnit", U64ToJs(env, stripe_unit_));
    o.Set("stripeCount", U64ToJs(env, stripe_count_));
    o.Set("createdMs", static_cast<double>(created_.tv_sec) * 1000.0 + created_.tv_nsec / 1e6);
    o.Set("dataPoolId", static_cast<double>(data_pool_id_));
    return o;
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  rbd_image_info_t info_{};
  uint64_t features_ = 0, flags_ = 0, stripe_unit_ = 0, stripe_count_ = 0;
  timespec created_{};
  int64_t data_pool_id_ = -1;
  char id_[64] = {0};
  char prefix_[RBD_MAX_BLOCK_NAME_SIZE + 8] = {0};
  char name_[RBD_MAX_IMAGE_NAME_SIZE + 8] = {0};
};

}  // namespace

Napi::Function ImageWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativeImage",
                     {
                         InstanceMethod<&ImageWrap::Stat>("stat"),
                         InstanceMethod<&ImageWrap::CloseImage>("close"),
                         InstanceAccessor<&ImageWrap::IsOpenGetter>("isOpen"),
                     });
}

Napi::Object ImageWrap::NewInstance(Napi::Env env, std::shared_ptr<ImageHandle> h) {
  Napi::Object obj = GetAddonData(env)->image_ctor.New({});
  ImageWrap::Unwrap(obj)->Adopt(std::move(h));
  return obj;
}

Napi::Value ImageWrap::Stat(const Napi::CallbackInfo& info) {
  auto* w = new StatWorker(info.Env(), Handle(info.Env(), "rbd_stat"));
  w->Pin(info.This());
  return w->Start();
}

}  // namespace xrbd
