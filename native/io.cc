#include "io.h"

#include "image.h"
#include "util/args.h"
#include "util/worker.h"

namespace xrbd {

void InitIo(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  exports.Set("io", area);
}

}  // namespace xrbd
