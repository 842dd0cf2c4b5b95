#include "pool.h"

#include <string>
#include <utility>
#include <vector>

#include "image.h"
#include "util/args.h"

namespace xrbd {

namespace {

// Image options are passed down as { key: number | string } with librbd's
// RBD_IMAGE_OPTION_* numbers as keys: lib/ owns the naming, C++ just forwards.
struct ImageOption {
  int key;
  bool is_string;
  uint64_t num;
  std::string str;
};

class ImageOptions final {
 public:
  ImageOptions() { rbd_image_options_create(&opts_); }
  ~ImageOptions() { rbd_image_options_destroy(opts_); }
  ImageOptions(const ImageOptions&) = delete;
  ImageOptions& operator=(const ImageOptions&) = delete;
  rbd_image_options_t get() const { return opts_; }

 private:
  rbd_image_options_t opts_;
};

class CreateImageWorker final : public PromiseWorker {
 public:
  CreateImageWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h) : PromiseWorker(env, "xrbd:createImage"), h_(std::move(h)) {}
  std::string name;
  uint64_t size = 0;
  std::vector<ImageOption> options;

 protected:
  int Run() override {
    ImageOptions opts;
    for (const auto& o : options) {
      op_ = "rbd_image_options_set(" + std::to_string(o.key) + ")";
      int rc = o.is_string ? rbd_image_options_set_string(opts.get(), o.key, o.str.c_str())
                           : rbd_image_options_set_uint64(opts.get(), o.key, o.num);
      if (rc < 0) return rc;
    }
    op_ = "rbd_create4";
    return rbd_create4(h_->io, name.c_str(), size, opts.get());
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
};

class ListImagesWorker final : public PromiseWorker {
 public:
  ListImagesWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h) : PromiseWorker(env, "xrbd:listImages"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_list2";
    size_t max = 64;
    for (;;) {
      specs_.resize(max);
      int rc = rbd_list2(h_->io, specs_.data(), &max);
      if (rc == -ERANGE) continue;  // max now holds the needed count
      if (rc < 0) {
        specs_.clear();
        return rc;
      }
      specs_.resize(max);
      return 0;
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, specs_.size());
    for (size_t i = 0; i < specs_.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", specs_[i].id);
      o.Set("name", specs_[i].name);
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 public:
  ~ListImagesWorker() override {
    if (!specs_.empty()) rbd_image_spec_list_cleanup(specs_.data(), specs_.size());
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::vector<rbd_image_spec_t> specs_;
};

class RemoveImageWorker final : public PromiseWorker {
 public:
  RemoveImageWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string name)
      : PromiseWorker(env, "xrbd:removeImage"), h_(std::move(h)), name_(std::move(name)) {}

 protected:
  int Run() override {
    op_ = "rbd_remove";
    return rbd_remove(h_->io, name_.c_str());
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string name_;
};

class OpenImageWorker final : public PromiseWorker {
 public:
  OpenImageWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> pool)
      : PromiseWorker(env, "xrbd:openImage"), h_(std::make_shared<ImageHandle>(std::move(pool))) {}
  std::string name, snapshot;
  bool by_id = false, read_only = false, has_snapshot = false;

 protected:
  int Run() override {
    const char* snap = has_snapshot ? snapshot.c_str() : nullptr;
    rados_ioctx_t io = h_->pool->io;
    int rc;
    if (by_id) {
      op_ = read_only ? "rbd_open_by_id_read_only" : "rbd_open_by_id";
      rc = read_only ? rbd_open_by_id_read_only(io, name.c_str(), &h_->image, snap)
                     : rbd_open_by_id(io, name.c_str(), &h_->image, snap);
    } else {
      op_ = read_only ? "rbd_open_read_only" : "rbd_open";
      rc = read_only ? rbd_open_read_only(io, name.c_str(), &h_->image, snap)
                     : rbd_open(io, name.c_str(), &h_->image, snap);
    }
    if (rc < 0) {
      h_->image = nullptr;
      h_.reset();
    }
    return rc;
  }

  Napi::Value Result(Napi::Env env) override { return ImageWrap::NewInstance(env, std::move(h_)); }

 private:
  std::shared_ptr<ImageHandle> h_;
};

}  // namespace

Napi::Function PoolWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativePool",
                     {
                         InstanceMethod<&PoolWrap::CreateImage>("createImage"),
                         InstanceMethod<&PoolWrap::ListImages>("listImages"),
                         InstanceMethod<&PoolWrap::RemoveImage>("removeImage"),
                         InstanceMethod<&PoolWrap::OpenImage>("openImage"),
                         InstanceMethod<&PoolWrap::PoolId>("poolId"),
                         InstanceMethod<&PoolWrap::ClosePool>("close"),
                         InstanceAccessor<&PoolWrap::IsOpenGetter>("isOpen"),
                     });
}

Napi::Object PoolWrap::NewInstance(Napi::Env env, std::shared_ptr<IoCtxHandle> h) {
  Napi::Object obj = GetAddonData(env)->pool_ctor.New({});
  PoolWrap::Unwrap(obj)->Adopt(std::move(h));
  return obj;
}

// createImage(name, size, options: [key, number | string][])
Napi::Value PoolWrap::CreateImage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env, "rbd_create4");
  std::string name = StringArg(info, 0, "image name");
  uint64_t size = U64Arg(info, 1, "size");
  std::vector<ImageOption> options;
  if (info.Length() > 2 && info[2].IsArray()) {
    Napi::Array arr = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Array kv = arr.Get(i).As<Napi::Array>();
      ImageOption o{static_cast<int>(kv.Get(0u).As<Napi::Number>().Int32Value()), false, 0, ""};
      Napi::Value v = kv.Get(1u);
      if (v.IsString()) {
        o.is_string = true;
        o.str = v.As<Napi::String>().Utf8Value();
      } else {
        o.num = U64Value(env, v, "image option");
      }
      options.push_back(std::move(o));
    }
  }
  auto* w = new CreateImageWorker(env, std::move(h));
  w->name = std::move(name);
  w->size = size;
  w->options = std::move(options);
  w->Pin(info.This());
  return w->Start();
}

Napi::Value PoolWrap::ListImages(const Napi::CallbackInfo& info) {
  auto* w = new ListImagesWorker(info.Env(), Handle(info.Env(), "rbd_list2"));
  w->Pin(info.This());
  return w->Start();
}

Napi::Value PoolWrap::RemoveImage(const Napi::CallbackInfo& info) {
  auto h = Handle(info.Env(), "rbd_remove");
  auto* w = new RemoveImageWorker(info.Env(), std::move(h), StringArg(info, 0, "image name"));
  w->Pin(info.This());
  return w->Start();
}

// openImage(nameOrId, { byId, readOnly, snapshot }) → Promise<NativeImage>
Napi::Value PoolWrap::OpenImage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env, "rbd_open");
  std::string name = StringArg(info, 0, "image name");
  Napi::Object opts = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  auto* w = new OpenImageWorker(env, std::move(h));
  w->name = std::move(name);
  w->by_id = opts.Get("byId").ToBoolean();
  w->read_only = opts.Get("readOnly").ToBoolean();
  Napi::Value snap = opts.Get("snapshot");
  if (snap.IsString()) {
    w->has_snapshot = true;
    w->snapshot = snap.As<Napi::String>().Utf8Value();
  }
  w->Pin(info.This());
  return w->Start();
}

Napi::Value PoolWrap::PoolId(const Napi::CallbackInfo& info) {
  auto h = Handle(info.Env(), "rados_ioctx_get_id");
  return Napi::Number::New(info.Env(), static_cast<double>(rados_ioctx_get_id(h->io)));
}

}  // namespace xrbd
