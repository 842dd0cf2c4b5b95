#include "image/image.h"

#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "pool/pool.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/image_options.h"
#include "core/progress.h"

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
    op_ = "rbd_get_op_features";
    if ((rc = rbd_get_op_features(img, &op_features_)) < 0) return rc;
    op_ = "rbd_get_access_timestamp";
    if ((rc = rbd_get_access_timestamp(img, &accessed_)) < 0) return rc;
    op_ = "rbd_get_modify_timestamp";
    if ((rc = rbd_get_modify_timestamp(img, &modified_)) < 0) return rc;
    op_ = "rbd_get_group";
    rbd_group_info_t g{};
    if ((rc = rbd_get_group(img, &g, sizeof g)) < 0) return rc;
    if (g.name != nullptr) group_name_ = g.name;
    group_pool_ = g.pool;
    rbd_group_info_cleanup(&g, sizeof g);
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
    o.Set("opFeatures", U64ToJs(env, op_features_));
    o.Set("accessedMs", static_cast<double>(accessed_.tv_sec) * 1000.0 + accessed_.tv_nsec / 1e6);
    o.Set("modifiedMs", static_cast<double>(modified_.tv_sec) * 1000.0 + modified_.tv_nsec / 1e6);
    // rbd_get_group: pool -1 and an empty name when the image is in no group.
    o.Set("groupPoolId", static_cast<double>(group_pool_));
    o.Set("groupName", group_name_);
    return o;
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  rbd_image_info_t info_{};
  uint64_t features_ = 0, flags_ = 0, stripe_unit_ = 0, stripe_count_ = 0;
  timespec created_{}, accessed_{}, modified_{};
  int64_t data_pool_id_ = -1, group_pool_ = -1;
  uint64_t op_features_ = 0;
  std::string group_name_;
  char id_[64] = {0};
  char prefix_[RBD_MAX_BLOCK_NAME_SIZE + 8] = {0};
  char name_[RBD_MAX_IMAGE_NAME_SIZE + 8] = {0};
};

class ResizeWorker final : public PromiseWorker {
 public:
  ResizeWorker(Napi::Env env, std::shared_ptr<ImageHandle> h, uint64_t size, bool shrink, Napi::Value cb)
      : PromiseWorker(env, "xrbd:resize"), h_(std::move(h)), size_(size), shrink_(shrink), progress_(env, cb) {}

 protected:
  int Run() override {
    op_ = "rbd_resize2";
    return rbd_resize2(h_->image, size_, shrink_, progress_.fn(), progress_.arg());
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  uint64_t size_;
  bool shrink_;
  Progress progress_;
};

class UpdateFeaturesWorker final : public PromiseWorker {
 public:
  UpdateFeaturesWorker(Napi::Env env, std::shared_ptr<ImageHandle> h, uint64_t bits, bool enable)
      : PromiseWorker(env, "xrbd:updateFeatures"), h_(std::move(h)), bits_(bits), enable_(enable) {}

 protected:
  int Run() override {
    op_ = "rbd_update_features";
    return rbd_update_features(h_->image, bits_, enable_ ? 1 : 0);
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  uint64_t bits_;
  bool enable_;
};

class FlattenWorker final : public PromiseWorker {
 public:
  FlattenWorker(Napi::Env env, std::shared_ptr<ImageHandle> h, Napi::Value cb)
      : PromiseWorker(env, "xrbd:flatten"), h_(std::move(h)), progress_(env, cb) {}

 protected:
  int Run() override {
    op_ = "rbd_flatten_with_progress";
    return rbd_flatten_with_progress(h_->image, progress_.fn(), progress_.arg());
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  Progress progress_;
};

// The parent of a clone, or null (librbd says ENOENT when there is none).
class ParentWorker final : public PromiseWorker {
 public:
  ParentWorker(Napi::Env env, std::shared_ptr<ImageHandle> h) : PromiseWorker(env, "xrbd:parent"), h_(std::move(h)) {}
  ~ParentWorker() override {
    if (have_) {
      rbd_linked_image_spec_cleanup(&image_);
      rbd_snap_spec_cleanup(&snap_);
    }
  }

 protected:
  int Run() override {
    op_ = "rbd_get_parent";
    int rc = rbd_get_parent(h_->image, &image_, &snap_);
    if (rc == -ENOENT) return 0;
    if (rc < 0) return rc;
    have_ = true;
    op_ = "rbd_get_overlap";
    return rbd_get_overlap(h_->image, &overlap_);
  }
  Napi::Value Result(Napi::Env env) override {
    if (!have_) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("poolId", Napi::Number::New(env, static_cast<double>(image_.pool_id)));
    o.Set("poolName", image_.pool_name);
    o.Set("namespace", image_.pool_namespace);
    o.Set("imageId", image_.image_id);
    o.Set("imageName", image_.image_name);
    o.Set("trash", image_.trash);
    o.Set("snapId", U64ToJs(env, snap_.id));
    o.Set("snapName", snap_.name);
    o.Set("snapNamespaceType", static_cast<int>(snap_.namespace_type));
    o.Set("overlap", U64ToJs(env, overlap_));
    return o;
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  rbd_linked_image_spec_t image_{};
  rbd_snap_spec_t snap_{};
  uint64_t overlap_ = 0;
  bool have_ = false;
};

class LockOwnersWorker final : public PromiseWorker {
 public:
  LockOwnersWorker(Napi::Env env, std::shared_ptr<ImageHandle> h)
      : PromiseWorker(env, "xrbd:lockOwners"), h_(std::move(h)) {}
  ~LockOwnersWorker() override {
    if (count_ > 0) rbd_lock_get_owners_cleanup(owners_.data(), count_);
  }

 protected:
  int Run() override {
    op_ = "rbd_is_exclusive_lock_owner";
    int rc = rbd_is_exclusive_lock_owner(h_->image, &is_owner_);
    if (rc < 0) return rc;
    op_ = "rbd_lock_get_owners";
    size_t max = 8;
    rc = GrowRetry(max, sizeof(char*), [&](size_t& cap) {
      owners_.assign(cap, nullptr);
      return rbd_lock_get_owners(h_->image, &mode_, owners_.data(), &cap);
    });
    if (rc == -ENOENT) return 0;  // nobody holds the lock
    if (rc < 0) return rc;
    count_ = max;
    return 0;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    Napi::Array owners = Napi::Array::New(env, count_);
    for (size_t i = 0; i < count_; i++) owners.Set(static_cast<uint32_t>(i), owners_[i]);
    o.Set("mode", static_cast<int>(mode_));
    o.Set("owners", owners);
    o.Set("isOwner", is_owner_ != 0);
    return o;
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  std::vector<char*> owners_;
  size_t count_ = 0;
  rbd_lock_mode_t mode_ = RBD_LOCK_MODE_EXCLUSIVE;
  int is_owner_ = 0;
};

class WatchersWorker final : public PromiseWorker {
 public:
  WatchersWorker(Napi::Env env, std::shared_ptr<ImageHandle> h) : PromiseWorker(env, "xrbd:watchers"), h_(std::move(h)) {}
  ~WatchersWorker() override {
    if (count_ > 0) rbd_watchers_list_cleanup(list_.data(), count_);
  }

 protected:
  int Run() override {
    op_ = "rbd_watchers_list";
    size_t max = 8;
    int rc = GrowRetry(max, sizeof(rbd_image_watcher_t), [&](size_t& cap) {
      list_.assign(cap, rbd_image_watcher_t{});
      return rbd_watchers_list(h_->image, list_.data(), &cap);
    });
    if (rc < 0) return rc;
    count_ = max;
    return 0;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, count_);
    for (size_t i = 0; i < count_; i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("address", list_[i].addr);
      o.Set("id", Napi::Number::New(env, static_cast<double>(list_[i].id)));
      o.Set("cookie", Napi::BigInt::New(env, list_[i].cookie));
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  std::vector<rbd_image_watcher_t> list_;
  size_t count_ = 0;
};

class CopyWorker final : public PromiseWorker {
 public:
  CopyWorker(Napi::Env env, std::shared_ptr<ImageHandle> src, std::shared_ptr<IoCtxHandle> dst, Napi::Value options,
             Napi::Value cb)
      : PromiseWorker(env, "xrbd:copy"), src_(std::move(src)), dst_(std::move(dst)), opts_(env, options),
        progress_(env, cb) {}
  std::string name;
  size_t sparse_size = 0;  // 0: write every chunk; else skip zeroed runs of this size (rbd cp --sparse-size)

 protected:
  int Run() override {
    int rc = opts_.Apply(op_);
    if (rc < 0) return rc;
    op_ = "rbd_copy_with_progress4";
    return rbd_copy_with_progress4(src_->image, dst_->io, name.c_str(), opts_.get(), progress_.fn(), progress_.arg(),
                                   sparse_size);
  }

 private:
  std::shared_ptr<ImageHandle> src_;
  std::shared_ptr<IoCtxHandle> dst_;
  ImageOptions opts_;
  Progress progress_;
};

}  // namespace

Napi::Function ImageWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativeImage",
                     {
                         InstanceMethod<&ImageWrap::Stat>("stat"),
                         InstanceMethod<&ImageWrap::Resize>("resize"),
                         InstanceMethod<&ImageWrap::UpdateFeatures>("updateFeatures"),
                         InstanceMethod<&ImageWrap::Flatten>("flatten"),
                         InstanceMethod<&ImageWrap::Parent>("parent"),
                         InstanceMethod<&ImageWrap::LockOwners>("lockOwners"),
                         InstanceMethod<&ImageWrap::Watchers>("watchers"),
                         InstanceMethod<&ImageWrap::Copy>("copy"),
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

namespace xrbd {

// resize(size, allowShrink, onProgress?)
Napi::Value ImageWrap::Resize(const Napi::CallbackInfo& info) {
  auto h = Handle(info.Env(), "rbd_resize2");
  uint64_t size = U64Arg(info, 0, "size");
  auto* w = new ResizeWorker(info.Env(), std::move(h), size, info[1].ToBoolean(), info[2]);
  w->Pin(info.This());
  return w->Start();
}

// updateFeatures(bits, enable)
Napi::Value ImageWrap::UpdateFeatures(const Napi::CallbackInfo& info) {
  auto h = Handle(info.Env(), "rbd_update_features");
  uint64_t bits = U64Arg(info, 0, "features");
  auto* w = new UpdateFeaturesWorker(info.Env(), std::move(h), bits, info[1].ToBoolean());
  w->Pin(info.This());
  return w->Start();
}

// flatten(onProgress?)
Napi::Value ImageWrap::Flatten(const Napi::CallbackInfo& info) {
  auto* w = new FlattenWorker(info.Env(), Handle(info.Env(), "rbd_flatten"), info[0]);
  w->Pin(info.This());
  return w->Start();
}

Napi::Value ImageWrap::Parent(const Napi::CallbackInfo& info) {
  auto* w = new ParentWorker(info.Env(), Handle(info.Env(), "rbd_get_parent"));
  w->Pin(info.This());
  return w->Start();
}

Napi::Value ImageWrap::LockOwners(const Napi::CallbackInfo& info) {
  auto* w = new LockOwnersWorker(info.Env(), Handle(info.Env(), "rbd_lock_get_owners"));
  w->Pin(info.This());
  return w->Start();
}

Napi::Value ImageWrap::Watchers(const Napi::CallbackInfo& info) {
  auto* w = new WatchersWorker(info.Env(), Handle(info.Env(), "rbd_watchers_list"));
  w->Pin(info.This());
  return w->Start();
}

// copy(destPool, name, options: [key, value][], onProgress?, sparseSize = 0)
Napi::Value ImageWrap::Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto src = Handle(env, "rbd_copy_with_progress4");
  auto dst = PoolWrap::FromArg(info, 0, "rbd_copy_with_progress4");
  std::string name = StringArg(info, 1, "image name");
  uint64_t sparse = info.Length() > 4 && !info[4].IsUndefined() ? U64Arg(info, 4, "sparseSize") : 0;
  auto* w = new CopyWorker(env, std::move(src), std::move(dst), info[2], info[3]);
  w->name = std::move(name);
  w->sparse_size = static_cast<size_t>(sparse);
  w->Pin(info.This());
  w->Pin(info[0]);
  return w->Start();
}

}  // namespace xrbd
