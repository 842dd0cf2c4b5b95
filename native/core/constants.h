// binding.constants: librbd's and librados's enum and flag values, taken from
// the headers the addon is compiled against, each group mapping the full C
// name to its number (constants.mirrorMode.RBD_MIRROR_MODE_POOL === 2).
// lib/core/constants.ts gives them their TypeScript names, once.
#pragma once

#include <napi.h>

namespace xrbd {

void InitConstants(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
