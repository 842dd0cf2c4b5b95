#include "cluster/cluster.h"

#include <string>
#include <utility>
#include <vector>

#include "pool/pool.h"
#include "core/args.h"
#include "core/erange.h"

namespace xrbd {

namespace {

// rados_create2 → conf file → options → rados_connect, all on a worker thread:
// reading the conf touches the disk and connecting waits on the monitors (up to
// client_mount_timeout, which lib/ sets from the caller's connect timeout).
class ConnectWorker final : public PromiseWorker {
 public:
  ConnectWorker(Napi::Env env, ClusterWrap* wrap) : PromiseWorker(env, "xrbd:connect"), wrap_(wrap) {}

  std::string cluster_name, user_name, conf_path;
  bool has_conf = false;
  std::vector<std::pair<std::string, std::string>> config;

 protected:
  int Run() override {
    auto h = std::make_shared<RadosHandle>();
    op_ = "rados_create2";
    int rc = rados_create2(&h->cluster, cluster_name.c_str(), user_name.c_str(), 0);
    if (rc < 0) {
      h->cluster = nullptr;
      return rc;
    }
    if (has_conf) {
      op_ = "rados_conf_read_file";
      rc = rados_conf_read_file(h->cluster, conf_path.empty() ? nullptr : conf_path.c_str());
      if (rc < 0) return rc;  // h's destructor shuts the unconnected client down, here
    }
    for (const auto& kv : config) {
      op_ = "rados_conf_set(" + kv.first + ")";
      rc = rados_conf_set(h->cluster, kv.first.c_str(), kv.second.c_str());
      if (rc < 0) return rc;
    }
    op_ = "rados_connect";
    rc = rados_connect(h->cluster);
    if (rc < 0) {
      // Where librados looked for keys ($cluster/$name expanded), so that lib/ can
      // tell a key it cannot parse (a newer cephx key type) from other failures.
      // Paths only: a key itself never goes into an error.
      char buf[4096] = {0};
      if (rados_conf_get(h->cluster, "keyring", buf, sizeof buf) == 0) keyring_ = buf;
      connect_rc_ = rc;
      return 0;  // rejected in Result(), with the keyring paths attached
    }
    h_ = std::move(h);
    return 0;
  }

  Napi::Value Result(Napi::Env env) override {
    if (connect_rc_ < 0) {
      Napi::Error e = ErrnoError(env, connect_rc_, "rados_connect");
      e.Set("keyring", Napi::String::New(env, keyring_));
      throw e;
    }
    ExitGuard::Arm();  // after connecting: see util/exit_guard.h for why then
    wrap_->Adopt(std::move(h_));
    return env.Undefined();
  }

 private:
  ClusterWrap* wrap_;  // kept alive by Pin(this)
  std::shared_ptr<RadosHandle> h_;
  int connect_rc_ = 0;
  std::string keyring_;
};

class OpenPoolWorker final : public PromiseWorker {
 public:
  OpenPoolWorker(Napi::Env env, std::shared_ptr<RadosHandle> c, std::string pool, std::string ns)
      : PromiseWorker(env, "xrbd:openPool"),
        h_(std::make_shared<IoCtxHandle>(std::move(c))),
        pool_(std::move(pool)),
        ns_(std::move(ns)) {}

 protected:
  int Run() override {
    op_ = "rados_ioctx_create";
    int rc = rados_ioctx_create(h_->cluster->cluster, pool_.c_str(), &h_->io);
    if (rc < 0) {
      h_->io = nullptr;
      h_.reset();
      return rc;
    }
    rados_ioctx_set_namespace(h_->io, ns_.c_str());
    return 0;
  }

  Napi::Value Result(Napi::Env env) override { return PoolWrap::NewInstance(env, std::move(h_)); }

 private:
  std::shared_ptr<IoCtxHandle> h_;
  std::string pool_, ns_;
};

}  // namespace

Napi::Function ClusterWrap::Init(Napi::Env env) {
  return DefineClass(env, "NativeCluster",
                     {
                         InstanceMethod<&ClusterWrap::Connect>("connect"),
                         InstanceMethod<&ClusterWrap::Fsid>("fsid"),
                         InstanceMethod<&ClusterWrap::InstanceId>("instanceId"),
                         InstanceMethod<&ClusterWrap::OpenPool>("openPool"),
                         InstanceMethod<&ClusterWrap::ConfGet>("confGet"),
                         InstanceMethod<&ClusterWrap::ConfSet>("confSet"),
                         InstanceMethod<&ClusterWrap::CloseCluster>("close"),
                         InstanceAccessor<&ClusterWrap::IsOpenGetter>("isOpen"),
                     });
}

// connect({ clusterName, name, confPath?: string | null, config: [key, value][] })
Napi::Value ClusterWrap::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (handle_) throw ErrnoError(env, EISCONN, "rados_connect");
  Napi::Object opts = ObjectArg(info, 0, "options");
  auto* w = new ConnectWorker(env, this);
  try {
    w->cluster_name = opts.Get("clusterName").As<Napi::String>().Utf8Value();
    w->user_name = opts.Get("name").As<Napi::String>().Utf8Value();
    Napi::Value conf = opts.Get("confPath");
    if (conf.IsString()) {
      w->has_conf = true;
      w->conf_path = conf.As<Napi::String>().Utf8Value();
    } else if (conf.IsNull()) {
      w->has_conf = true;  // null: the default search path, as the rbd CLI does
    }
    Napi::Array config = opts.Get("config").As<Napi::Array>();
    for (uint32_t i = 0; i < config.Length(); i++) {
      Napi::Array kv = config.Get(i).As<Napi::Array>();
      w->config.emplace_back(kv.Get(0u).As<Napi::String>().Utf8Value(),
                             kv.Get(1u).As<Napi::String>().Utf8Value());
    }
  } catch (...) {
    delete w;
    throw;
  }
  w->Pin(info.This());
  return w->Start();
}

Napi::Value ClusterWrap::Fsid(const Napi::CallbackInfo& info) {
  auto h = Handle(info.Env(), "rados_cluster_fsid");
  char buf[64];
  int rc = rados_cluster_fsid(h->cluster, buf, sizeof buf);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "rados_cluster_fsid");
  return Napi::String::New(info.Env(), buf, static_cast<size_t>(rc));
}

Napi::Value ClusterWrap::InstanceId(const Napi::CallbackInfo& info) {
  auto h = Handle(info.Env(), "rados_get_instance_id");
  return U64ToJs(info.Env(), rados_get_instance_id(h->cluster));
}

// openPool(name, namespace) → Promise<NativePool>
Napi::Value ClusterWrap::OpenPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string pool = StringArg(info, 0, "pool name");
  std::string ns = OptionalStringArg(info, 1, "namespace");
  auto cluster = Handle(env, "rados_ioctx_create");
  auto* w = new OpenPoolWorker(env, std::move(cluster), pool, ns);
  w->Pin(info.This());
  return w->Start();
}

// Reading and setting this client's configuration is local: no worker needed.
Napi::Value ClusterWrap::ConfGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env, "rados_conf_get");
  std::string key = StringArg(info, 0, "option name");
  std::string value;
  // Too small a buffer is -ENAMETOOLONG here, with no size: GrowString doubles it.
  int rc = GrowString(256, &value, [&](char* buf, size_t& len) {
    int r = rados_conf_get(h->cluster, key.c_str(), buf, len);
    return r == -ENAMETOOLONG ? -ERANGE : r;
  });
  if (rc < 0) throw ErrnoError(env, rc, "rados_conf_get");
  return Napi::String::New(env, value);
}

Napi::Value ClusterWrap::ConfSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = Handle(env, "rados_conf_set");
  std::string key = StringArg(info, 0, "option name");
  std::string value = StringArg(info, 1, "option value");
  int rc = rados_conf_set(h->cluster, key.c_str(), value.c_str());
  if (rc < 0) throw ErrnoError(env, rc, "rados_conf_set");
  return env.Undefined();
}

Napi::Value Versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int maj = 0, min = 0, extra = 0;
  Napi::Object out = Napi::Object::New(env);
  rados_version(&maj, &min, &extra);
  out.Set("rados", std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(extra));
  rbd_version(&maj, &min, &extra);
  out.Set("rbd", std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(extra));
  out.Set("rbdHeader", std::to_string(LIBRBD_VER_MAJOR) + "." + std::to_string(LIBRBD_VER_MINOR) + "." +
                           std::to_string(LIBRBD_VER_EXTRA));
  return out;
}

}  // namespace xrbd
