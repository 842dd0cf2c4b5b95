// Image options (rbd_image_options_t) as lib/ passes them: [key, number | bigint | string]
// pairs keyed by librbd's RBD_IMAGE_OPTION_* numbers. lib/ owns the names and
// checks; here they are only read (JS thread) and applied (worker thread).
#pragma once

#include <napi.h>
#include <rbd/librbd.h>

#include <string>
#include <utility>
#include <vector>

#include "core/args.h"

namespace xrbd {

class ImageOptions final {
 public:
  // JS thread: read the pairs from `v` (an array, or anything else for none).
  ImageOptions(Napi::Env env, Napi::Value v) {
    Read(env, v);  // may throw: the librbd object is created only afterwards
    rbd_image_options_create(&opts_);
  }
  ~ImageOptions() { rbd_image_options_destroy(opts_); }
  ImageOptions(const ImageOptions&) = delete;
  ImageOptions& operator=(const ImageOptions&) = delete;

  // Worker thread: fill the librbd options. Returns < 0 and sets `op` on failure.
  int Apply(std::string& op) {
    for (const auto& e : entries_) {
      op = "rbd_image_options_set(" + std::to_string(e.key) + ")";
      int rc = e.is_string ? rbd_image_options_set_string(opts_, e.key, e.str.c_str())
                           : rbd_image_options_set_uint64(opts_, e.key, e.num);
      if (rc < 0) return rc;
    }
    return 0;
  }

  rbd_image_options_t get() const { return opts_; }

 private:
  void Read(Napi::Env env, Napi::Value v) {
    if (!v.IsArray()) return;
    Napi::Array arr = v.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value item = arr.Get(i);
      if (!item.IsArray()) throw Napi::TypeError::New(env, "image options must be [key, value] pairs");
      Napi::Array kv = item.As<Napi::Array>();
      Entry e{kv.Get(0u).As<Napi::Number>().Int32Value(), false, 0, ""};
      Napi::Value val = kv.Get(1u);
      if (val.IsString()) {
        e.is_string = true;
        e.str = val.As<Napi::String>().Utf8Value();
      } else {
        e.num = U64Value(env, val, "image option");
      }
      entries_.push_back(std::move(e));
    }
  }

  struct Entry {
    int key;
    bool is_string;
    uint64_t num;
    std::string str;
  };
  rbd_image_options_t opts_;
  std::vector<Entry> entries_;
};

}  // namespace xrbd
