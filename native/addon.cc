// Module entry: registers the wrapped classes and the teardown hook.
#include <napi.h>

#include "admin.h"
#include "cluster.h"
#include "diff.h"
#include "groups.h"
#include "image.h"
#include "io.h"
#include "metadata.h"
#include "mirror_image.h"
#include "mirror_pool.h"
#include "namespaces.h"
#include "pool.h"
#include "snapshots.h"
#include "trash.h"
#include "watch.h"
#include "util/registry.h"

namespace xrbd {

namespace {

void Teardown(void* arg) { static_cast<Registry*>(arg)->ReleaseAll(); }

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

  // API areas: plain functions taking a wrapped handle first.
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
  return exports;
}

}  // namespace

}  // namespace xrbd

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return xrbd::Init(env, exports); }

NODE_API_MODULE(xrbd, InitAddon)
