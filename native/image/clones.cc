// binding.snapshots' clone calls, registered on the area by InitSnapshots
// (image/snapshots.cc):
//
//   clone(image, snapName, targetPool, childName, options: [key, value][]) → undefined
//   children(image, snapName | null, descendants) → [{ poolId, pool, namespace, id, name, trash }]
#include "image/clones.h"

#include <rbd/librbd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/args.h"
#include "core/erange.h"
#include "core/image_options.h"
#include "core/worker.h"
#include "image/image.h"
#include "pool/pool.h"

namespace xrbd {

namespace {

using ImageRef = std::shared_ptr<ImageHandle>;

// An image opened by these workers for one call (children of a named snapshot).
class TempImage final {
 public:
  TempImage() = default;
  ~TempImage() {
    if (image != nullptr) rbd_close(image);
  }
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;
  rbd_image_t image = nullptr;
};

// clone(parentImage, snapName, targetPool, childName, options: [key, value][])
// rbd_clone3 from the parent image's pool (and namespace) and name.
class CloneWorker final : public PromiseWorker {
 public:
  CloneWorker(Napi::Env env, ImageRef parent, std::shared_ptr<IoCtxHandle> target, Napi::Value options)
      : PromiseWorker(env, "xrbd:clone"), parent_(std::move(parent)), target_(std::move(target)), opts_(env, options) {}
  std::string snap, child;

 protected:
  int Run() override {
    char name[RBD_MAX_IMAGE_NAME_SIZE + 8] = {0};
    size_t len = sizeof name;
    op_ = "rbd_get_name";
    int rc = rbd_get_name(parent_->image, name, &len);
    if (rc < 0) return rc;
    if ((rc = opts_.Apply(op_)) < 0) return rc;
    op_ = "rbd_clone3";
    return rbd_clone3(parent_->pool->io, name, snap.c_str(), target_->io, child.c_str(), opts_.get());
  }

 private:
  ImageRef parent_;
  std::shared_ptr<IoCtxHandle> target_;
  ImageOptions opts_;
};

// children(image, snapName | null, descendants) → [{ poolId, pool, namespace, id, name, trash }]
// With a snapshot name, the image is opened again (by id, read-only, at that
// snapshot) for the call, so the caller's handle is not moved off its own
// snapshot; without one, the handle as it is: its current snapshot, or all
// snapshots when it is at the head.
class ChildrenWorker final : public PromiseWorker {
 public:
  ChildrenWorker(Napi::Env env, ImageRef h) : PromiseWorker(env, "xrbd:children"), h_(std::move(h)) {}
  std::string snap;
  bool has_snap = false, descendants = false;

  ~ChildrenWorker() override {
    if (count_ > 0) rbd_linked_image_spec_list_cleanup(specs_.data(), count_);
  }

 protected:
  int Run() override {
    TempImage tmp;
    rbd_image_t img = h_->image;
    int rc;
    if (has_snap) {
      char id[64] = {0};
      op_ = "rbd_get_id";
      if ((rc = rbd_get_id(img, id, sizeof id)) < 0) return rc;
      op_ = "rbd_open_by_id_read_only";
      if ((rc = rbd_open_by_id_read_only(h_->pool->io, id, &tmp.image, snap.c_str())) < 0) {
        tmp.image = nullptr;
        return rc;
      }
      img = tmp.image;
    }
    op_ = descendants ? "rbd_list_descendants" : "rbd_list_children3";
    size_t max = 16;
    rc = GrowRetry(max, sizeof(rbd_linked_image_spec_t), [&](size_t& cap) {
      specs_.assign(cap, rbd_linked_image_spec_t{});
      return descendants ? rbd_list_descendants(img, specs_.data(), &cap)
                         : rbd_list_children3(img, specs_.data(), &cap);
    });
    if (rc < 0) return rc;
    count_ = max;
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, count_);
    for (size_t i = 0; i < count_; i++) {
      const rbd_linked_image_spec_t& s = specs_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("poolId", Napi::Number::New(env, static_cast<double>(s.pool_id)));
      o.Set("pool", s.pool_name != nullptr ? s.pool_name : "");
      o.Set("namespace", s.pool_namespace != nullptr ? s.pool_namespace : "");
      o.Set("id", s.image_id != nullptr ? s.image_id : "");
      o.Set("name", s.image_name != nullptr ? s.image_name : "");
      o.Set("trash", s.trash);
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  ImageRef h_;
  std::vector<rbd_linked_image_spec_t> specs_;
  size_t count_ = 0;
};

// clone(image, snapName, targetPool, childName, options: [key, number | bigint | string][])
Napi::Value Clone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto parent = ImageWrap::FromArg(info, 0, "rbd_clone3");
  std::string snap = StringArg(info, 1, "snapshot name");
  auto target = PoolWrap::FromArg(info, 2, "rbd_clone3");
  std::string child = StringArg(info, 3, "image name");
  auto* w = new CloneWorker(env, std::move(parent), std::move(target), info.Length() > 4 ? info[4] : env.Undefined());
  w->snap = std::move(snap);
  w->child = std::move(child);
  w->Pin(info[2]);
  return StartOnFirstArg(info, w);
}

// children(image, snapName | null, descendants: boolean)
Napi::Value Children(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_list_children3");
  bool has_snap = info.Length() > 1 && !info[1].IsNull() && !info[1].IsUndefined();
  std::string snap = has_snap ? StringArg(info, 1, "snapshot name") : std::string();
  bool descendants = info.Length() > 2 && info[2].ToBoolean();
  auto* w = new ChildrenWorker(info.Env(), std::move(h));
  w->snap = std::move(snap);
  w->has_snap = has_snap;
  w->descendants = descendants;
  return StartOnFirstArg(info, w);
}

}  // namespace

void AddCloneCalls(Napi::Env env, Napi::Object area) {
  area.Set("clone", Napi::Function::New(env, Clone, "clone"));
  area.Set("children", Napi::Function::New(env, Children, "children"));
}

}  // namespace xrbd
