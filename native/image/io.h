// Io: librbd calls of this API area, exported as `binding.io`.
// Every function takes the wrapped image as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitIo(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
