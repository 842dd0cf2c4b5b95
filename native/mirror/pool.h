// MirrorPool: the librbd mirroring calls of this API area, exported as `binding.mirrorPool`.
// Every function takes the wrapped pool as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitMirrorPool(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
