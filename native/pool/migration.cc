// binding.migration: live migration (rbd_migration_*), on the pool (ioctx) an image lives in.
//
//   prepare(pool, name, destPool, destName, options)          → undefined
//   prepareImport(sourceSpec, destPool, destName, options)    → undefined
//   execute(pool, name, onProgress?, cancel?: Int32Array)      → undefined
//   abort(pool, name, onProgress?, cancel?: Int32Array)        → undefined
//   commit(pool, name, onProgress?)                            → undefined
//   status(pool, name)                                         → MigrationStatus
//   sourceSpec(image)                                          → string (rbd_get_migration_source_spec)
//   states: { unknown, error, preparing, ... }                 (rbd_image_migration_state_t numbers)
//
// `options` are RBD_IMAGE_OPTION_* pairs (core/image_options.h). `cancel`:
// when its element 0 is non-zero, the progress callback answers -ECANCELED,
// which librbd's copy loop takes as a request to stop (lib/ sets it from an
// AbortSignal). Whether librbd stops is librbd's: the call's rc says.
#include "pool/migration.h"

#include <rbd/librbd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>

#include "image/image.h"
#include "pool/pool.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/image_options.h"
#include "core/progress.h"
#include "core/worker.h"

namespace xrbd {

namespace {

using PoolPtr = std::shared_ptr<IoCtxHandle>;

// Progress forwarded to JS, and a cancel cell read on every report.
class CancellableProgress final {
 public:
  CancellableProgress(Napi::Env env, Napi::Value cb, int32_t* cell) : p_(env, cb), cell_(cell) {}
  librbd_progress_fn_t fn() const { return &CancellableProgress::OnProgress; }
  void* arg() { return this; }
  bool cancelled() const { return cell_ != nullptr && __atomic_load_n(cell_, __ATOMIC_SEQ_CST) != 0; }

 private:
  static int OnProgress(uint64_t offset, uint64_t total, void* arg) {
    auto* self = static_cast<CancellableProgress*>(arg);
    self->p_.fn()(offset, total, self->p_.arg());
    return self->cancelled() ? -ECANCELED : 0;
  }
  Progress p_;
  int32_t* cell_;
};

int32_t* CancelCell(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined()) return nullptr;
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[i].As<Napi::TypedArray>().ElementLength() < 1) {
    throw Napi::TypeError::New(info.Env(), "cancel must be an Int32Array");
  }
  return info[i].As<Napi::Int32Array>().Data();
}

class PrepareWorker final : public PromiseWorker {
 public:
  PrepareWorker(Napi::Env env, PoolPtr src, std::string name, std::string spec, PoolPtr dest, std::string dest_name,
                Napi::Value options)
      : PromiseWorker(env, "xrbd:migrationPrepare"), src_(std::move(src)), name_(std::move(name)),
        spec_(std::move(spec)), dest_(std::move(dest)), dest_name_(std::move(dest_name)), opts_(env, options) {}

 protected:
  int Run() override {
    int rc = opts_.Apply(op_);
    if (rc < 0) return rc;
    if (!src_) {
      op_ = "rbd_migration_prepare_import";
      return rbd_migration_prepare_import(spec_.c_str(), dest_->io, dest_name_.c_str(), opts_.get());
    }
    op_ = "rbd_migration_prepare";
    return rbd_migration_prepare(src_->io, name_.c_str(), dest_->io, dest_name_.c_str(), opts_.get());
  }

 private:
  PoolPtr src_;
  std::string name_, spec_;
  PoolPtr dest_;
  std::string dest_name_;
  ImageOptions opts_;
};

enum class Step { kExecute, kAbort, kCommit };

class StepWorker final : public PromiseWorker {
 public:
  StepWorker(Napi::Env env, PoolPtr h, std::string name, Step step, Napi::Value cb, int32_t* cell)
      : PromiseWorker(env, "xrbd:migrationStep"), h_(std::move(h)), name_(std::move(name)), step_(step),
        p_(env, cb, cell) {}

 protected:
  int Run() override {
    switch (step_) {
      case Step::kExecute:
        op_ = "rbd_migration_execute_with_progress";
        return rbd_migration_execute_with_progress(h_->io, name_.c_str(), p_.fn(), p_.arg());
      case Step::kAbort:
        op_ = "rbd_migration_abort_with_progress";
        return rbd_migration_abort_with_progress(h_->io, name_.c_str(), p_.fn(), p_.arg());
      case Step::kCommit:
        op_ = "rbd_migration_commit_with_progress";
        return rbd_migration_commit_with_progress(h_->io, name_.c_str(), p_.fn(), p_.arg());
    }
    return -EINVAL;
  }

 private:
  PoolPtr h_;
  std::string name_;
  Step step_;
  CancellableProgress p_;
};

class StatusWorker final : public PromiseWorker {
 public:
  StatusWorker(Napi::Env env, PoolPtr h, std::string name)
      : PromiseWorker(env, "xrbd:migrationStatus"), h_(std::move(h)), name_(std::move(name)) {}

 protected:
  int Run() override {
    op_ = "rbd_migration_status";
    rbd_image_migration_status_t s{};
    int rc = rbd_migration_status(h_->io, name_.c_str(), &s, sizeof(s));
    if (rc < 0) return rc;
    auto str = [](const char* p) { return std::string(p != nullptr ? p : ""); };
    src_pool_ = s.source_pool_id;
    dest_pool_ = s.dest_pool_id;
    src_ns_ = str(s.source_pool_namespace);
    src_name_ = str(s.source_image_name);
    src_id_ = str(s.source_image_id);
    dest_ns_ = str(s.dest_pool_namespace);
    dest_name_ = str(s.dest_image_name);
    dest_id_ = str(s.dest_image_id);
    state_ = static_cast<int>(s.state);
    description_ = str(s.state_description);
    rbd_migration_status_cleanup(&s);
    return 0;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("sourcePoolId", Napi::Number::New(env, static_cast<double>(src_pool_)));
    o.Set("sourceNamespace", src_ns_);
    o.Set("sourceImageName", src_name_);
    o.Set("sourceImageId", src_id_);
    o.Set("destPoolId", Napi::Number::New(env, static_cast<double>(dest_pool_)));
    o.Set("destNamespace", dest_ns_);
    o.Set("destImageName", dest_name_);
    o.Set("destImageId", dest_id_);
    o.Set("state", Napi::Number::New(env, state_));
    o.Set("stateDescription", description_);
    return o;
  }

 private:
  PoolPtr h_;
  std::string name_;
  int64_t src_pool_ = -1, dest_pool_ = -1;
  std::string src_ns_, src_name_, src_id_, dest_ns_, dest_name_, dest_id_, description_;
  int state_ = -1;
};

class SourceSpecWorker final : public PromiseWorker {
 public:
  SourceSpecWorker(Napi::Env env, std::shared_ptr<ImageHandle> h)
      : PromiseWorker(env, "xrbd:migrationSourceSpec"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_get_migration_source_spec";
    int rc = GrowString(1024, &spec_, [&](char* buf, size_t& len) {
      return rbd_get_migration_source_spec(h_->image, buf, &len);
    });
    return rc < 0 ? rc : 0;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, spec_); }

 private:
  std::shared_ptr<ImageHandle> h_;
  std::string spec_;
};

Napi::Value Prepare(const Napi::CallbackInfo& info) {
  auto src = PoolWrap::FromArg(info, 0, "rbd_migration_prepare");
  std::string name = StringArg(info, 1, "image name");
  auto dest = PoolWrap::FromArg(info, 2, "rbd_migration_prepare");
  std::string dest_name = StringArg(info, 3, "destination image name");
  Napi::Value options = info.Length() > 4 ? info[4] : info.Env().Undefined();
  auto* w = new PrepareWorker(info.Env(), std::move(src), std::move(name), "", std::move(dest), std::move(dest_name),
                              options);
  w->Pin(info[0]);
  w->Pin(info[2]);
  return w->Start();
}

Napi::Value PrepareImport(const Napi::CallbackInfo& info) {
  std::string spec = StringArg(info, 0, "source spec");
  auto dest = PoolWrap::FromArg(info, 1, "rbd_migration_prepare_import");
  std::string dest_name = StringArg(info, 2, "destination image name");
  Napi::Value options = info.Length() > 3 ? info[3] : info.Env().Undefined();
  auto* w = new PrepareWorker(info.Env(), nullptr, "", std::move(spec), std::move(dest), std::move(dest_name), options);
  w->Pin(info[1]);
  return w->Start();
}

Napi::Value StartStep(const Napi::CallbackInfo& info, Step step, const char* op, bool cancellable) {
  auto h = PoolWrap::FromArg(info, 0, op);
  std::string name = StringArg(info, 1, "image name");
  Napi::Value cb = OptionalFunctionArg(info, 2, "onProgress");
  int32_t* cell = cancellable ? CancelCell(info, 3) : nullptr;
  auto* w = new StepWorker(info.Env(), std::move(h), std::move(name), step, cb, cell);
  w->Pin(info[0]);
  if (cell != nullptr) w->Pin(info[3]);
  return w->Start();
}

Napi::Value Execute(const Napi::CallbackInfo& info) {
  return StartStep(info, Step::kExecute, "rbd_migration_execute_with_progress", true);
}
Napi::Value Abort(const Napi::CallbackInfo& info) {
  return StartStep(info, Step::kAbort, "rbd_migration_abort_with_progress", true);
}
Napi::Value Commit(const Napi::CallbackInfo& info) {
  return StartStep(info, Step::kCommit, "rbd_migration_commit_with_progress", false);
}

Napi::Value Status(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_migration_status");
  auto* w = new StatusWorker(info.Env(), std::move(h), StringArg(info, 1, "image name"));
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value SourceSpec(const Napi::CallbackInfo& info) {
  auto* w = new SourceSpecWorker(info.Env(), ImageWrap::FromArg(info, 0, "rbd_get_migration_source_spec"));
  w->Pin(info[0]);
  return w->Start();
}

}  // namespace

void InitMigration(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("prepare", Napi::Function::New(env, Prepare, "prepare"));
  area.Set("prepareImport", Napi::Function::New(env, PrepareImport, "prepareImport"));
  area.Set("execute", Napi::Function::New(env, Execute, "execute"));
  area.Set("abort", Napi::Function::New(env, Abort, "abort"));
  area.Set("commit", Napi::Function::New(env, Commit, "commit"));
  area.Set("status", Napi::Function::New(env, Status, "status"));
  area.Set("sourceSpec", Napi::Function::New(env, SourceSpec, "sourceSpec"));
  exports.Set("migration", area);
}

}  // namespace xrbd
