#include "groups.h"

#include "pool.h"
#include "util/args.h"
#include "util/worker.h"

namespace xrbd {

void InitGroups(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  exports.Set("groups", area);
}

}  // namespace xrbd
