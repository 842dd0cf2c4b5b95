// Module entry: registers the wrapped classes and the teardown hook.
#include <napi.h>

#include "cluster/admin.h"
#include "cluster/capabilities.h"
#include "cluster/cluster.h"
#include "core/constants.h"
#include "image/diff.h"
#include "pool/groups.h"
#include "image/image.h"
#include "image/io.h"
#include "image/metadata.h"
#include "mirror/image.h"
#include "mirror/pool.h"
#include "pool/namespaces.h"
#include "pool/pool.h"
#include "image/snapshots.h"
#include "pool/trash.h"
#include "image/watch.h"
#include "core/registry.h"
#include "image/locks.h"
#include "image/maintenance.h"
#include "pool/stats.h"
#include "image/config.h"
#include "image/encryption.h"
#include "pool/config.h"
#include "pool/migration.h"

namespace xrbd {

namespace {

void Teardown(void* arg) { static_cast<Registry*>(arg)->ReleaseAll(); }

// liveHandles(): a debug count for the leak and finalisation tests. `wrappers`:
// JS-visible handle objects of this environment not yet finalised; `handles`:
// the RAII librados/librbd handles alive in the whole process.
Napi::Value LiveHandles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Registry& r = *GetAddonData(env)->registry;
  Napi::Object wrappers = Napi::Object::New(env);
  for (const char* kind : {"cluster", "pool", "image"}) wrappers.Set(kind, static_cast<double>(r.Count(kind)));
  size_t c = 0, p = 0, i = 0;
  ExitGuard::Counts(&c, &p, &i);
  Napi::Object handles = Napi::Object::New(env);
  handles.Set("cluster", static_cast<double>(c));
  handles.Set("pool", static_cast<double>(p));
  handles.Set("image", static_cast<double>(i));
  Napi::Object out = Napi::Object::New(env);
  out.Set("wrappers", wrappers);
  out.Set("handles", handles);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by Node at teardown
  data->aio = AioBridge::Create(env);

  Napi::Function cluster = ClusterWrap::Init(env);
  Napi::Function pool = PoolWrap::Init(env);
  Napi::Function image = ImageWrap::Init(env);
  data->cluster_ctor = Napi::Persistent(cluster);
  data->pool_ctor = Napi::Persistent(pool);
  data->image_ctor = Napi::Persistent(image);

  // Keep the registry alive for the hook even if the instance data goes first.
  auto* keep = new std::shared_ptr<Registry>(data->registry);
  napi_add_env_cleanup_hook(
      env,
      [](void* p) {
        auto* sp = static_cast<std::shared_ptr<Registry>*>(p);
        Teardown(sp->get());
        delete sp;
      },
      keep);

  exports.Set("Cluster", cluster);
  exports.Set("Pool", pool);
  exports.Set("Image", image);
  exports.Set("versions", Napi::Function::New<Versions>(env, "versions"));
  exports.Set("liveHandles", Napi::Function::New<LiveHandles>(env, "liveHandles"));
  InitConstants(env, exports);  // librbd/librados enum and flag values, from the headers

  // API areas: plain functions taking a wrapped handle first.
  InitCapabilities(env, exports);
  InitAdmin(env, exports);
  InitSnapshots(env, exports);
  InitMetadata(env, exports);
  InitTrash(env, exports);
  InitNamespaces(env, exports);
  InitGroups(env, exports);
  InitMirrorPool(env, exports);
  InitMirrorImage(env, exports);
  InitIo(env, exports);
  InitDiff(env, exports);
  InitWatch(env, exports);
  InitLocks(env, exports);
  InitMaintenance(env, exports);
  InitPoolStats(env, exports);
  InitPoolConfig(env, exports);
  InitImageConfig(env, exports);
  InitEncryption(env, exports);
  InitMigration(env, exports);
  return exports;
}

}  // namespace

}  // namespace xrbd

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return xrbd::Init(env, exports); }

NODE_API_MODULE(xrbd, InitAddon)
