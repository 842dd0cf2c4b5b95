#include "cluster/admin.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "cluster/cluster.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/worker.h"

namespace xrbd {

namespace {

using Rados = std::shared_ptr<RadosHandle>;

class ListPoolsWorker final : public PromiseWorker {
 public:
  ListPoolsWorker(Napi::Env env, Rados c) : PromiseWorker(env, "xrbd:listPools"), c_(std::move(c)) {}

 protected:
  int Run() override {
    // The list `ceph osd pool ls` gives is of the cluster's latest osdmap; librados
    // lists from the map this client last received, which misses a pool another
    // client has just created (seen in the suite): fetch the latest map first.
    // rados_wait_for_latest_osdmap asks the monitor for the map's version with no
    // timeout (rados_mon_op_timeout bounds mon commands, not that request): on a site
    // whose monitor is frozen it never returns. With an operation timeout set
    // (operationTimeoutMs), a mon command bounded by it goes first, so that an
    // unresponsive monitor answers ETIMEDOUT instead of a call that hangs.
    if (char t[32] = {0}; rados_conf_get(c_->cluster, "rados_mon_op_timeout", t, sizeof t) == 0 && std::atof(t) > 0) {
      op_ = "rados_mon_command";
      const char* cmd[] = {"{\"prefix\": \"osd stat\", \"format\": \"json\"}"};
      char* outbuf = nullptr;
      char* outs = nullptr;
      size_t outbuf_len = 0, outs_len = 0;
      int rc = rados_mon_command(c_->cluster, cmd, 1, nullptr, 0, &outbuf, &outbuf_len, &outs, &outs_len);
      rados_buffer_free(outbuf);
      rados_buffer_free(outs);
      if (rc == -ETIMEDOUT) return rc;  // other refusals (e.g. caps): the osdmap wait below decides
    }
    op_ = "rados_wait_for_latest_osdmap";
    if (int rc = rados_wait_for_latest_osdmap(c_->cluster); rc < 0) return rc;
    op_ = "rados_pool_list";
    size_t len = 1024;
    // No -ERANGE here: a list longer than the buffer answers the length it needs.
    int rc = GrowRetry(len, 1, [&](size_t& cap) {
      buf_.assign(cap, '\0');
      int r = rados_pool_list(c_->cluster, buf_.data(), buf_.size());
      if (r < 0 || static_cast<size_t>(r) <= buf_.size()) return r < 0 ? r : 0;
      cap = static_cast<size_t>(r);
      return -ERANGE;
    });
    return rc;
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env);
    // NUL-separated names, ending with an empty one.
    for (const char* p = buf_.data(); p < buf_.data() + buf_.size() && *p != '\0'; p += std::strlen(p) + 1) {
      out.Set(out.Length(), p);
    }
    return out;
  }

 private:
  Rados c_;
  std::string buf_;
};

// create / delete / lookup: one pool name in, an int64 out.
class PoolNameWorker final : public PromiseWorker {
 public:
  enum Kind { kCreate, kDelete, kLookup };
  PoolNameWorker(Napi::Env env, Rados c, Kind k, std::string name)
      : PromiseWorker(env, "xrbd:pool"), c_(std::move(c)), kind_(k), name_(std::move(name)) {}

 protected:
  int Run() override {
    switch (kind_) {
      case kCreate:
        op_ = "rados_pool_create";
        return rados_pool_create(c_->cluster, name_.c_str());
      case kDelete:
        op_ = "rados_pool_delete";
        return rados_pool_delete(c_->cluster, name_.c_str());
      case kLookup: {
        op_ = "rados_pool_lookup";
        int64_t id = rados_pool_lookup(c_->cluster, name_.c_str());
        if (id < 0) return static_cast<int>(id);
        id_ = id;
        return 0;
      }
    }
    return -EINVAL;
  }
  Napi::Value Result(Napi::Env env) override {
    return kind_ == kLookup ? Napi::Number::New(env, static_cast<double>(id_)) : env.Undefined();
  }

 private:
  Rados c_;
  Kind kind_;
  std::string name_;
  int64_t id_ = -1;
};

class ClusterStatWorker final : public PromiseWorker {
 public:
  ClusterStatWorker(Napi::Env env, Rados c) : PromiseWorker(env, "xrbd:clusterStat"), c_(std::move(c)) {}

 protected:
  int Run() override {
    op_ = "rados_cluster_stat";
    return rados_cluster_stat(c_->cluster, &st_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("kb", U64ToJs(env, st_.kb));
    o.Set("kbUsed", U64ToJs(env, st_.kb_used));
    o.Set("kbAvail", U64ToJs(env, st_.kb_avail));
    o.Set("numObjects", U64ToJs(env, st_.num_objects));
    return o;
  }

 private:
  Rados c_;
  rados_cluster_stat_t st_{};
};

// A JSON command to the monitors or the active manager, as the ceph CLI sends it.
class CommandWorker final : public PromiseWorker {
 public:
  CommandWorker(Napi::Env env, Rados c, bool mgr, std::string cmd, std::string input)
      : PromiseWorker(env, "xrbd:command"), c_(std::move(c)), mgr_(mgr), cmd_(std::move(cmd)), in_(std::move(input)) {}

 protected:
  int Run() override {
    const char* cmds[] = {cmd_.c_str()};
    char *outbuf = nullptr, *outs = nullptr;
    size_t outbuf_len = 0, outs_len = 0;
    op_ = mgr_ ? "rados_mgr_command" : "rados_mon_command";
    int rc = (mgr_ ? rados_mgr_command : rados_mon_command)(c_->cluster, cmds, 1, in_.data(), in_.size(), &outbuf,
                                                             &outbuf_len, &outs, &outs_len);
    if (outbuf != nullptr) {
      out_.assign(outbuf, outbuf_len);
      rados_buffer_free(outbuf);
    }
    if (outs != nullptr) {
      status_.assign(outs, outs_len);
      rados_buffer_free(outs);
    }
    rc_ = rc;
    return 0;  // lib/ decides what a failed command means; it gets rc and the status text
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("rc", rc_);
    o.Set("output", Napi::String::New(env, out_));
    o.Set("status", Napi::String::New(env, status_));
    return o;
  }

 private:
  Rados c_;
  bool mgr_;
  std::string cmd_, in_, out_, status_;
  int rc_ = 0;
};

Napi::Value ListPools(const Napi::CallbackInfo& info) {
  auto* w = new ListPoolsWorker(info.Env(), ClusterWrap::FromArg(info, 0, "rados_pool_list"));
  w->Pin(info[0]);
  return w->Start();
}

template <PoolNameWorker::Kind K>
Napi::Value PoolByName(const Napi::CallbackInfo& info) {
  auto c = ClusterWrap::FromArg(info, 0, "rados_pool");
  auto* w = new PoolNameWorker(info.Env(), std::move(c), K, StringArg(info, 1, "pool name"));
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value ClusterStat(const Napi::CallbackInfo& info) {
  auto* w = new ClusterStatWorker(info.Env(), ClusterWrap::FromArg(info, 0, "rados_cluster_stat"));
  w->Pin(info[0]);
  return w->Start();
}

template <bool Mgr>
Napi::Value Command(const Napi::CallbackInfo& info) {
  auto c = ClusterWrap::FromArg(info, 0, Mgr ? "rados_mgr_command" : "rados_mon_command");
  std::string cmd = StringArg(info, 1, "command");
  std::string input = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  auto* w = new CommandWorker(info.Env(), std::move(c), Mgr, std::move(cmd), std::move(input));
  w->Pin(info[0]);
  return w->Start();
}

}  // namespace

void InitAdmin(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("listPools", Napi::Function::New(env, ListPools, "listPools"));
  area.Set("createPool", Napi::Function::New(env, PoolByName<PoolNameWorker::kCreate>, "createPool"));
  area.Set("deletePool", Napi::Function::New(env, PoolByName<PoolNameWorker::kDelete>, "deletePool"));
  area.Set("lookupPool", Napi::Function::New(env, PoolByName<PoolNameWorker::kLookup>, "lookupPool"));
  area.Set("clusterStat", Napi::Function::New(env, ClusterStat, "clusterStat"));
  area.Set("monCommand", Napi::Function::New(env, Command<false>, "monCommand"));
  area.Set("mgrCommand", Napi::Function::New(env, Command<true>, "mgrCommand"));
  exports.Set("admin", area);
}

}  // namespace xrbd
