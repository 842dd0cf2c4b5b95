// Metadata: the librbd calls of this API area, exported as `binding.metadata`.
// Every function takes the wrapped image as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitMetadata(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
