// Watch: rbd_update_watch / rbd_update_unwatch, exported as `binding.watch`.
// watch(image, onUpdate) resolves with an opaque registration that
// unwatch(registration) ends; lib/image/watch.ts turns it into the image's
// 'update' event.
#pragma once

#include <napi.h>

namespace xrbd {

void InitWatch(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
