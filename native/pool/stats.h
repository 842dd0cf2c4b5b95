// Pool stats: librbd calls of this API area, exported as `binding.poolStats`.
// Every function takes the wrapped pool as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitPoolStats(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
