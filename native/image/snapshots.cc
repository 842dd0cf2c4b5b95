#include "image/snapshots.h"

#include <rbd/librbd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "image/clones.h"
#include "image/image.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/progress.h"
#include "core/worker.h"

namespace xrbd {

namespace {

using ImageRef = std::shared_ptr<ImageHandle>;

// ---- simple calls: one librbd function, a name or two, no result -----------

// create(image, name, flags)
class CreateWorker final : public PromiseWorker {
 public:
  CreateWorker(Napi::Env env, ImageRef h, std::string name, uint32_t flags)
      : PromiseWorker(env, "xrbd:snapCreate"), h_(std::move(h)), name_(std::move(name)), flags_(flags) {}

 protected:
  int Run() override {
    op_ = "rbd_snap_create2";
    return rbd_snap_create2(h_->image, name_.c_str(), flags_, &NoProgress, nullptr);
  }

 private:
  // librbd calls the callback unconditionally: it must not be null.
  static int NoProgress(uint64_t, uint64_t, void*) { return 0; }
  ImageRef h_;
  std::string name_;
  uint32_t flags_;
};

// remove(image, name, flags, onProgress?)
class RemoveWorker final : public PromiseWorker {
 public:
  RemoveWorker(Napi::Env env, ImageRef h, std::string name, uint32_t flags, Napi::Value cb)
      : PromiseWorker(env, "xrbd:snapRemove"), h_(std::move(h)), name_(std::move(name)), flags_(flags), p_(env, cb) {}

 protected:
  int Run() override {
    op_ = "rbd_snap_remove2";
    return rbd_snap_remove2(h_->image, name_.c_str(), flags_, p_.fn(), p_.arg());
  }

 private:
  ImageRef h_;
  std::string name_;
  uint32_t flags_;
  Progress p_;
};

// rollback(image, name, onProgress?)
class RollbackWorker final : public PromiseWorker {
 public:
  RollbackWorker(Napi::Env env, ImageRef h, std::string name, Napi::Value cb)
      : PromiseWorker(env, "xrbd:snapRollback"), h_(std::move(h)), name_(std::move(name)), p_(env, cb) {}

 protected:
  int Run() override {
    op_ = "rbd_snap_rollback_with_progress";
    return rbd_snap_rollback_with_progress(h_->image, name_.c_str(), p_.fn(), p_.arg());
  }

 private:
  ImageRef h_;
  std::string name_;
  Progress p_;
};

enum class NameOp { kRename, kProtect, kUnprotect, kSet };

// rename / protect / unprotect / set: a name (and for rename a second one).
class NameWorker final : public PromiseWorker {
 public:
  NameWorker(Napi::Env env, ImageRef h, NameOp op) : PromiseWorker(env, "xrbd:snap"), h_(std::move(h)), kind_(op) {}
  std::string name, to;
  bool head = false;  // kSet: back to the image head (NULL)

 protected:
  int Run() override {
    switch (kind_) {
      case NameOp::kRename:
        op_ = "rbd_snap_rename";
        return rbd_snap_rename(h_->image, name.c_str(), to.c_str());
      case NameOp::kProtect:
        op_ = "rbd_snap_protect";
        return rbd_snap_protect(h_->image, name.c_str());
      case NameOp::kUnprotect:
        op_ = "rbd_snap_unprotect";
        return rbd_snap_unprotect(h_->image, name.c_str());
      case NameOp::kSet:
        op_ = "rbd_snap_set";
        return rbd_snap_set(h_->image, head ? nullptr : name.c_str());
    }
    return -EINVAL;
  }

 private:
  ImageRef h_;
  NameOp kind_;
};

// isProtected(image, name) → boolean
class IsProtectedWorker final : public PromiseWorker {
 public:
  IsProtectedWorker(Napi::Env env, ImageRef h, std::string name)
      : PromiseWorker(env, "xrbd:snapIsProtected"), h_(std::move(h)), name_(std::move(name)) {}

 protected:
  int Run() override {
    op_ = "rbd_snap_is_protected";
    return rbd_snap_is_protected(h_->image, name_.c_str(), &out_);
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, out_ != 0); }

 private:
  ImageRef h_;
  std::string name_;
  int out_ = 0;
};

// exists(image, name) → boolean
class ExistsWorker final : public PromiseWorker {
 public:
  ExistsWorker(Napi::Env env, ImageRef h, std::string name)
      : PromiseWorker(env, "xrbd:snapExists"), h_(std::move(h)), name_(std::move(name)) {}

 protected:
  int Run() override {
    op_ = "rbd_snap_exists";
    return rbd_snap_exists(h_->image, name_.c_str(), &out_);
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, out_); }

 private:
  ImageRef h_;
  std::string name_;
  bool out_ = false;
};

// getLimit(image) → number (UINT64_MAX as a bigint: no limit) / setLimit(image, n)
class LimitWorker final : public PromiseWorker {
 public:
  LimitWorker(Napi::Env env, ImageRef h, bool set, uint64_t limit)
      : PromiseWorker(env, "xrbd:snapLimit"), h_(std::move(h)), set_(set), limit_(limit) {}

 protected:
  int Run() override {
    if (set_) {
      op_ = "rbd_snap_set_limit";
      return rbd_snap_set_limit(h_->image, limit_);
    }
    op_ = "rbd_snap_get_limit";
    return rbd_snap_get_limit(h_->image, &limit_);
  }
  Napi::Value Result(Napi::Env env) override {
    if (set_) return env.Undefined();
    return Napi::BigInt::New(env, limit_);
  }

 private:
  ImageRef h_;
  bool set_;
  uint64_t limit_;
};

// ---- list ---------------------------------------------------------------------

// What rbd_snap_get_mirror_namespace reports of a mirror snapshot.
struct MirrorNs {
  int state = -1;  // rbd_snap_mirror_state_t
  std::vector<std::string> peer_uuids;
  bool complete = false;
  std::string primary_mirror_uuid;
  uint64_t primary_snap_id = 0, last_copied_object_number = 0;
};

struct SnapEntry {
  uint64_t id = 0, size = 0;
  std::string name;
  int ns = -1;  // rbd_snap_namespace_type_t
  timespec ts{};
  int is_protected = 0;
  bool has_mirror = false;
  MirrorNs mirror;
  std::string trash_original_name;  // trash namespace: the name it had
  bool has_group = false;           // group namespace: the group snapshot it is part of
  int64_t group_pool = -1;
  bool has_group_pool_name = false;
  std::string group_pool_name, group_name, group_snap_name;
};

// rbd_snap_get_group_namespace into `e`; librbd's strings are released with
// rbd_snap_group_namespace_cleanup. The pool id is named from the client's OSD map (local).
int GetGroupNs(rbd_image_t img, rados_t cluster, SnapEntry* e) {
  rbd_snap_group_namespace_t g{};
  int rc = rbd_snap_get_group_namespace(img, e->id, &g, sizeof(g));
  if (rc < 0) return rc;
  e->group_pool = g.group_pool;
  e->group_name = g.group_name != nullptr ? g.group_name : "";
  e->group_snap_name = g.group_snap_name != nullptr ? g.group_snap_name : "";
  rbd_snap_group_namespace_cleanup(&g, sizeof(g));
  char name[256];
  if (rados_pool_reverse_lookup(cluster, e->group_pool, name, sizeof name) >= 0) {
    e->has_group_pool_name = true;
    e->group_pool_name.assign(name, strnlen(name, sizeof name));
  }
  e->has_group = true;
  return 0;
}

// rbd_snap_get_mirror_namespace into `out`; the librbd strings are released here.
int GetMirrorNs(rbd_image_t img, uint64_t id, MirrorNs* out) {
  rbd_snap_mirror_namespace_t m{};
  int rc = rbd_snap_get_mirror_namespace(img, id, &m, sizeof(m));
  if (rc < 0) return rc;
  out->state = static_cast<int>(m.state);
  const char* p = m.mirror_peer_uuids;
  for (size_t i = 0; p != nullptr && i < m.mirror_peer_uuids_count; i++) {
    out->peer_uuids.emplace_back(p);
    p += out->peer_uuids.back().size() + 1;  // NUL-separated
  }
  out->complete = m.complete;
  out->primary_mirror_uuid = m.primary_mirror_uuid != nullptr ? m.primary_mirror_uuid : "";
  out->primary_snap_id = m.primary_snap_id;
  out->last_copied_object_number = m.last_copied_object_number;
  rbd_snap_mirror_namespace_cleanup(&m, sizeof(m));
  return 0;
}

// list(image) → [{ id, name, size, namespaceType, timestampMs, protected }]
// rbd_snap_list, then for each snapshot its namespace type, timestamp and (for
// user snapshots, the only ones rbd_snap_is_protected can name) protection.
// A snapshot removed between the list and the follow-up calls is left out.
class ListWorker final : public PromiseWorker {
 public:
  ListWorker(Napi::Env env, ImageRef h) : PromiseWorker(env, "xrbd:snapList"), h_(std::move(h)) {}

 protected:
  int Run() override {
    rbd_image_t img = h_->image;
    std::vector<rbd_snap_info_t> infos;
    size_t max = 16;
    op_ = "rbd_snap_list";
    // Room for one more entry than max: librbd ends the list with an empty one.
    const int n = GrowRetry(max, sizeof(rbd_snap_info_t), [&](size_t& cap) {
      infos.assign(cap + 1, rbd_snap_info_t{});
      int m = static_cast<int>(cap);
      int rc = rbd_snap_list(img, infos.data(), &m);  // on -ERANGE, m is the count needed
      cap = m < 0 ? 0 : static_cast<size_t>(m);
      return rc;
    });
    if (n < 0) return n;
    // The list is filled and must be released with rbd_snap_list_end.
    struct ListEnd {
      rbd_snap_info_t* p;
      ~ListEnd() { rbd_snap_list_end(p); }
    } end{infos.data()};
    for (int i = 0; i < n; i++) {
      SnapEntry e;
      e.id = infos[i].id;
      e.size = infos[i].size;
      e.name = infos[i].name != nullptr ? infos[i].name : "";
      rbd_snap_namespace_type_t ns;
      int rc = rbd_snap_get_namespace_type(img, e.id, &ns);
      if (rc == -ENOENT) continue;
      if (rc < 0) {
        op_ = "rbd_snap_get_namespace_type";
        return rc;
      }
      e.ns = static_cast<int>(ns);
      rc = rbd_snap_get_timestamp(img, e.id, &e.ts);
      if (rc == -ENOENT) continue;
      if (rc < 0) {
        op_ = "rbd_snap_get_timestamp";
        return rc;
      }
      if (ns == RBD_SNAP_NAMESPACE_TYPE_MIRROR) {
        rc = GetMirrorNs(img, e.id, &e.mirror);
        if (rc == -ENOENT) continue;
        if (rc < 0) {
          op_ = "rbd_snap_get_mirror_namespace";
          return rc;
        }
        e.has_mirror = true;
      } else if (ns == RBD_SNAP_NAMESPACE_TYPE_TRASH) {
        rc = GrowString(256, &e.trash_original_name,
                        [&](char* buf, size_t& len) { return rbd_snap_get_trash_namespace(img, e.id, buf, len); });
        if (rc == -ENOENT) continue;
        if (rc < 0) {
          op_ = "rbd_snap_get_trash_namespace";
          return rc;
        }
      } else if (ns == RBD_SNAP_NAMESPACE_TYPE_GROUP) {
        rc = GetGroupNs(img, h_->pool->cluster->cluster, &e);
        if (rc == -ENOENT) continue;
        if (rc < 0) {
          op_ = "rbd_snap_get_group_namespace";
          return rc;
        }
      }
      if (ns == RBD_SNAP_NAMESPACE_TYPE_USER) {
        rc = rbd_snap_is_protected(img, e.name.c_str(), &e.is_protected);
        if (rc == -ENOENT) continue;
        if (rc < 0) {
          op_ = "rbd_snap_is_protected";
          return rc;
        }
      }
      snaps_.push_back(std::move(e));
    }
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, snaps_.size());
    for (size_t i = 0; i < snaps_.size(); i++) {
      const SnapEntry& e = snaps_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", U64ToJs(env, e.id));
      o.Set("name", e.name);
      o.Set("size", U64ToJs(env, e.size));
      o.Set("namespaceType", e.ns);
      o.Set("timestampMs", static_cast<double>(e.ts.tv_sec) * 1000.0 + e.ts.tv_nsec / 1e6);
      o.Set("protected", e.is_protected != 0);
      if (e.has_mirror) {
        Napi::Object m = Napi::Object::New(env);
        m.Set("state", e.mirror.state);
        Napi::Array peers = Napi::Array::New(env, e.mirror.peer_uuids.size());
        for (size_t k = 0; k < e.mirror.peer_uuids.size(); k++) peers.Set(static_cast<uint32_t>(k), e.mirror.peer_uuids[k]);
        m.Set("mirrorPeerUuids", peers);
        m.Set("complete", e.mirror.complete);
        m.Set("primaryMirrorUuid", e.mirror.primary_mirror_uuid);
        m.Set("primarySnapId", U64ToJs(env, e.mirror.primary_snap_id));
        m.Set("lastCopiedObjectNumber", U64ToJs(env, e.mirror.last_copied_object_number));
        o.Set("mirror", m);
      }
      if (e.ns == RBD_SNAP_NAMESPACE_TYPE_TRASH) o.Set("trashOriginalName", e.trash_original_name);
      if (e.has_group) {
        Napi::Object g = Napi::Object::New(env);
        g.Set("poolId", Napi::Number::New(env, static_cast<double>(e.group_pool)));
        g.Set("pool", e.has_group_pool_name ? Napi::Value(Napi::String::New(env, e.group_pool_name)) : env.Null());
        g.Set("group", e.group_name);
        g.Set("groupSnapshot", e.group_snap_name);
        o.Set("group", g);
      }
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  ImageRef h_;
  std::vector<SnapEntry> snaps_;
};

// ---- by id: rbd_snap_get_id, rbd_snap_get_name, rbd_snap_set_by_id, rbd_snap_remove_by_id ----

class ByIdWorker final : public PromiseWorker {
 public:
  enum class Op { kGetId, kGetName, kSetById, kRemoveById };
  ByIdWorker(Napi::Env env, ImageRef h, Op op, uint64_t id, std::string name)
      : PromiseWorker(env, "xrbd:snapById"), h_(std::move(h)), what_(op), id_(id), name_(std::move(name)) {}

 protected:
  int Run() override {
    switch (what_) {
      case Op::kGetId:
        op_ = "rbd_snap_get_id";
        return rbd_snap_get_id(h_->image, name_.c_str(), &id_);
      case Op::kGetName: {
        op_ = "rbd_snap_get_name";
        int rc = GrowString(256, &name_,
                            [&](char* buf, size_t& len) { return rbd_snap_get_name(h_->image, id_, buf, &len); });
        return rc < 0 ? rc : 0;
      }
      case Op::kSetById:
        op_ = "rbd_snap_set_by_id";
        return rbd_snap_set_by_id(h_->image, id_);
      case Op::kRemoveById:
        op_ = "rbd_snap_remove_by_id";
        return rbd_snap_remove_by_id(h_->image, id_);
    }
    return -EINVAL;
  }
  Napi::Value Result(Napi::Env env) override {
    if (what_ == Op::kGetId) return U64ToJs(env, id_);
    if (what_ == Op::kGetName) return Napi::String::New(env, name_);
    return env.Undefined();
  }

 private:
  ImageRef h_;
  Op what_;
  uint64_t id_;
  std::string name_;
};

// ---- the JS-facing functions --------------------------------------------------

template <typename W>
Napi::Value Go(W* w, const Napi::CallbackInfo& info) {
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_create2");
  std::string name = StringArg(info, 1, "snapshot name");
  return Go(new CreateWorker(info.Env(), std::move(h), std::move(name), OptionalU32Arg(info, 2, "flags")), info);
}

Napi::Value List(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_list");
  return Go(new ListWorker(info.Env(), std::move(h)), info);
}

Napi::Value Remove(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_remove2");
  std::string name = StringArg(info, 1, "snapshot name");
  uint32_t flags = OptionalU32Arg(info, 2, "flags");
  Napi::Value cb = OptionalFunctionArg(info, 3, "onProgress");
  return Go(new RemoveWorker(info.Env(), std::move(h), std::move(name), flags, cb), info);
}

Napi::Value Rollback(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_rollback_with_progress");
  std::string name = StringArg(info, 1, "snapshot name");
  Napi::Value cb = OptionalFunctionArg(info, 2, "onProgress");
  return Go(new RollbackWorker(info.Env(), std::move(h), std::move(name), cb), info);
}

Napi::Value Rename(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_rename");
  auto* w = new NameWorker(info.Env(), std::move(h), NameOp::kRename);
  std::unique_ptr<NameWorker> guard(w);
  w->name = StringArg(info, 1, "snapshot name");
  w->to = StringArg(info, 2, "new snapshot name");
  return Go(guard.release(), info);
}

Napi::Value Protect(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_protect");
  std::string name = StringArg(info, 1, "snapshot name");
  auto* w = new NameWorker(info.Env(), std::move(h), NameOp::kProtect);
  w->name = std::move(name);
  return Go(w, info);
}

Napi::Value Unprotect(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_unprotect");
  std::string name = StringArg(info, 1, "snapshot name");
  auto* w = new NameWorker(info.Env(), std::move(h), NameOp::kUnprotect);
  w->name = std::move(name);
  return Go(w, info);
}

// set(image, name | null)
Napi::Value Set(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_set");
  bool head = info.Length() < 2 || info[1].IsNull() || info[1].IsUndefined();
  std::string name = head ? std::string() : StringArg(info, 1, "snapshot name");
  auto* w = new NameWorker(info.Env(), std::move(h), NameOp::kSet);
  w->name = std::move(name);
  w->head = head;
  return Go(w, info);
}

Napi::Value IsProtected(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_is_protected");
  std::string name = StringArg(info, 1, "snapshot name");
  return Go(new IsProtectedWorker(info.Env(), std::move(h), std::move(name)), info);
}

Napi::Value Exists(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_exists");
  std::string name = StringArg(info, 1, "snapshot name");
  return Go(new ExistsWorker(info.Env(), std::move(h), std::move(name)), info);
}

Napi::Value GetLimit(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_get_limit");
  return Go(new LimitWorker(info.Env(), std::move(h), false, 0), info);
}

Napi::Value SetLimit(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_set_limit");
  uint64_t limit = U64Arg(info, 1, "limit");
  return Go(new LimitWorker(info.Env(), std::move(h), true, limit), info);
}

Napi::Value GetId(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_snap_get_id");
  std::string name = StringArg(info, 1, "snapshot name");
  return Go(new ByIdWorker(info.Env(), std::move(h), ByIdWorker::Op::kGetId, 0, std::move(name)), info);
}

// getName / setById / removeById (image, id)
template <ByIdWorker::Op kOp>
Napi::Value ById(const Napi::CallbackInfo& info) {
  static constexpr const char* kOps[] = {"rbd_snap_get_id", "rbd_snap_get_name", "rbd_snap_set_by_id", "rbd_snap_remove_by_id"};
  auto h = ImageWrap::FromArg(info, 0, kOps[static_cast<int>(kOp)]);
  uint64_t id = U64Arg(info, 1, "snapshot id");
  return Go(new ByIdWorker(info.Env(), std::move(h), kOp, id, std::string()), info);
}

}  // namespace

void InitSnapshots(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("create", Napi::Function::New(env, Create, "create"));
  area.Set("list", Napi::Function::New(env, List, "list"));
  area.Set("remove", Napi::Function::New(env, Remove, "remove"));
  area.Set("rollback", Napi::Function::New(env, Rollback, "rollback"));
  area.Set("rename", Napi::Function::New(env, Rename, "rename"));
  area.Set("protect", Napi::Function::New(env, Protect, "protect"));
  area.Set("unprotect", Napi::Function::New(env, Unprotect, "unprotect"));
  area.Set("set", Napi::Function::New(env, Set, "set"));
  area.Set("isProtected", Napi::Function::New(env, IsProtected, "isProtected"));
  area.Set("exists", Napi::Function::New(env, Exists, "exists"));
  area.Set("getLimit", Napi::Function::New(env, GetLimit, "getLimit"));
  area.Set("setLimit", Napi::Function::New(env, SetLimit, "setLimit"));
  AddCloneCalls(env, area);  // clone, children: image/clones.cc
  area.Set("getId", Napi::Function::New(env, GetId, "getId"));
  area.Set("getName", Napi::Function::New(env, ById<ByIdWorker::Op::kGetName>, "getName"));
  area.Set("setById", Napi::Function::New(env, ById<ByIdWorker::Op::kSetById>, "setById"));
  area.Set("removeById", Napi::Function::New(env, ById<ByIdWorker::Op::kRemoveById>, "removeById"));
  exports.Set("snapshots", area);
}

}  // namespace xrbd
