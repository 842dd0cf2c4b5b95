#include "diff.h"

#include "image.h"
#include "util/args.h"
#include "util/worker.h"

namespace xrbd {

void InitDiff(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  exports.Set("diff", area);
}

}  // namespace xrbd
