// Diff: rbd_diff_iterate2, exported as `binding.diff`.
// iterate(image, fromSnap|null, offset, length, wholeObject, maxExtents) lists
// one window's extents; lib/image/diff.ts walks the windows and builds
// image.diff() and exportDiff() on it.
#pragma once

#include <napi.h>

namespace xrbd {

void InitDiff(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
