// Argument readers for the native methods: every area reads its arguments
// with these (none of its own). lib/ validates every argument before calling
// in; these only make sure a wrong call throws a TypeError (or RangeError)
// instead of reading garbage. `what` names the argument in the message.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xrbd {

inline std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  }
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must not contain NUL bytes");
  }
  return s;
}

// A string that may be left out: anything but a string is "".
inline std::string OptionalStringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return i < info.Length() && info[i].IsString() ? StringArg(info, i, what) : std::string();
}

// A uint64 given either as a safe integer Number or as a BigInt.
inline uint64_t U64Value(Napi::Env env, Napi::Value v, const char* what) {
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(env, std::string(what) + " is out of range");
    return out;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
      throw Napi::RangeError::New(env, std::string(what) + " must be a non-negative integer");
    }
    return static_cast<uint64_t>(d);
  }
  throw Napi::TypeError::New(env, std::string(what) + " must be a number or bigint");
}

inline uint64_t U64Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length()) throw Napi::TypeError::New(info.Env(), std::string(what) + " is required");
  return U64Value(info.Env(), info[i], what);
}

// Numbers handed back to JS: exact up to 2^53, which covers any real image size.
inline Napi::Value U64ToJs(Napi::Env env, uint64_t v) {
  return Napi::Number::New(env, static_cast<double>(v));
}

// Pairs handed back to JS as [first, second][] (strings or numbers).
template <typename A, typename B>
Napi::Array PairsToJs(Napi::Env env, const std::vector<std::pair<A, B>>& pairs) {
  Napi::Array out = Napi::Array::New(env, pairs.size());
  for (size_t i = 0; i < pairs.size(); i++) {
    Napi::Array kv = Napi::Array::New(env, 2);
    kv.Set(0u, pairs[i].first);
    kv.Set(1u, pairs[i].second);
    out.Set(static_cast<uint32_t>(i), kv);
  }
  return out;
}

inline uint32_t U32Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  uint64_t v = U64Arg(info, i, what);
  if (v > UINT32_MAX) throw Napi::RangeError::New(info.Env(), std::string(what) + " is out of range");
  return static_cast<uint32_t>(v);
}

// A plain JS number (no BigInt), as a double, an int32 or an int64 (JS's ToInt32 / truncation).
inline Napi::Number NumberValueArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  }
  return info[i].As<Napi::Number>();
}
inline double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return NumberValueArg(info, i, what).DoubleValue();
}
inline int IntArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return NumberValueArg(info, i, what).Int32Value();
}
inline int64_t Int64Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  return NumberValueArg(info, i, what).Int64Value();
}

// An int32 within [min, max].
inline int IntArgInRange(const Napi::CallbackInfo& info, size_t i, const char* what, int min, int max) {
  int n = IntArg(info, i, what);
  if (n < min || n > max) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be from " + std::to_string(min) + " to " +
                                                std::to_string(max));
  }
  return n;
}

// Flags that may be left out (undefined: 0), as a uint32 (JS's ToUint32).
inline uint32_t OptionalU32Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || info[i].IsUndefined()) return 0;
  return NumberValueArg(info, i, what).Uint32Value();
}

// librados op flags (LIBRADOS_OP_FLAG_*) of an I/O call: anything but a number is none.
inline int OpFlagsArg(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() && info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : 0;
}

inline bool BoolArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsBoolean()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a boolean");
  }
  return info[i].As<Napi::Boolean>().Value();
}

inline Napi::Object ObjectArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsObject()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an object");
  }
  return info[i].As<Napi::Object>();
}

inline Napi::Array ArrayArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsArray()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an array");
  }
  return info[i].As<Napi::Array>();
}

// A Buffer or any Uint8Array: its bytes are used in place (the caller pins it).
inline Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsBuffer()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Buffer or Uint8Array");
  }
  return info[i].As<Napi::Buffer<uint8_t>>();
}

inline Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsFunction()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a function");
  }
  return info[i].As<Napi::Function>();
}

// A callback that may be left out (undefined or null): then undefined.
inline Napi::Value OptionalFunctionArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return info.Env().Undefined();
  return FunctionArg(info, i, what);
}

}  // namespace xrbd
