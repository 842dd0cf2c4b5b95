#include "trash.h"

#include "pool.h"
#include "util/args.h"
#include "util/worker.h"

namespace xrbd {

void InitTrash(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  exports.Set("trash", area);
}

}  // namespace xrbd
