// Maintenance: sparsify, deep copy, object-map rebuild and cache invalidation
// (`rbd sparsify`, `rbd deep cp`, `rbd object-map rebuild`), each a worker;
// the long ones report progress.
#include "image/maintenance.h"

#include <rbd/librbd.h>

#include <memory>
#include <string>
#include <utility>

#include "image/image.h"
#include "pool/pool.h"
#include "core/args.h"
#include "core/image_options.h"
#include "core/progress.h"
#include "core/worker.h"

namespace xrbd {

namespace {

// A call on one image with a progress callback: sparsify, rebuildObjectMap.
class ProgressWorker final : public PromiseWorker {
 public:
  using Fn = int (*)(rbd_image_t, uint64_t, librbd_progress_fn_t, void*);
  ProgressWorker(Napi::Env env, const char* op, std::shared_ptr<ImageHandle> h, uint64_t arg, Fn fn, Napi::Value cb)
      : PromiseWorker(env, op), h_(std::move(h)), arg_(arg), fn_(fn), progress_(env, cb) {
    op_ = op;
  }

 protected:
  int Run() override { return fn_(h_->image, arg_, progress_.fn(), progress_.arg()); }

 private:
  std::shared_ptr<ImageHandle> h_;
  uint64_t arg_;
  Fn fn_;
  Progress progress_;
};

int Sparsify(rbd_image_t img, uint64_t sparse_size, librbd_progress_fn_t cb, void* arg) {
  return rbd_sparsify_with_progress(img, static_cast<size_t>(sparse_size), cb, arg);
}
int RebuildObjectMap(rbd_image_t img, uint64_t, librbd_progress_fn_t cb, void* arg) {
  return rbd_rebuild_object_map(img, cb, arg);
}

// sparsify(image, sparseSize, onProgress?)
Napi::Value SparsifyFn(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_sparsify_with_progress");
  uint64_t size = U64Arg(info, 1, "sparseSize");
  auto* w = new ProgressWorker(info.Env(), "rbd_sparsify_with_progress", std::move(h), size, &Sparsify, info[2]);
  w->Pin(info[0]);
  return w->Start();
}

// rebuildObjectMap(image, onProgress?)
Napi::Value RebuildObjectMapFn(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_rebuild_object_map");
  auto* w = new ProgressWorker(info.Env(), "rbd_rebuild_object_map", std::move(h), 0, &RebuildObjectMap, info[1]);
  w->Pin(info[0]);
  return w->Start();
}

// invalidateCache(image)
Napi::Value InvalidateCache(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_invalidate_cache");
  auto* w = new CallWorker(info.Env(), "rbd_invalidate_cache", [h] { return rbd_invalidate_cache(h->image); });
  w->Pin(info[0]);
  return w->Start();
}

// deepCopy(image, destPool, name, options: [key, value][], onProgress?): snapshots and all.
class DeepCopyWorker final : public PromiseWorker {
 public:
  DeepCopyWorker(Napi::Env env, std::shared_ptr<ImageHandle> src, std::shared_ptr<IoCtxHandle> dst, std::string name,
                 Napi::Value options, Napi::Value cb)
      : PromiseWorker(env, "xrbd:deepCopy"), src_(std::move(src)), dst_(std::move(dst)), name_(std::move(name)),
        opts_(env, options), progress_(env, cb) {}

 protected:
  int Run() override {
    int rc = opts_.Apply(op_);
    if (rc < 0) return rc;
    op_ = "rbd_deep_copy_with_progress";
    return rbd_deep_copy_with_progress(src_->image, dst_->io, name_.c_str(), opts_.get(), progress_.fn(),
                                       progress_.arg());
  }

 private:
  std::shared_ptr<ImageHandle> src_;
  std::shared_ptr<IoCtxHandle> dst_;
  std::string name_;
  ImageOptions opts_;
  Progress progress_;
};

Napi::Value DeepCopy(const Napi::CallbackInfo& info) {
  auto src = ImageWrap::FromArg(info, 0, "rbd_deep_copy_with_progress");
  auto dst = PoolWrap::FromArg(info, 1, "rbd_deep_copy_with_progress");
  std::string name = StringArg(info, 2, "image name");
  auto* w = new DeepCopyWorker(info.Env(), std::move(src), std::move(dst), std::move(name), info[3], info[4]);
  w->Pin(info[0]);
  w->Pin(info[1]);
  return w->Start();
}

}  // namespace

void InitMaintenance(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("sparsify", Napi::Function::New(env, SparsifyFn, "sparsify"));
  area.Set("rebuildObjectMap", Napi::Function::New(env, RebuildObjectMapFn, "rebuildObjectMap"));
  area.Set("invalidateCache", Napi::Function::New(env, InvalidateCache, "invalidateCache"));
  area.Set("deepCopy", Napi::Function::New(env, DeepCopy, "deepCopy"));
  exports.Set("maintenance", area);
}

}  // namespace xrbd
