#include "snapshots.h"

#include "image.h"
#include "util/args.h"
#include "util/worker.h"

namespace xrbd {

void InitSnapshots(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  exports.Set("snapshots", area);
}

}  // namespace xrbd
