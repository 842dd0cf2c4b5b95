// Trash: the librbd calls of this API area, exported as `binding.trash`.
// Every function takes the wrapped pool as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitTrash(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
