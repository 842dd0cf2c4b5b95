// Pool config: pool metadata and librbd config overrides of a pool, exported as `binding.poolConfig`.
// Every function takes the wrapped pool as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitPoolConfig(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
