#include "mirror_image.h"

#include "image.h"
#include "util/args.h"
#include "util/worker.h"

namespace xrbd {

void InitMirrorImage(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  exports.Set("mirrorImage", area);
}

}  // namespace xrbd
