// Namespaces: the librbd calls of this API area, exported as `binding.namespaces`.
// Every function takes the wrapped pool as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitNamespaces(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
