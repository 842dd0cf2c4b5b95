// Maintenance: librbd calls of this API area, exported as `binding.maintenance`.
// Every function takes the wrapped image as its first argument.
#pragma once

#include <napi.h>

namespace xrbd {

void InitMaintenance(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
