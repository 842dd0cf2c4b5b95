// binding.encryption: LUKS on an image (rbd_encryption_format / _load / _load2).
//
//   format(image, format, algorithm, passphrase: Buffer) → undefined
//   load(image, format, passphrase: Buffer)              → undefined
//   load2(image, [[format, passphrase: Buffer], ...])    → undefined  (only where librbd has it:
//                                                          capabilities().calls.rbd_encryption_load2)
//   formats: { luks1, luks2[, luks] }, algorithms: { aes128, aes256 }  (librbd's numbers)
//
// The passphrase is copied out of the JS Buffer on the JS thread into memory
// this worker owns, and wiped when the worker is done. It never goes into an
// error (errors carry the errno and the librbd function's name only).
#include "image/encryption.h"

#include <rbd/librbd.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/capabilities.h"
#include "image/image.h"
#include "core/args.h"
#include "core/worker.h"

namespace xrbd {

namespace {

// Bytes wiped on destruction (the passphrase).
class Secret final {
 public:
  Secret() = default;
  explicit Secret(const Napi::Buffer<uint8_t>& b) : bytes_(b.Data(), b.Data() + b.Length()) {}
  Secret(Secret&& o) noexcept : bytes_(std::move(o.bytes_)) {}
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() {
    volatile unsigned char* p = bytes_.data();
    for (size_t i = 0; i < bytes_.size(); i++) p[i] = 0;
  }
  const char* data() const { return reinterpret_cast<const char*>(bytes_.data()); }
  size_t size() const { return bytes_.size(); }

 private:
  std::vector<unsigned char> bytes_;
};

int FormatArg(const Napi::CallbackInfo& info, size_t i) {
#if XRBD_HAS_ENCRYPTION_LOAD2
  return IntArgInRange(info, i, "encryption format", RBD_ENCRYPTION_FORMAT_LUKS1, RBD_ENCRYPTION_FORMAT_LUKS);
#else
  return IntArgInRange(info, i, "encryption format", RBD_ENCRYPTION_FORMAT_LUKS1, RBD_ENCRYPTION_FORMAT_LUKS2);
#endif
}

// The options struct for one format. LUKS1 and LUKS2 format options carry the
// algorithm; load ignores it. The generic LUKS one (load only) has none.
struct LuksOptions {
  rbd_encryption_luks1_format_options_t luks1{};
  rbd_encryption_luks2_format_options_t luks2{};
#if XRBD_HAS_ENCRYPTION_LOAD2
  rbd_encryption_luks_format_options_t luks{};
#endif

  void Fill(int format, int alg, const Secret& s) {
    auto a = static_cast<rbd_encryption_algorithm_t>(alg);
    luks1 = {a, s.data(), s.size()};
    luks2 = {a, s.data(), s.size()};
#if XRBD_HAS_ENCRYPTION_LOAD2
    luks = {s.data(), s.size()};
#endif
    (void)format;
  }
  rbd_encryption_options_t Ptr(int format) {
#if XRBD_HAS_ENCRYPTION_LOAD2
    if (format == RBD_ENCRYPTION_FORMAT_LUKS) return &luks;
#endif
    return format == RBD_ENCRYPTION_FORMAT_LUKS1 ? static_cast<rbd_encryption_options_t>(&luks1)
                                                 : static_cast<rbd_encryption_options_t>(&luks2);
  }
  size_t Size(int format) const {
#if XRBD_HAS_ENCRYPTION_LOAD2
    if (format == RBD_ENCRYPTION_FORMAT_LUKS) return sizeof(luks);
#endif
    return format == RBD_ENCRYPTION_FORMAT_LUKS1 ? sizeof(luks1) : sizeof(luks2);
  }
};

class FormatWorker final : public PromiseWorker {
 public:
  FormatWorker(Napi::Env env, std::shared_ptr<ImageHandle> h, int format, int alg, Secret s, bool load)
      : PromiseWorker(env, load ? "xrbd:encryptionLoad" : "xrbd:encryptionFormat"), h_(std::move(h)),
        format_(format), alg_(alg), secret_(std::move(s)), load_(load) {}

 protected:
  int Run() override {
    LuksOptions o;
    o.Fill(format_, alg_, secret_);
    if (load_) {
      op_ = "rbd_encryption_load";
      return rbd_encryption_load(h_->image, static_cast<rbd_encryption_format_t>(format_), o.Ptr(format_),
                                 o.Size(format_));
    }
    op_ = "rbd_encryption_format";
    return rbd_encryption_format(h_->image, static_cast<rbd_encryption_format_t>(format_), o.Ptr(format_),
                                 o.Size(format_));
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  int format_, alg_;
  Secret secret_;
  bool load_;
};

#if XRBD_HAS_ENCRYPTION_LOAD2
class Load2Worker final : public PromiseWorker {
 public:
  Load2Worker(Napi::Env env, std::shared_ptr<ImageHandle> h, std::vector<int> formats, std::vector<Secret> secrets)
      : PromiseWorker(env, "xrbd:encryptionLoad2"), h_(std::move(h)), formats_(std::move(formats)),
        secrets_(std::move(secrets)) {}

 protected:
  int Run() override {
    op_ = "rbd_encryption_load2";
    std::vector<LuksOptions> opts(formats_.size());
    std::vector<rbd_encryption_spec_t> specs(formats_.size());
    for (size_t i = 0; i < formats_.size(); i++) {
      opts[i].Fill(formats_[i], RBD_ENCRYPTION_ALGORITHM_AES256, secrets_[i]);
      specs[i].format = static_cast<rbd_encryption_format_t>(formats_[i]);
      specs[i].opts = opts[i].Ptr(formats_[i]);
      specs[i].opts_size = opts[i].Size(formats_[i]);
    }
    return rbd_encryption_load2(h_->image, specs.data(), specs.size());
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  std::vector<int> formats_;
  std::vector<Secret> secrets_;
};
#endif

Napi::Value Format(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_encryption_format");
  int format = FormatArg(info, 1);
  int alg = IntArgInRange(info, 2, "encryption algorithm", RBD_ENCRYPTION_ALGORITHM_AES128,
                          RBD_ENCRYPTION_ALGORITHM_AES256);
  Secret s(BufferArg(info, 3, "passphrase"));
  auto* w = new FormatWorker(info.Env(), std::move(h), format, alg, std::move(s), false);
  w->Pin(info[0]);
  return w->Start();
}

Napi::Value Load(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_encryption_load");
  int format = FormatArg(info, 1);
  Secret s(BufferArg(info, 2, "passphrase"));
  auto* w = new FormatWorker(info.Env(), std::move(h), format, 0, std::move(s), true);
  w->Pin(info[0]);
  return w->Start();
}

#if XRBD_HAS_ENCRYPTION_LOAD2
Napi::Value Load2(const Napi::CallbackInfo& info) {
  auto h = ImageWrap::FromArg(info, 0, "rbd_encryption_load2");
  Napi::Array arr = ArrayArg(info, 1, "encryption specs");
  std::vector<int> formats;
  std::vector<Secret> secrets;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsArray()) throw Napi::TypeError::New(info.Env(), "encryption specs must be [format, passphrase] pairs");
    Napi::Array pair = item.As<Napi::Array>();
    Napi::Value f = pair.Get(0u), p = pair.Get(1u);
    if (!f.IsNumber() || !p.IsBuffer()) {
      throw Napi::TypeError::New(info.Env(), "encryption specs must be [format, passphrase] pairs");
    }
    int format = f.As<Napi::Number>().Int32Value();
    if (format < RBD_ENCRYPTION_FORMAT_LUKS1 || format > RBD_ENCRYPTION_FORMAT_LUKS) {
      throw Napi::RangeError::New(info.Env(), "encryption format out of range");
    }
    formats.push_back(format);
    secrets.emplace_back(p.As<Napi::Buffer<uint8_t>>());
  }
  auto* w = new Load2Worker(info.Env(), std::move(h), std::move(formats), std::move(secrets));
  w->Pin(info[0]);
  return w->Start();
}
#endif

}  // namespace

void InitEncryption(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("format", Napi::Function::New(env, Format, "format"));
  area.Set("load", Napi::Function::New(env, Load, "load"));
#if XRBD_HAS_ENCRYPTION_LOAD2
  area.Set("load2", Napi::Function::New(env, Load2, "load2"));
#endif
  exports.Set("encryption", area);
}

}  // namespace xrbd
