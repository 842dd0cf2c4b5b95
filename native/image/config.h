// Image config: an image's effective librbd options, exported as `binding.imageConfig`.
#pragma once

#include <napi.h>

namespace xrbd {

void InitImageConfig(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
