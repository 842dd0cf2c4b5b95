// Locks: librbd calls of this API area, exported as `binding.locks`.
// Every function takes the wrapped image as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitLocks(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
