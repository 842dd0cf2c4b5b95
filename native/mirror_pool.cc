#include "mirror_pool.h"

#include "pool.h"
#include "util/args.h"
#include "util/worker.h"

namespace xrbd {

void InitMirrorPool(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  exports.Set("mirrorPool", area);
}

}  // namespace xrbd
