#include "mirror/image.h"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"
#include "core/args.h"
#include "core/erange.h"
#include "mirror/peers.h"
#include "mirror/status.h"
#include "core/worker.h"

namespace xrbd {

namespace {

using ImagePtr = std::shared_ptr<ImageHandle>;

// enable(mode), disable(force), promote(force), demote(), resync(): no result.
class ActionWorker final : public PromiseWorker {
 public:
  enum class Action { kEnable, kDisable, kPromote, kDemote, kResync };
  ActionWorker(Napi::Env env, ImagePtr h, Action a, int mode, bool force)
      : PromiseWorker(env, "xrbd:mirrorImage"), h_(std::move(h)), action_(a), mode_(mode), force_(force) {}

 protected:
  int Run() override {
    switch (action_) {
      case Action::kEnable:
        op_ = "rbd_mirror_image_enable2";
        return rbd_mirror_image_enable2(h_->image, static_cast<rbd_mirror_image_mode_t>(mode_));
      case Action::kDisable:
        op_ = "rbd_mirror_image_disable";
        return rbd_mirror_image_disable(h_->image, force_);
      case Action::kPromote:
        op_ = "rbd_mirror_image_promote";
        return rbd_mirror_image_promote(h_->image, force_);
      case Action::kDemote:
        op_ = "rbd_mirror_image_demote";
        return rbd_mirror_image_demote(h_->image);
      case Action::kResync:
        op_ = "rbd_mirror_image_resync";
        return rbd_mirror_image_resync(h_->image);
    }
    return -EINVAL;
  }

 private:
  ImagePtr h_;
  Action action_;
  int mode_;
  bool force_;
};

// Owns what rbd_mirror_image_get_info filled in.
struct MirrorInfo final {
  rbd_mirror_image_info_t info{};
  bool filled = false;
  MirrorInfo() = default;
  MirrorInfo(const MirrorInfo&) = delete;
  MirrorInfo& operator=(const MirrorInfo&) = delete;
  ~MirrorInfo() {
    if (filled) rbd_mirror_image_get_info_cleanup(&info);
  }
};

class InfoWorker final : public PromiseWorker {
 public:
  InfoWorker(Napi::Env env, ImagePtr h) : PromiseWorker(env, "xrbd:mirrorImageInfo"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_mirror_image_get_info";
    int rc = rbd_mirror_image_get_info(h_->image, &info_.info, sizeof info_.info);
    info_.filled = rc >= 0;
    return rc;
  }
  Napi::Value Result(Napi::Env env) override { return MirrorInfoToJs(env, info_.info); }

 private:
  ImagePtr h_;
  MirrorInfo info_;
};

class ModeWorker final : public PromiseWorker {
 public:
  ModeWorker(Napi::Env env, ImagePtr h) : PromiseWorker(env, "xrbd:mirrorImageMode"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_mirror_image_get_mode";
    return rbd_mirror_image_get_mode(h_->image, &mode_);
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, static_cast<int>(mode_)); }

 private:
  ImagePtr h_;
  rbd_mirror_image_mode_t mode_{};
};

// The rbd-mirror instance that replays the image here; ENOENT when none does.
class InstanceIdWorker final : public PromiseWorker {
 public:
  InstanceIdWorker(Napi::Env env, ImagePtr h) : PromiseWorker(env, "xrbd:mirrorImageInstanceId"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_mirror_image_get_instance_id";
    int rc = GrowString(64, &id_,
                        [&](char* buf, size_t& len) { return rbd_mirror_image_get_instance_id(h_->image, buf, &len); });
    return rc < 0 ? rc : 0;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, id_); }

 private:
  ImagePtr h_;
  std::string id_;
};

class CreateSnapshotWorker final : public PromiseWorker {
 public:
  CreateSnapshotWorker(Napi::Env env, ImagePtr h, uint32_t flags)
      : PromiseWorker(env, "xrbd:mirrorImageCreateSnapshot"), h_(std::move(h)), flags_(flags) {}

 protected:
  int Run() override {
    op_ = "rbd_mirror_image_create_snapshot2";
    return rbd_mirror_image_create_snapshot2(h_->image, flags_, &snap_id_);
  }
  Napi::Value Result(Napi::Env env) override { return U64ToJs(env, snap_id_); }

 private:
  ImagePtr h_;
  uint32_t flags_;
  uint64_t snap_id_ = 0;
};

// Owns what rbd_mirror_image_get_global_status filled in.
struct GlobalStatus final {
  rbd_mirror_image_global_status_t status{};
  bool filled = false;
  GlobalStatus() = default;
  GlobalStatus(const GlobalStatus&) = delete;
  GlobalStatus& operator=(const GlobalStatus&) = delete;
  ~GlobalStatus() {
    if (filled) rbd_mirror_image_global_status_cleanup(&status);
  }
};

class GlobalStatusWorker final : public PromiseWorker {
 public:
  GlobalStatusWorker(Napi::Env env, ImagePtr h) : PromiseWorker(env, "xrbd:mirrorImageStatus"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_mirror_image_get_global_status";
    int rc = rbd_mirror_image_get_global_status(h_->image, &status_.status, sizeof status_.status);
    status_.filled = rc >= 0;
    return rc;
  }
  Napi::Value Result(Napi::Env env) override { return MirrorGlobalStatusToJs(env, status_.status); }

 private:
  ImagePtr h_;
  GlobalStatus status_;
};

// Owns a rados read op.
struct ReadOp final {
  rados_read_op_t op = rados_create_read_op();
  ReadOp() = default;
  ReadOp(const ReadOp&) = delete;
  ReadOp& operator=(const ReadOp&) = delete;
  ~ReadOp() { rados_release_read_op(op); }
};

// Read-only calls of the `journal` object class on the image's journal header
// (`journal.<image id>` in the image's pool), all in one read op: librbd has no
// C call for `rbd journal info/status`. The replies stay raw bytes; lib/ decodes them.
class JournalReadWorker final : public PromiseWorker {
 public:
  JournalReadWorker(Napi::Env env, ImagePtr h, std::vector<std::pair<std::string, std::string>> calls)
      : PromiseWorker(env, "xrbd:mirrorImageJournalRead"), h_(std::move(h)), calls_(std::move(calls)) {}
  ~JournalReadWorker() override {
    for (char* b : out_) rados_buffer_free(b);
  }

 protected:
  int Run() override {
    op_ = "rbd_get_id";
    int rc = GrowString(64, &id_, [&](char* buf, size_t& len) { return rbd_get_id(h_->image, buf, len); });
    if (rc < 0) return rc;
    ReadOp op;
    out_.assign(calls_.size(), nullptr);
    out_len_.assign(calls_.size(), 0);
    prval_.assign(calls_.size(), 0);
    for (size_t i = 0; i < calls_.size(); i++) {
      rados_read_op_exec(op.op, "journal", calls_[i].first.c_str(), calls_[i].second.data(), calls_[i].second.size(),
                         &out_[i], &out_len_[i], &prval_[i]);
    }
    op_ = "rados_read_op_operate(journal." + id_ + ")";
    rc = rados_read_op_operate(op.op, h_->pool->io, ("journal." + id_).c_str(), 0);
    if (rc < 0) return rc;
    for (size_t i = 0; i < calls_.size(); i++) {
      if (prval_[i] < 0) {
        op_ = "journal." + calls_[i].first;
        return prval_[i];
      }
    }
    return 0;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("imageId", id_);
    Napi::Array replies = Napi::Array::New(env, out_.size());
    for (size_t i = 0; i < out_.size(); i++) {
      replies.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, out_[i] != nullptr ? out_[i] : "", out_len_[i]));
    }
    o.Set("replies", replies);
    return o;
  }

 private:
  ImagePtr h_;
  std::vector<std::pair<std::string, std::string>> calls_;
  std::string id_;
  std::vector<char*> out_;
  std::vector<size_t> out_len_;
  std::vector<int> prval_;
};

// The tails of the journal's data objects: for each oid, its size (-1 when it
// does not exist) and its last `max` bytes. Appends to a journal object are
// whole entries, so a tail read at a size seen by stat ends on an entry boundary.
class JournalTailWorker final : public PromiseWorker {
 public:
  JournalTailWorker(Napi::Env env, ImagePtr h, int64_t pool_id, std::vector<std::string> oids, uint64_t max)
      : PromiseWorker(env, "xrbd:mirrorImageJournalTail"), h_(std::move(h)), pool_id_(pool_id), oids_(std::move(oids)), max_(max) {}
  ~JournalTailWorker() override {
    if (own_io_ != nullptr) rados_ioctx_destroy(own_io_);
  }

 protected:
  int Run() override {
    rados_ioctx_t io = h_->pool->io;
    if (pool_id_ >= 0 && pool_id_ != rados_ioctx_get_id(io)) {
      // A journal pool of its own (rbd_journal_pool).
      op_ = "rados_ioctx_create2";
      int rc = rados_ioctx_create2(h_->pool->cluster->cluster, pool_id_, &own_io_);
      if (rc < 0) return rc;
      io = own_io_;
    }
    for (const std::string& oid : oids_) {
      uint64_t size = 0;
      time_t mtime = 0;
      op_ = "rados_stat(" + oid + ")";
      int rc = rados_stat(io, oid.c_str(), &size, &mtime);
      if (rc == -ENOENT) {
        sizes_.push_back(-1);
        tails_.emplace_back();
        continue;
      }
      if (rc < 0) return rc;
      uint64_t len = size < max_ ? size : max_;
      std::string buf(len, '\0');
      op_ = "rados_read(" + oid + ")";
      rc = len == 0 ? 0 : rados_read(io, oid.c_str(), buf.data(), len, size - len);
      if (rc < 0) return rc;
      buf.resize(static_cast<size_t>(rc));
      sizes_.push_back(static_cast<int64_t>(size));
      tails_.push_back(std::move(buf));
    }
    return 0;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, oids_.size());
    for (size_t i = 0; i < sizes_.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("size", Napi::Number::New(env, static_cast<double>(sizes_[i])));
      o.Set("tail", Napi::Buffer<char>::Copy(env, tails_[i].data(), tails_[i].size()));
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  }

 private:
  ImagePtr h_;
  int64_t pool_id_;
  std::vector<std::string> oids_;
  uint64_t max_;
  rados_ioctx_t own_io_ = nullptr;
  std::vector<int64_t> sizes_;
  std::vector<std::string> tails_;
};

// The name of a pool of the image's cluster, by id (rados_pool_reverse_lookup).
class PoolNameWorker final : public PromiseWorker {
 public:
  PoolNameWorker(Napi::Env env, ImagePtr h, int64_t id)
      : PromiseWorker(env, "xrbd:mirrorImagePoolName"), h_(std::move(h)), id_(id) {}

 protected:
  int Run() override {
    op_ = "rados_pool_reverse_lookup";
    int rc = GrowString(128, &name_, [&](char* buf, size_t& len) {
      return rados_pool_reverse_lookup(h_->pool->cluster->cluster, id_, buf, len);
    });
    return rc < 0 ? rc : 0;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, name_); }

 private:
  ImagePtr h_;
  int64_t id_;
  std::string name_;
};

template <typename W, typename... Args>
Napi::Value StartOn(const Napi::CallbackInfo& info, const char* op, Args&&... args) {
  auto h = ImageWrap::FromArg(info, 0, op);
  auto* w = new W(info.Env(), std::move(h), std::forward<Args>(args)...);
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value Enable(const Napi::CallbackInfo& info) {
  int mode = static_cast<int>(U32Arg(info, 1, "mode"));
  return StartOn<ActionWorker>(info, "rbd_mirror_image_enable2", ActionWorker::Action::kEnable, mode, false);
}
Napi::Value Disable(const Napi::CallbackInfo& info) {
  bool force = BoolArg(info, 1, "force");
  return StartOn<ActionWorker>(info, "rbd_mirror_image_disable", ActionWorker::Action::kDisable, 0, force);
}
Napi::Value Promote(const Napi::CallbackInfo& info) {
  bool force = BoolArg(info, 1, "force");
  return StartOn<ActionWorker>(info, "rbd_mirror_image_promote", ActionWorker::Action::kPromote, 0, force);
}
Napi::Value Demote(const Napi::CallbackInfo& info) {
  return StartOn<ActionWorker>(info, "rbd_mirror_image_demote", ActionWorker::Action::kDemote, 0, false);
}
Napi::Value Resync(const Napi::CallbackInfo& info) {
  return StartOn<ActionWorker>(info, "rbd_mirror_image_resync", ActionWorker::Action::kResync, 0, false);
}
Napi::Value Info(const Napi::CallbackInfo& info) { return StartOn<InfoWorker>(info, "rbd_mirror_image_get_info"); }
Napi::Value Mode(const Napi::CallbackInfo& info) { return StartOn<ModeWorker>(info, "rbd_mirror_image_get_mode"); }
Napi::Value InstanceId(const Napi::CallbackInfo& info) {
  return StartOn<InstanceIdWorker>(info, "rbd_mirror_image_get_instance_id");
}
Napi::Value CreateSnapshot(const Napi::CallbackInfo& info) {
  uint32_t flags = U32Arg(info, 1, "flags");
  return StartOn<CreateSnapshotWorker>(info, "rbd_mirror_image_create_snapshot2", flags);
}
Napi::Value GlobalStatus_(const Napi::CallbackInfo& info) {
  return StartOn<GlobalStatusWorker>(info, "rbd_mirror_image_get_global_status");
}
// The mirror peers of the image's pool, to name the sites of a global status.
Napi::Value PeerSites(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_mirror_peer_site_list");
  return StartOnFirstArg(info, NewPeerSiteListWorker(info.Env(), h->pool, "xrbd:mirrorImagePeerSites"));
}

// journalRead(image, [[method, Buffer input], ...]) → { imageId, replies: Buffer[] }
Napi::Value JournalRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array arr = ArrayArg(info, 1, "calls");
  std::vector<std::pair<std::string, std::string>> calls;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value c = arr.Get(i);
    if (!c.IsArray() || c.As<Napi::Array>().Length() != 2) throw Napi::TypeError::New(env, "each call must be [method, Buffer]");
    Napi::Value m = c.As<Napi::Array>().Get(0u), in = c.As<Napi::Array>().Get(1u);
    if (!m.IsString() || !in.IsBuffer()) throw Napi::TypeError::New(env, "each call must be [method, Buffer]");
    auto b = in.As<Napi::Buffer<char>>();
    calls.emplace_back(m.As<Napi::String>().Utf8Value(), std::string(b.Data(), b.Length()));
  }
  return StartOn<JournalReadWorker>(info, "rados_read_op_exec", std::move(calls));
}

// journalTail(image, poolId, oids, maxBytes) → [{ size, tail }]
Napi::Value JournalTail(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[1].IsNumber() || !info[2].IsArray()) throw Napi::TypeError::New(env, "journalTail(image, poolId, oids, maxBytes)");
  int64_t pool_id = info[1].As<Napi::Number>().Int64Value();
  Napi::Array arr = info[2].As<Napi::Array>();
  std::vector<std::string> oids;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "each oid must be a string");
    oids.push_back(v.As<Napi::String>().Utf8Value());
  }
  uint64_t max = U64Arg(info, 3, "maxBytes");
  return StartOn<JournalTailWorker>(info, "rados_read", pool_id, std::move(oids), max);
}

Napi::Value PoolName(const Napi::CallbackInfo& info) {
  int64_t id = Int64Arg(info, 1, "pool id");
  return StartOn<PoolNameWorker>(info, "rados_pool_reverse_lookup", id);
}

}  // namespace

void InitMirrorImage(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("enable", Napi::Function::New(env, Enable, "enable"));
  area.Set("disable", Napi::Function::New(env, Disable, "disable"));
  area.Set("promote", Napi::Function::New(env, Promote, "promote"));
  area.Set("demote", Napi::Function::New(env, Demote, "demote"));
  area.Set("resync", Napi::Function::New(env, Resync, "resync"));
  area.Set("info", Napi::Function::New(env, Info, "info"));
  area.Set("mode", Napi::Function::New(env, Mode, "mode"));
  area.Set("instanceId", Napi::Function::New(env, InstanceId, "instanceId"));
  area.Set("createSnapshot", Napi::Function::New(env, CreateSnapshot, "createSnapshot"));
  area.Set("globalStatus", Napi::Function::New(env, GlobalStatus_, "globalStatus"));
  area.Set("peerSites", Napi::Function::New(env, PeerSites, "peerSites"));
  area.Set("journalRead", Napi::Function::New(env, JournalRead, "journalRead"));
  area.Set("journalTail", Napi::Function::New(env, JournalTail, "journalTail"));
  area.Set("poolName", Napi::Function::New(env, PoolName, "poolName"));
  exports.Set("mirrorImage", area);
}

}  // namespace xrbd
