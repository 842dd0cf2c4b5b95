// Listing calls that page through keys/values or fill an array of
// rbd_config_option_t, once for every area that has one.
#pragma once

#include <napi.h>
#include <rbd/librbd.h>

#include <string>
#include <utility>
#include <vector>

#include "core/erange.h"

// The pages come back to JS as PairsToJs (core/args.h) makes them.

namespace xrbd {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// rbd_metadata_list / rbd_pool_metadata_list: call(start, max, keys, &keys_len,
// vals, &vals_len), in pages of 64 so that any number of keys fits; each page's
// buffers grown by GrowRetryPair. Appends to *out.
template <typename Call>
int ListKeyValues(KeyValues* out, Call&& call) {
  constexpr uint64_t kPage = 64;
  std::string start;
  size_t keys_len = 4096, vals_len = 16384;  // grown for one page, kept for the next
  std::vector<char> keys, vals;
  for (;;) {
    size_t kl = keys_len, vl = vals_len;
    int rc = GrowRetryPair(kl, vl, [&](size_t& k, size_t& v) {
      keys.assign(k, '\0');
      vals.assign(v, '\0');
      keys_len = k;
      vals_len = v;
      return call(start.c_str(), kPage, keys.data(), &k, vals.data(), &v);
    });
    if (rc < 0) return rc;
    size_t n = 0;
    const char* k = keys.data();
    const char* v = vals.data();
    while (k < keys.data() + kl && *k != '\0') {
      std::string key(k), value(v);
      k += key.size() + 1;
      v += value.size() + 1;
      start = key;
      out->emplace_back(std::move(key), std::move(value));
      n++;
    }
    if (n < kPage) return 0;
  }
}

struct ConfigOption {
  std::string name, value;
  int source;
};

// rbd_config_pool_list / rbd_config_image_list: call(options, &max) answers
// -ERANGE with the count it needs in max; cleanup(options, n) frees the strings.
template <typename Call, typename Cleanup>
int ListConfigOptions(std::vector<ConfigOption>* out, Call&& call, Cleanup&& cleanup) {
  std::vector<rbd_config_option_t> raw;
  size_t n = 256;
  int filled = 0;
  int rc = GrowRetry(n, sizeof(rbd_config_option_t), [&](size_t& cap) {
    raw.assign(cap, rbd_config_option_t{});
    int max = static_cast<int>(cap);
    int r = call(raw.data(), &max);
    cap = static_cast<size_t>(max < 0 ? 0 : max);
    filled = max;
    return r;
  });
  if (rc < 0) return rc;
  for (int i = 0; i < filled; i++) {
    out->push_back({raw[i].name != nullptr ? raw[i].name : "", raw[i].value != nullptr ? raw[i].value : "",
                    static_cast<int>(raw[i].source)});
  }
  cleanup(raw.data(), filled);
  return 0;
}

inline Napi::Array ConfigOptionsToJs(Napi::Env env, const std::vector<ConfigOption>& options) {
  Napi::Array out = Napi::Array::New(env, options.size());
  for (size_t i = 0; i < options.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", options[i].name);
    o.Set("value", options[i].value);
    o.Set("source", Napi::Number::New(env, options[i].source));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace xrbd
