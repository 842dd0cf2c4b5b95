#include "image/diff.h"

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"
#include "core/args.h"
#include "core/worker.h"

namespace xrbd {

namespace {

using ImagePtr = std::shared_ptr<ImageHandle>;

// One window of rbd_diff_iterate2: the extents of [offset, offset+length),
// at most max_extents of them. lib/image/diff.ts walks the image window by
// window, so memory stays bounded and an abandoned iterator leaves nothing
// running after the current window.
class IterateWorker final : public PromiseWorker {
 public:
  IterateWorker(Napi::Env env, ImagePtr h, bool has_from, std::string from, uint64_t offset, uint64_t length,
                bool whole_object, uint64_t max_extents, bool include_parent)
      : PromiseWorker(env, "xrbd:diffIterate"), h_(std::move(h)), has_from_(has_from), from_(std::move(from)),
        offset_(offset), length_(length), whole_object_(whole_object), max_(max_extents),
        include_parent_(include_parent) {}

 protected:
  int Run() override {
    op_ = "rbd_diff_iterate2";
    next_ = offset_ + length_;
    int rc = rbd_diff_iterate2(h_->image, has_from_ ? from_.c_str() : nullptr, offset_, length_,
                               include_parent_ ? 1 : 0, whole_object_ ? 1 : 0, &IterateWorker::OnExtent, this);
    // Our own early stop (the window is full) is not a failure: resume after the last extent kept.
    if (rc == kStop && full_) rc = 0;
    return rc;
  }

  // Flat [offset, length, exists, ...] triples: one array, cheap to build.
  Napi::Value Result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    Napi::Array ext = Napi::Array::New(env, extents_.size() * 3);
    uint32_t i = 0;
    for (const Extent& e : extents_) {
      ext.Set(i++, U64ToJs(env, e.offset));
      ext.Set(i++, U64ToJs(env, e.length));
      ext.Set(i++, Napi::Boolean::New(env, e.exists));
    }
    out.Set("extents", ext);
    out.Set("next", U64ToJs(env, next_));
    return out;
  }

 private:
  static constexpr int kStop = -ECANCELED;
  struct Extent {
    uint64_t offset, length;
    bool exists;
  };

  // Called on the thread running rbd_diff_iterate2 (this worker's), in image
  // order; the lock only guards against a librbd that would call from elsewhere.
  static int OnExtent(uint64_t offset, size_t length, int exists, void* arg) {
    auto* self = static_cast<IterateWorker*>(arg);
    std::lock_guard<std::mutex> g(self->mu_);
    if (self->full_) return kStop;
    self->extents_.push_back(Extent{offset, length, exists != 0});
    if (self->extents_.size() >= self->max_) {
      self->full_ = true;
      self->next_ = offset + length;
      return kStop;
    }
    return 0;
  }

  ImagePtr h_;
  bool has_from_;
  std::string from_;
  uint64_t offset_, length_;
  bool whole_object_;
  uint64_t max_;
  bool include_parent_;
  std::mutex mu_;
  std::vector<Extent> extents_;
  bool full_ = false;
  uint64_t next_ = 0;
};

// iterate(image, fromSnap: string | null, offset, length, wholeObject, maxExtents, includeParent = true)
Napi::Value Iterate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = ImageWrap::FromArg(info, 0, "rbd_diff_iterate2");
  bool has_from = info.Length() > 1 && info[1].IsString();
  if (!has_from && !(info.Length() > 1 && info[1].IsNull())) {
    throw Napi::TypeError::New(env, "fromSnapshot must be a string or null");
  }
  std::string from = has_from ? StringArg(info, 1, "fromSnapshot") : std::string();
  uint64_t offset = U64Arg(info, 2, "offset"), length = U64Arg(info, 3, "length");
  bool whole = BoolArg(info, 4, "wholeObject");
  uint64_t max = U64Arg(info, 5, "maxExtents");
  if (max == 0) throw Napi::RangeError::New(env, "maxExtents must be at least 1");
  bool include_parent = info.Length() > 6 && !info[6].IsUndefined() ? BoolArg(info, 6, "includeParent") : true;
  auto* w = new IterateWorker(env, std::move(h), has_from, std::move(from), offset, length, whole, max, include_parent);
  w->Pin(info[0]);
  return w->Start();
}

}  // namespace

void InitDiff(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("iterate", Napi::Function::New(env, Iterate, "iterate"));
  exports.Set("diff", area);
}

}  // namespace xrbd
