// binding.trash: rbd_trash_* on a pool (its RADOS namespace included).
//
//   move(pool, name, delaySeconds)                    → undefined
//   list(pool)                                        → TrashEntry[]
//   get(pool, id)                                     → TrashEntry
//   remove(pool, id, force, onProgress?)              → undefined
//   restore(pool, id, newName)                        → undefined ('' = librbd's default)
//   purge(pool, expireTs, threshold, onProgress?)     → undefined
//
// TrashEntry: { id, name, source (rbd_trash_image_source_t number),
//               deletionTime, defermentEndTime (seconds since the epoch) }
#include "pool/trash.h"

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pool/pool.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/progress.h"
#include "core/worker.h"

namespace xrbd {

namespace {

// One librbd call without a result: the lambda runs on the worker thread and
// touches only what it captured (the handle's shared_ptr, copied strings).
// A trash entry copied out of librbd's struct (which is freed right away).
struct Entry {
  std::string id, name;
  int source = 0;
  int64_t deletion_time = 0, deferment_end_time = 0;

  static Entry From(const rbd_trash_image_info_t& i) {
    return Entry{i.id != nullptr ? i.id : "", i.name != nullptr ? i.name : "", static_cast<int>(i.source),
                 static_cast<int64_t>(i.deletion_time), static_cast<int64_t>(i.deferment_end_time)};
  }

  Napi::Object ToJs(Napi::Env env) const {
    Napi::Object o = Napi::Object::New(env);
    o.Set("id", id);
    o.Set("name", name);
    o.Set("source", Napi::Number::New(env, source));
    o.Set("deletionTime", Napi::Number::New(env, static_cast<double>(deletion_time)));
    o.Set("defermentEndTime", Napi::Number::New(env, static_cast<double>(deferment_end_time)));
    return o;
  }
};

class ListWorker final : public PromiseWorker {
 public:
  ListWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h) : PromiseWorker(env, "xrbd:trash.list"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_trash_list";
    std::vector<rbd_trash_image_info_t> raw;
    size_t n = 32;
    int rc = GrowRetry(n, sizeof(rbd_trash_image_info_t), [&](size_t& cap) {
      raw.assign(cap, rbd_trash_image_info_t{});
      return rbd_trash_list(h_->io, raw.data(), &cap);  // on -ERANGE, cap is the count it needs
    });
    if (rc < 0) return rc;
    entries_.reserve(n);
    for (size_t i = 0; i < n; i++) entries_.push_back(Entry::From(raw[i]));
    rbd_trash_list_cleanup(raw.data(), n);
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, entries_.size());
    for (size_t i = 0; i < entries_.size(); i++) out.Set(static_cast<uint32_t>(i), entries_[i].ToJs(env));
    return out;
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::vector<Entry> entries_;
};

class GetWorker final : public PromiseWorker {
 public:
  GetWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string id)
      : PromiseWorker(env, "xrbd:trash.get"), h_(std::move(h)), id_(std::move(id)) {}

 protected:
  int Run() override {
    op_ = "rbd_trash_get";
    rbd_trash_image_info_t info{};
    int rc = rbd_trash_get(h_->io, id_.c_str(), &info);
    if (rc < 0) return rc;
    entry_ = Entry::From(info);
    rbd_trash_get_cleanup(&info);
    return 0;
  }

  Napi::Value Result(Napi::Env env) override { return entry_.ToJs(env); }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string id_;
  Entry entry_;
};

class RemoveWorker final : public PromiseWorker {
 public:
  RemoveWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string id, bool force, Napi::Value cb)
      : PromiseWorker(env, "xrbd:trash.remove"), h_(std::move(h)), id_(std::move(id)), force_(force), p_(env, cb) {}

 protected:
  int Run() override {
    op_ = "rbd_trash_remove_with_progress";
    return rbd_trash_remove_with_progress(h_->io, id_.c_str(), force_, p_.fn(), p_.arg());
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string id_;
  bool force_;
  Progress p_;
};

class PurgeWorker final : public PromiseWorker {
 public:
  PurgeWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, time_t expire, float threshold, Napi::Value cb)
      : PromiseWorker(env, "xrbd:trash.purge"), h_(std::move(h)), expire_(expire), threshold_(threshold), p_(env, cb) {}

 protected:
  int Run() override {
    op_ = "rbd_trash_purge_with_progress";
    return rbd_trash_purge_with_progress(h_->io, expire_, threshold_, p_.fn(), p_.arg());
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  time_t expire_;
  float threshold_;
  Progress p_;
};

Napi::Value Start(const Napi::CallbackInfo& info, PromiseWorker* w) {
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value Move(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_trash_move");
  std::string name = StringArg(info, 1, "image name");
  uint64_t delay = U64Arg(info, 2, "delay");
  return Start(info, new CallWorker(info.Env(), "rbd_trash_move", [h, name, delay] {
                 return rbd_trash_move(h->io, name.c_str(), delay);
               }));
}

Napi::Value List(const Napi::CallbackInfo& info) {
  return Start(info, new ListWorker(info.Env(), PoolWrap::FromArg(info, 0, "rbd_trash_list")));
}

Napi::Value Get(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_trash_get");
  return Start(info, new GetWorker(info.Env(), std::move(h), StringArg(info, 1, "image id")));
}

Napi::Value Remove(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_trash_remove_with_progress");
  std::string id = StringArg(info, 1, "image id");
  bool force = info.Length() > 2 && info[2].ToBoolean().Value();
  Napi::Value cb = info.Length() > 3 ? info[3] : info.Env().Undefined();
  return Start(info, new RemoveWorker(info.Env(), std::move(h), std::move(id), force, cb));
}

Napi::Value Restore(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_trash_restore");
  std::string id = StringArg(info, 1, "image id");
  std::string name = OptionalStringArg(info, 2, "image name");
  return Start(info, new CallWorker(info.Env(), "rbd_trash_restore", [h, id, name] {
                 return rbd_trash_restore(h->io, id.c_str(), name.c_str());
               }));
}

Napi::Value Purge(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_trash_purge_with_progress");
  auto expire = static_cast<time_t>(NumberArg(info, 1, "expireTs"));
  auto threshold = static_cast<float>(NumberArg(info, 2, "threshold"));
  Napi::Value cb = info.Length() > 3 ? info[3] : info.Env().Undefined();
  return Start(info, new PurgeWorker(info.Env(), std::move(h), expire, threshold, cb));
}

}  // namespace

void InitTrash(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("move", Napi::Function::New(env, Move, "move"));
  area.Set("list", Napi::Function::New(env, List, "list"));
  area.Set("get", Napi::Function::New(env, Get, "get"));
  area.Set("remove", Napi::Function::New(env, Remove, "remove"));
  area.Set("restore", Napi::Function::New(env, Restore, "restore"));
  area.Set("purge", Napi::Function::New(env, Purge, "purge"));
  exports.Set("trash", area);
}

}  // namespace xrbd
