// Clones of a snapshot: binding.snapshots.clone (rbd_clone3) and .children
// (rbd_list_children3 / rbd_list_descendants).
#pragma once

#include <napi.h>

namespace xrbd {

// Sets snapshots.clone and snapshots.children on `area`.
void AddCloneCalls(Napi::Env env, Napi::Object area);

}  // namespace xrbd
