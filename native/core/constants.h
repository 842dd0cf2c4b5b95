// constants: the header values lib/core/constants.ts names (`binding.constants`).
#pragma once

#include <napi.h>

namespace xrbd {

void InitConstants(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
