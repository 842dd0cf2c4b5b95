// Encryption: LUKS formatting and loading of an image, exported as `binding.encryption`.
#pragma once

#include <napi.h>

namespace xrbd {

void InitEncryption(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
