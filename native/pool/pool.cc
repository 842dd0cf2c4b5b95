#include "pool/pool.h"

#include <string>
#include <utility>
#include <vector>

#include "image/image.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/image_options.h"
#include "core/progress.h"

namespace xrbd {

namespace {

class CreateImageWorker final : public PromiseWorker {
 public:
  CreateImageWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, Napi::Value options)
      : PromiseWorker(env, "xrbd:createImage"), h_(std::move(h)), opts_(env, options) {}
  std::string name;
  uint64_t size = 0;

 protected:
  int Run() override {
    int rc = opts_.Apply(op_);
    if (rc < 0) return rc;
    op_ = "rbd_create4";
    return rbd_create4(h_->io, name.c_str(), size, opts_.get());
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  ImageOptions opts_;
};

class ListImagesWorker final : public PromiseWorker {
 public:
  ListImagesWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h) : PromiseWorker(env, "xrbd:listImages"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_list2";
    size_t max = 64;
    int rc = GrowRetry(max, sizeof(rbd_image_spec_t), [&](size_t& cap) {
      specs_.assign(cap, rbd_image_spec_t{});
      return rbd_list2(h_->io, specs_.data(), &cap);  // on -ERANGE, cap is the count needed
    });
    if (rc < 0) {
      specs_.clear();
      return rc;
    }
    specs_.resize(max);
    return 0;
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
  RemoveImageWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string name, Napi::Value progress)
      : PromiseWorker(env, "xrbd:removeImage"), h_(std::move(h)), name_(std::move(name)), progress_(env, progress) {}

 protected:
  int Run() override {
    op_ = "rbd_remove_with_progress";
    return rbd_remove_with_progress(h_->io, name_.c_str(), progress_.fn(), progress_.arg());
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string name_;
  Progress progress_;
};

// rbd_pool_init and rbd_rename: a pool and one or two names in, nothing out.
class PoolOpWorker final : public PromiseWorker {
 public:
  enum Kind { kInit, kRename };
  PoolOpWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, Kind k)
      : PromiseWorker(env, "xrbd:poolOp"), h_(std::move(h)), kind_(k) {}
  std::string a, b;
  bool force = false;

 protected:
  int Run() override {
    if (kind_ == kInit) {
      op_ = "rbd_pool_init";
      return rbd_pool_init(h_->io, force);
    }
    op_ = "rbd_rename";
    return rbd_rename(h_->io, a.c_str(), b.c_str());
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  Kind kind_;
};

class PoolStatWorker final : public PromiseWorker {
 public:
  PoolStatWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h) : PromiseWorker(env, "xrbd:poolStat"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rados_ioctx_pool_stat";
    return rados_ioctx_pool_stat(h_->io, &st_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("numBytes", U64ToJs(env, st_.num_bytes));
    o.Set("numObjects", U64ToJs(env, st_.num_objects));
    o.Set("numObjectClones", U64ToJs(env, st_.num_object_clones));
    o.Set("numObjectCopies", U64ToJs(env, st_.num_object_copies));
    o.Set("numObjectsDegraded", U64ToJs(env, st_.num_objects_degraded));
    o.Set("numObjectsUnfound", U64ToJs(env, st_.num_objects_unfound));
    o.Set("numRead", U64ToJs(env, st_.num_rd));
    o.Set("numReadKb", U64ToJs(env, st_.num_rd_kb));
    o.Set("numWrite", U64ToJs(env, st_.num_wr));
    o.Set("numWriteKb", U64ToJs(env, st_.num_wr_kb));
    o.Set("numUserBytes", U64ToJs(env, st_.num_user_bytes));
    return o;
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  rados_pool_stat_t st_{};
};

class OpenImageWorker final : public PromiseWorker {
 public:
  OpenImageWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> pool)
      : PromiseWorker(env, "xrbd:openImage"), h_(std::make_shared<ImageHandle>(std::move(pool))) {}
  std::string name, snapshot;
  bool by_id = false, read_only = false, has_snapshot = false;
  uint64_t size_ = 0;

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
      return rc;
    }
    // The size, for lib/'s write bounds check (librbd silently clips writes at the end).
    op_ = "rbd_get_size";
    rc = rbd_get_size(h_->image, &size_);
    if (rc == 0) {
      // The id, whatever the image was opened by: lib/ keys the per-image role
      // gate by it (lib/image/role-gate.ts). Ids are ~12-24 characters.
      op_ = "rbd_get_id";
      char id[128];
      rc = rbd_get_id(h_->image, id, sizeof id);
      if (rc == 0) id_ = id;
    }
    if (rc < 0) h_.reset();  // closes the image, here on the worker thread
    return rc;
  }

  // { image, size, id }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("image", ImageWrap::NewInstance(env, std::move(h_)));
    o.Set("size", U64ToJs(env, size_));
    o.Set("id", Napi::String::New(env, id_));
    return o;
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  std::string id_;
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
                         InstanceMethod<&PoolWrap::Init>("init"),
                         InstanceMethod<&PoolWrap::RenameImage>("renameImage"),
                         InstanceMethod<&PoolWrap::Stats>("stats"),
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
  auto* w = new CreateImageWorker(env, std::move(h), info[2]);
  w->name = std::move(name);
  w->size = size;
  w->Pin(info.This());
  return w->Start();
}

Napi::Value PoolWrap::ListImages(const Napi::CallbackInfo& info) {
  auto* w = new ListImagesWorker(info.Env(), Handle(info.Env(), "rbd_list2"));
  w->Pin(info.This());
  return w->Start();
}

// removeImage(name, onProgress?)
Napi::Value PoolWrap::RemoveImage(const Napi::CallbackInfo& info) {
  auto h = Handle(info.Env(), "rbd_remove");
  std::string name = StringArg(info, 0, "image name");
  auto* w = new RemoveImageWorker(info.Env(), std::move(h), std::move(name), info[1]);
  w->Pin(info.This());
  return w->Start();
}

// openImage(nameOrId, { byId, readOnly, snapshot }) → Promise<{ image: NativeImage, size, id }>
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

// init(force)
Napi::Value PoolWrap::Init(const Napi::CallbackInfo& info) {
  auto* w = new PoolOpWorker(info.Env(), Handle(info.Env(), "rbd_pool_init"), PoolOpWorker::kInit);
  w->force = info[0].ToBoolean();
  w->Pin(info.This());
  return w->Start();
}

// renameImage(from, to)
Napi::Value PoolWrap::RenameImage(const Napi::CallbackInfo& info) {
  auto h = Handle(info.Env(), "rbd_rename");
  std::string from = StringArg(info, 0, "image name"), to = StringArg(info, 1, "new image name");
  auto* w = new PoolOpWorker(info.Env(), std::move(h), PoolOpWorker::kRename);
  w->a = std::move(from);
  w->b = std::move(to);
  w->Pin(info.This());
  return w->Start();
}

Napi::Value PoolWrap::Stats(const Napi::CallbackInfo& info) {
  auto* w = new PoolStatWorker(info.Env(), Handle(info.Env(), "rados_ioctx_pool_stat"));
  w->Pin(info.This());
  return w->Start();
}

Napi::Value PoolWrap::PoolId(const Napi::CallbackInfo& info) {
  auto h = Handle(info.Env(), "rados_ioctx_get_id");
  return Napi::Number::New(info.Env(), static_cast<double>(rados_ioctx_get_id(h->io)));
}

}  // namespace xrbd
