// Locks: the managed exclusive lock (rbd_lock_acquire/release/break, owner
// checks) and the advisory locks of `rbd lock add/ls/rm` (rbd_lock_exclusive,
// rbd_lock_shared, rbd_unlock, rbd_break_lock, rbd_list_lockers). Every call
// may talk to the OSDs (and wait for a peer to release), hence workers.
#include "image/locks.h"

#include <rbd/librbd.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"
#include "core/args.h"
#include "core/erange.h"
#include "core/worker.h"

namespace xrbd {

namespace {

// A lock mode from lib/ (the header's value, from core/constants.cc): only the two librbd knows.
rbd_lock_mode_t ModeArg(const Napi::CallbackInfo& info, size_t i) {
  int m = IntArg(info, i, "lock mode");
  if (m != RBD_LOCK_MODE_EXCLUSIVE && m != RBD_LOCK_MODE_SHARED) {
    throw Napi::RangeError::New(info.Env(), "lock mode must be RBD_LOCK_MODE_EXCLUSIVE or RBD_LOCK_MODE_SHARED");
  }
  return static_cast<rbd_lock_mode_t>(m);
}

Napi::Value Run(const Napi::CallbackInfo& info, const char* op, std::function<int(rbd_image_t)> fn) {
  auto h = ImageWrap::FromArg(info, 0, op);
  auto* w = new CallWorker(info.Env(), op, [h, fn = std::move(fn)]() { return fn(h->image); });
  w->Pin(info[0]);
  return w->Start();
}

// acquire(image, mode): wait for (or request) the managed lock.
Napi::Value Acquire(const Napi::CallbackInfo& info) {
  rbd_lock_mode_t mode = ModeArg(info, 1);
  return Run(info, "rbd_lock_acquire", [mode](rbd_image_t img) { return rbd_lock_acquire(img, mode); });
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  return Run(info, "rbd_lock_release", [](rbd_image_t img) { return rbd_lock_release(img); });
}

// breakOwner(image, mode, owner): blocklists the owner first when rbd_blocklist_on_break_lock is true.
Napi::Value BreakOwner(const Napi::CallbackInfo& info) {
  rbd_lock_mode_t mode = ModeArg(info, 1);
  std::string owner = StringArg(info, 2, "lock owner");
  return Run(info, "rbd_lock_break",
             [mode, owner](rbd_image_t img) { return rbd_lock_break(img, mode, owner.c_str()); });
}

class IsOwnerWorker final : public PromiseWorker {
 public:
  IsOwnerWorker(Napi::Env env, std::shared_ptr<ImageHandle> h) : PromiseWorker(env, "xrbd:isLockOwner"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_is_exclusive_lock_owner";
    return rbd_is_exclusive_lock_owner(h_->image, &owner_);
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, owner_ != 0); }

 private:
  std::shared_ptr<ImageHandle> h_;
  int owner_ = 0;
};

Napi::Value IsOwner(const Napi::CallbackInfo& info) {
  auto* w = new IsOwnerWorker(info.Env(), ImageWrap::FromArg(info, 0, "rbd_is_exclusive_lock_owner"));
  w->Pin(info[0]);
  return w->Start();
}

// ---- advisory locks -------------------------------------------------------------------------------------

// lockExclusive(image, cookie) / lockShared(image, cookie, tag)
Napi::Value LockExclusive(const Napi::CallbackInfo& info) {
  std::string cookie = StringArg(info, 1, "lock id");
  return Run(info, "rbd_lock_exclusive", [cookie](rbd_image_t img) { return rbd_lock_exclusive(img, cookie.c_str()); });
}

Napi::Value LockShared(const Napi::CallbackInfo& info) {
  std::string cookie = StringArg(info, 1, "lock id");
  std::string tag = StringArg(info, 2, "tag");
  return Run(info, "rbd_lock_shared",
             [cookie, tag](rbd_image_t img) { return rbd_lock_shared(img, cookie.c_str(), tag.c_str()); });
}

// unlock(image, cookie): this client's own lock.
Napi::Value Unlock(const Napi::CallbackInfo& info) {
  std::string cookie = StringArg(info, 1, "lock id");
  return Run(info, "rbd_unlock", [cookie](rbd_image_t img) { return rbd_unlock(img, cookie.c_str()); });
}

// breakLocker(image, client, cookie): another client's lock (`rbd lock rm`).
Napi::Value BreakLocker(const Napi::CallbackInfo& info) {
  std::string client = StringArg(info, 1, "locker");
  std::string cookie = StringArg(info, 2, "lock id");
  return Run(info, "rbd_break_lock", [client, cookie](rbd_image_t img) {
    return rbd_break_lock(img, client.c_str(), cookie.c_str());
  });
}

// listLockers(image) → { exclusive, tag, lockers: [{ client, cookie, address }] }
class ListLockersWorker final : public PromiseWorker {
 public:
  ListLockersWorker(Napi::Env env, std::shared_ptr<ImageHandle> h)
      : PromiseWorker(env, "xrbd:listLockers"), h_(std::move(h)) {}

 protected:
  int Run() override {
    op_ = "rbd_list_lockers";
    // Four NUL-separated buffers librbd sizes together: one capacity for all,
    // grown to the largest length it asks for.
    size_t n = 256;
    int rc = GrowRetry(n, 4, [&](size_t& cap) {
      tag_.assign(cap, '\0');
      clients_.assign(cap, '\0');
      cookies_.assign(cap, '\0');
      addrs_.assign(cap, '\0');
      size_t tl = cap, cl = cap, kl = cap, al = cap;
      ssize_t r = rbd_list_lockers(h_->image, &exclusive_, tag_.data(), &tl, clients_.data(), &cl, cookies_.data(),
                                   &kl, addrs_.data(), &al);
      if (r == -ERANGE) {
        size_t need = tl;
        for (size_t l : {cl, kl, al}) need = l > need ? l : need;
        cap = need;
      }
      return static_cast<int>(r);
    });
    if (rc < 0) return rc;
    count_ = static_cast<size_t>(rc);
    return 0;
  }

  static std::vector<std::string> Split(const std::vector<char>& b, size_t count) {
    std::vector<std::string> out;
    size_t i = 0;
    while (out.size() < count && i < b.size()) {
      size_t len = strnlen(b.data() + i, b.size() - i);
      out.emplace_back(b.data() + i, len);
      i += len + 1;
    }
    out.resize(count);
    return out;
  }

  Napi::Value Result(Napi::Env env) override {
    auto clients = Split(clients_, count_), cookies = Split(cookies_, count_), addrs = Split(addrs_, count_);
    Napi::Array list = Napi::Array::New(env, count_);
    for (size_t i = 0; i < count_; i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("client", clients[i]);
      o.Set("cookie", cookies[i]);
      o.Set("address", addrs[i]);
      list.Set(static_cast<uint32_t>(i), o);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("exclusive", exclusive_ != 0);
    out.Set("tag", std::string(tag_.data(), strnlen(tag_.data(), tag_.size())));
    out.Set("lockers", list);
    return out;
  }

 private:
  std::shared_ptr<ImageHandle> h_;
  std::vector<char> tag_, clients_, cookies_, addrs_;
  int exclusive_ = 0;
  size_t count_ = 0;
};

Napi::Value ListLockers(const Napi::CallbackInfo& info) {
  auto* w = new ListLockersWorker(info.Env(), ImageWrap::FromArg(info, 0, "rbd_list_lockers"));
  w->Pin(info[0]);
  return w->Start();
}

}  // namespace

void InitLocks(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("acquire", Napi::Function::New(env, Acquire, "acquire"));
  area.Set("release", Napi::Function::New(env, Release, "release"));
  area.Set("breakOwner", Napi::Function::New(env, BreakOwner, "breakOwner"));
  area.Set("isOwner", Napi::Function::New(env, IsOwner, "isOwner"));
  area.Set("lockExclusive", Napi::Function::New(env, LockExclusive, "lockExclusive"));
  area.Set("lockShared", Napi::Function::New(env, LockShared, "lockShared"));
  area.Set("unlock", Napi::Function::New(env, Unlock, "unlock"));
  area.Set("breakLocker", Napi::Function::New(env, BreakLocker, "breakLocker"));
  area.Set("listLockers", Napi::Function::New(env, ListLockers, "listLockers"));
  exports.Set("locks", area);
}

}  // namespace xrbd
