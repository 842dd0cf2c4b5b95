// Live migration: rbd_migration_* on a pool's ioctx, exported as `binding.migration`.
#pragma once

#include <napi.h>

namespace xrbd {

void InitMigration(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
