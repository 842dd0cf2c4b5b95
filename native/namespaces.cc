#include "namespaces.h"

#include "pool.h"
#include "util/args.h"
#include "util/worker.h"

namespace xrbd {

void InitNamespaces(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  exports.Set("namespaces", area);
}

}  // namespace xrbd
