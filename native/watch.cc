#include "watch.h"

#include "image.h"
#include "util/args.h"
#include "util/worker.h"

namespace xrbd {

void InitWatch(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  exports.Set("watch", area);
}

}  // namespace xrbd
