// Admin: cluster-wide librados calls (pools, usage, monitor and manager
// commands), exported as `binding.admin`. Every function takes the wrapped
// cluster as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitAdmin(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
