// Errors thrown or rejected by the addon.
//
// The addon stays dumb: a failed librados/librbd call becomes a plain Error with
// `errno` (positive) and `op` (the C function that failed). lib/core/errors.ts turns it
// into an RbdError subclass with `code` and the pool/image names, which only the
// TypeScript layer knows how to present.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace xrbd {

// The return code GrowRetry (core/erange.h) gives when librbd's answer does not
// fit even in the largest buffer it may allocate: no errno, so that ErrnoError
// can tell it from librbd's own ERANGE and say so.
constexpr int kOutgrewBufferCap = -(1 << 20);

// Build (do not throw) the error for a negative return code of `op`.
inline Napi::Error ErrnoError(Napi::Env env, int rc, const std::string& op) {
  const bool outgrew = rc == kOutgrewBufferCap;
  const int err = outgrew ? ERANGE : rc < 0 ? -rc : rc;
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  std::string text = strerror_r(err, buf, sizeof buf);
  if (outgrew) text += " (the answer did not fit in the addon's 64 MiB buffer cap)";
  Napi::Error e = Napi::Error::New(env, op + ": " + text);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("op", Napi::String::New(env, op));
  return e;
}

// Thrown synchronously when a method is called on a handle that is closed.
// The TypeScript layer normally rejects such calls first; this is the backstop.
inline Napi::Error ClosedError(Napi::Env env, const std::string& op) {
  return ErrnoError(env, EBADF, op);
}

}  // namespace xrbd
