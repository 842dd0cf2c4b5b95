// The "here is a buffer; too small? I say how big it must be" dance, once.
//
// Many librbd/librados calls fill a caller's buffer (bytes, or an array of
// structs) and answer -ERANGE when it is too small, usually setting an in/out
// size to what they need. GrowRetry calls again with a larger buffer until the
// answer fits, up to one cap for the whole addon: no buffer above 64 MiB. Past
// it the call fails with kOutgrewBufferCap (core/errors.h), which rejects as
// ERANGE naming the librbd function and the cap.
//
// The call is a lambda taking the capacity by reference: on entry the number of
// units (bytes, entries) to size its buffer to; it passes it to librbd as the
// in/out size, so on -ERANGE it holds what librbd asked for (or is left as it
// was: then the capacity doubles). Each round at least doubles the capacity, so
// the cap also bounds the number of rounds. On return `n` holds what the last
// call left there (for most list calls, the count filled in).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "core/errors.h"

namespace xrbd {

constexpr size_t kBufferCapBytes = size_t{64} << 20;

// The capacity after a too-small answer: what was asked for, at least double
// the one that did not fit; 0 when that is past the cap.
inline size_t GrownCapacity(size_t tried, size_t asked, size_t unit_bytes) {
  size_t next = tried < 1 ? 1 : tried * 2;
  if (asked > next) next = asked;
  return next > kBufferCapBytes / (unit_bytes < 1 ? 1 : unit_bytes) ? 0 : next;
}

// One buffer of `n` units of `unit_bytes` each. Returns the last call's rc
// (anything but -ERANGE), or kOutgrewBufferCap.
template <typename Call>
int GrowRetry(size_t& n, size_t unit_bytes, Call&& call) {
  for (;;) {
    const size_t tried = n;
    const int rc = call(n);
    if (rc != -ERANGE) return rc;
    n = GrownCapacity(tried, n, unit_bytes);
    if (n == 0) return kOutgrewBufferCap;
  }
}

// Two byte buffers sized together (keys and values): call(a, b).
template <typename Call>
int GrowRetryPair(size_t& a, size_t& b, Call&& call) {
  for (;;) {
    const size_t tried_a = a, tried_b = b;
    const int rc = call(a, b);
    if (rc != -ERANGE) return rc;
    a = GrownCapacity(tried_a, a, 1);
    b = GrownCapacity(tried_b, b, 1);
    if (a == 0 || b == 0) return kOutgrewBufferCap;
  }
}

// A NUL-terminated string answer, into *out: call(buf, len) with a buffer of
// `len` bytes (passing len on as librbd's in/out size, or by value where the
// call takes a plain size). Returns the last call's rc, or kOutgrewBufferCap.
template <typename Call>
int GrowString(size_t initial, std::string* out, Call&& call) {
  std::vector<char> buf;
  size_t n = initial;
  const int rc = GrowRetry(n, 1, [&](size_t& len) {
    buf.assign(len, '\0');
    return call(buf.data(), len);
  });
  if (rc >= 0) out->assign(buf.data(), strnlen(buf.data(), buf.size()));
  return rc;
}

// NUL-separated names (rbd_group_list, rbd_namespace_list: the rc is the
// length used), empty ones left out, appended to *out.
template <typename Call>
int GrowNames(size_t initial, std::vector<std::string>* out, Call&& call) {
  std::vector<char> buf;
  size_t n = initial;
  const int rc = GrowRetry(n, 1, [&](size_t& len) {
    buf.assign(len, '\0');
    return call(buf.data(), len);
  });
  if (rc < 0) return rc;
  const size_t used = static_cast<size_t>(rc) < buf.size() ? static_cast<size_t>(rc) : buf.size();
  for (size_t i = 0; i < used;) {
    const size_t len = strnlen(buf.data() + i, used - i);
    if (len > 0) out->emplace_back(buf.data() + i, len);
    i += len + 1;
  }
  return rc;
}

}  // namespace xrbd
