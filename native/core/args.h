// Argument readers for the native methods. lib/ validates every argument
// before calling in; these only make sure a wrong call throws a TypeError
// instead of reading garbage.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

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

inline Napi::Object ObjectArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsObject()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an object");
  }
  return info[i].As<Napi::Object>();
}

}  // namespace xrbd
