// MirrorImage: the librbd mirroring calls of this API area, exported as `binding.mirrorImage`.
// Every function takes the wrapped image as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitMirrorImage(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
