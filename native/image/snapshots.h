// Snapshots: the librbd calls of this API area, exported as `binding.snapshots`.
// Every function takes the wrapped image as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitSnapshots(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
