// binding.groups: rbd_group_* on a pool (the group's pool; images may live in another).
//
//   create(pool, name) / remove(pool, name)              → undefined
//   list(pool)                                           → string[]
//   rename(pool, from, to)                               → undefined
//   addImage(pool, group, imagePool, image)              → undefined
//   removeImage(pool, group, imagePool, image)           → undefined
//   removeImageById(pool, group, imagePool, imageId)     → undefined
//   listImages(pool, group)                              → { name, poolId, pool (name or null), state }[]
//   createSnapshot(pool, group, snap)                    → undefined
//   listSnapshots(pool, group)                           → { name, state }[]
//   removeSnapshot(pool, group, snap)                    → undefined
//   renameSnapshot(pool, group, from, to)                → undefined
//   rollbackSnapshot(pool, group, snap, onProgress?)     → undefined
//
// States are librbd's enum numbers; lib/ names them.
#include "pool/groups.h"

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pool/name_list.h"
#include "pool/pool.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/progress.h"
#include "core/worker.h"

namespace xrbd {

namespace {

class ListImagesWorker final : public PromiseWorker {
 public:
  ListImagesWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string group)
      : PromiseWorker(env, "xrbd:groups.listImages"), h_(std::move(h)), group_(std::move(group)) {}

 protected:
  struct Row {
    std::string name;
    int64_t pool_id;
    int state;
    bool has_pool_name;
    std::string pool_name;
  };

  int Run() override {
    op_ = "rbd_group_image_list";
    std::vector<rbd_group_image_info_t> raw;
    size_t n = 16;
    int rc = GrowRetry(n, sizeof(rbd_group_image_info_t), [&](size_t& cap) {
      raw.assign(cap, rbd_group_image_info_t{});
      return rbd_group_image_list(h_->io, group_.c_str(), raw.data(), sizeof(rbd_group_image_info_t), &cap);
    });
    if (rc < 0) return rc;
    for (size_t i = 0; i < n; i++) {
      rows_.push_back(Row{raw[i].name != nullptr ? raw[i].name : "", raw[i].pool, static_cast<int>(raw[i].state),
                          false, ""});
    }
    rbd_group_image_list_cleanup(raw.data(), sizeof(rbd_group_image_info_t), n);
    // Pool ids → names from the client's OSD map: local, no round trip.
    for (auto& r : rows_) {
      char name[256];
      int rc = rados_pool_reverse_lookup(h_->cluster->cluster, r.pool_id, name, sizeof name);
      if (rc >= 0) {
        r.has_pool_name = true;
        r.pool_name.assign(name, strnlen(name, sizeof name));
      }
    }
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, rows_.size());
    for (size_t i = 0; i < rows_.size(); i++) {
      const Row& r = rows_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", r.name);
      o.Set("poolId", Napi::Number::New(env, static_cast<double>(r.pool_id)));
      o.Set("pool", r.has_pool_name ? Napi::Value(Napi::String::New(env, r.pool_name)) : env.Null());
      o.Set("state", Napi::Number::New(env, r.state));
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string group_;
  std::vector<Row> rows_;
};

class ListSnapshotsWorker final : public PromiseWorker {
 public:
  ListSnapshotsWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string group)
      : PromiseWorker(env, "xrbd:groups.listSnapshots"), h_(std::move(h)), group_(std::move(group)) {}

 protected:
  int Run() override {
    op_ = "rbd_group_snap_list";
    std::vector<rbd_group_snap_info_t> raw;
    size_t n = 16;
    int rc = GrowRetry(n, sizeof(rbd_group_snap_info_t), [&](size_t& cap) {
      raw.assign(cap, rbd_group_snap_info_t{});
      return rbd_group_snap_list(h_->io, group_.c_str(), raw.data(), sizeof(rbd_group_snap_info_t), &cap);
    });
    if (rc < 0) return rc;
    for (size_t i = 0; i < n; i++) {
      snaps_.emplace_back(raw[i].name != nullptr ? raw[i].name : "", static_cast<int>(raw[i].state));
    }
    rbd_group_snap_list_cleanup(raw.data(), sizeof(rbd_group_snap_info_t), n);
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, snaps_.size());
    for (size_t i = 0; i < snaps_.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", snaps_[i].first);
      o.Set("state", Napi::Number::New(env, snaps_[i].second));
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string group_;
  std::vector<std::pair<std::string, int>> snaps_;
};

class RollbackWorker final : public PromiseWorker {
 public:
  RollbackWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> h, std::string group, std::string snap, Napi::Value cb)
      : PromiseWorker(env, "xrbd:groups.rollbackSnapshot"),
        h_(std::move(h)),
        group_(std::move(group)),
        snap_(std::move(snap)),
        p_(env, cb) {}

 protected:
  int Run() override {
    op_ = "rbd_group_snap_rollback_with_progress";
    return rbd_group_snap_rollback_with_progress(h_->io, group_.c_str(), snap_.c_str(), p_.fn(), p_.arg());
  }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string group_, snap_;
  Progress p_;
};

// Pin the wrapped pools the call was given.
Napi::Value Start(const Napi::CallbackInfo& info, PromiseWorker* w, bool second_pool = false) {
  w->Pin(info[0]);
  if (second_pool) w->Pin(info[2]);
  return w->Start();
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_create");
  std::string name = StringArg(info, 1, "group name");
  return Start(info, new CallWorker(info.Env(), "rbd_group_create",
                                    [h, name] { return rbd_group_create(h->io, name.c_str()); }));
}

Napi::Value Remove(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_remove");
  std::string name = StringArg(info, 1, "group name");
  return Start(info, new CallWorker(info.Env(), "rbd_group_remove",
                                    [h, name] { return rbd_group_remove(h->io, name.c_str()); }));
}

Napi::Value List(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_list");
  return Start(info, new PoolNameListWorker(info.Env(), std::move(h), rbd_group_list, "rbd_group_list", "xrbd:groups.list"));
}

Napi::Value Rename(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_rename");
  std::string from = StringArg(info, 1, "group name");
  std::string to = StringArg(info, 2, "new group name");
  return Start(info, new CallWorker(info.Env(), "rbd_group_rename", [h, from, to] {
                 return rbd_group_rename(h->io, from.c_str(), to.c_str());
               }));
}

Napi::Value AddImage(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_image_add");
  std::string group = StringArg(info, 1, "group name");
  auto ih = PoolWrap::FromArg(info, 2, "rbd_group_image_add");
  std::string image = StringArg(info, 3, "image name");
  return Start(
      info,
      new CallWorker(info.Env(), "rbd_group_image_add",
                     [h, group, ih, image] { return rbd_group_image_add(h->io, group.c_str(), ih->io, image.c_str()); }),
      true);
}

Napi::Value RemoveImage(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_image_remove");
  std::string group = StringArg(info, 1, "group name");
  auto ih = PoolWrap::FromArg(info, 2, "rbd_group_image_remove");
  std::string image = StringArg(info, 3, "image name");
  return Start(info,
               new CallWorker(info.Env(), "rbd_group_image_remove",
                              [h, group, ih, image] {
                                return rbd_group_image_remove(h->io, group.c_str(), ih->io, image.c_str());
                              }),
               true);
}

Napi::Value RemoveImageById(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_image_remove_by_id");
  std::string group = StringArg(info, 1, "group name");
  auto ih = PoolWrap::FromArg(info, 2, "rbd_group_image_remove_by_id");
  std::string id = StringArg(info, 3, "image id");
  return Start(info,
               new CallWorker(info.Env(), "rbd_group_image_remove_by_id",
                              [h, group, ih, id] {
                                return rbd_group_image_remove_by_id(h->io, group.c_str(), ih->io, id.c_str());
                              }),
               true);
}

Napi::Value ListImages(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_image_list");
  return Start(info, new ListImagesWorker(info.Env(), std::move(h), StringArg(info, 1, "group name")));
}

Napi::Value CreateSnapshot(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_snap_create2");
  std::string group = StringArg(info, 1, "group name");
  std::string snap = StringArg(info, 2, "snapshot name");
  uint32_t flags = OptionalU32Arg(info, 3, "flags");  // RBD_SNAP_CREATE_*
  return Start(info, new CallWorker(info.Env(), "rbd_group_snap_create2", [h, group, snap, flags] {
                 return rbd_group_snap_create2(h->io, group.c_str(), snap.c_str(), flags);
               }));
}

Napi::Value ListSnapshots(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_snap_list");
  return Start(info, new ListSnapshotsWorker(info.Env(), std::move(h), StringArg(info, 1, "group name")));
}

Napi::Value RemoveSnapshot(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_snap_remove");
  std::string group = StringArg(info, 1, "group name");
  std::string snap = StringArg(info, 2, "snapshot name");
  return Start(info, new CallWorker(info.Env(), "rbd_group_snap_remove", [h, group, snap] {
                 return rbd_group_snap_remove(h->io, group.c_str(), snap.c_str());
               }));
}

Napi::Value RenameSnapshot(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_snap_rename");
  std::string group = StringArg(info, 1, "group name");
  std::string from = StringArg(info, 2, "snapshot name");
  std::string to = StringArg(info, 3, "new snapshot name");
  return Start(info, new CallWorker(info.Env(), "rbd_group_snap_rename", [h, group, from, to] {
                 return rbd_group_snap_rename(h->io, group.c_str(), from.c_str(), to.c_str());
               }));
}

Napi::Value RollbackSnapshot(const Napi::CallbackInfo& info) {
  auto h = PoolWrap::FromArg(info, 0, "rbd_group_snap_rollback_with_progress");
  std::string group = StringArg(info, 1, "group name");
  std::string snap = StringArg(info, 2, "snapshot name");
  Napi::Value cb = info.Length() > 3 ? info[3] : info.Env().Undefined();
  return Start(info, new RollbackWorker(info.Env(), std::move(h), std::move(group), std::move(snap), cb));
}

}  // namespace

void InitGroups(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("create", Napi::Function::New(env, Create, "create"));
  area.Set("remove", Napi::Function::New(env, Remove, "remove"));
  area.Set("list", Napi::Function::New(env, List, "list"));
  area.Set("rename", Napi::Function::New(env, Rename, "rename"));
  area.Set("addImage", Napi::Function::New(env, AddImage, "addImage"));
  area.Set("removeImage", Napi::Function::New(env, RemoveImage, "removeImage"));
  area.Set("removeImageById", Napi::Function::New(env, RemoveImageById, "removeImageById"));
  area.Set("listImages", Napi::Function::New(env, ListImages, "listImages"));
  area.Set("createSnapshot", Napi::Function::New(env, CreateSnapshot, "createSnapshot"));
  area.Set("listSnapshots", Napi::Function::New(env, ListSnapshots, "listSnapshots"));
  area.Set("removeSnapshot", Napi::Function::New(env, RemoveSnapshot, "removeSnapshot"));
  area.Set("renameSnapshot", Napi::Function::New(env, RenameSnapshot, "renameSnapshot"));
  area.Set("rollbackSnapshot", Napi::Function::New(env, RollbackSnapshot, "rollbackSnapshot"));
  exports.Set("groups", area);
}

}  // namespace xrbd
