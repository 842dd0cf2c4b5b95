#include "image/watch.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

#include "image/image.h"
#include "core/args.h"
#include "core/worker.h"

namespace xrbd {

namespace {

using ImagePtr = std::shared_ptr<ImageHandle>;

// One rbd_update_watch registration and the thread-safe function it feeds.
//
// librbd calls OnUpdate on one of its own threads: it must not block there, so
// it only queues a NonBlockingCall, and at most one at a time (`pending`):
// a burst of header updates becomes one 'update' on the JS thread.
// rbd_update_unwatch waits for a callback in progress, so it runs in a worker
// (UnwatchWorker); only an abnormal end (a registration dropped without
// unregister, or environment teardown) unwatches in the destructor.
class WatchState final : public std::enable_shared_from_this<WatchState> {
 public:
  WatchState(Napi::Env env, ImagePtr image, Napi::Function fn) : env_(env), image_(std::move(image)) {
    tsfn_ = Napi::ThreadSafeFunction::New(env, fn, "xrbd:updateWatch", 0, 1);
    tsfn_.Unref(env);  // listening never keeps the process alive
    live_ = true;
    // The TSFN's own cleanup hook was added first, so this one runs before it
    // (hooks run last-in first-out): no call reaches a TSFN being torn down.
    napi_add_env_cleanup_hook(env, &WatchState::OnTeardown, this);
    hooked_ = true;
  }
  WatchState(const WatchState&) = delete;
  WatchState& operator=(const WatchState&) = delete;
  ~WatchState() {  // JS thread
    if (registered_ && image_ && image_->image != nullptr) rbd_update_unwatch(image_->image, handle_);
    Stop();
  }

  // Worker thread.
  int Register() {
    int rc = rbd_update_watch(image_->image, &handle_, &WatchState::OnUpdate, this);
    if (rc == 0) registered_ = true;
    return rc;
  }
  int Unregister() {
    if (!registered_) return 0;
    int rc = image_->image == nullptr ? 0 : rbd_update_unwatch(image_->image, handle_);
    if (rc < 0) return rc;
    registered_ = false;
    image_.reset();  // the image may close now, off the JS thread if this is the last reference
    return 0;
  }

  // JS thread, once no callback can come any more: release the TSFN and the hook.
  void Stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (!live_) return;
      live_ = false;
    }
    tsfn_.Release();
    if (hooked_) napi_remove_env_cleanup_hook(env_, &WatchState::OnTeardown, this);
    hooked_ = false;
  }

 private:
  static void OnUpdate(void* arg) {
    auto* self = static_cast<WatchState*>(arg);
    if (self->pending_.exchange(true)) return;  // one notification is already on its way
    std::lock_guard<std::mutex> g(self->mu_);
    // Queued items may be delivered after the state is gone: they carry a weak reference.
    auto* weak = new std::weak_ptr<WatchState>(self->weak_from_this());
    napi_status st = self->live_ ? self->tsfn_.NonBlockingCall(weak, &WatchState::CallJs) : napi_closing;
    if (st != napi_ok) {
      delete weak;
      self->pending_ = false;
    }
  }

  static void CallJs(Napi::Env env, Napi::Function fn, std::weak_ptr<WatchState>* weak) {
    std::shared_ptr<WatchState> self = weak->lock();
    delete weak;
    if (!self) return;
    self->pending_ = false;  // before the call: an update during it queues another
    if (env == nullptr || fn == nullptr) return;
    try {
      fn.Call({});
    } catch (const Napi::Error& e) {
      // A throwing listener is an uncaught exception, as with any event; while
      // the environment terminates even that fails, and must not escape.
      try {
        e.ThrowAsJavaScriptException();
      } catch (...) {
      }
    }
  }

  // Environment teardown (a natural exit, a worker thread ending): the TSFN is
  // about to go; stop feeding it. The registration itself ends in the destructor.
  static void OnTeardown(void* arg) {
    auto* self = static_cast<WatchState*>(arg);
    std::lock_guard<std::mutex> g(self->mu_);
    self->live_ = false;
    self->hooked_ = false;
  }

  napi_env env_;
  ImagePtr image_;
  Napi::ThreadSafeFunction tsfn_;
  std::mutex mu_;  // guards live_ against OnTeardown / Stop while a callback queues
  bool live_ = false;
  bool hooked_ = false;
  std::atomic<bool> pending_{false};
  uint64_t handle_ = 0;
  bool registered_ = false;
};

using StatePtr = std::shared_ptr<WatchState>;

class WatchWorker final : public PromiseWorker {
 public:
  WatchWorker(Napi::Env env, StatePtr s) : PromiseWorker(env, "xrbd:updateWatch"), s_(std::move(s)) {}

 protected:
  int Run() override {
    op_ = "rbd_update_watch";
    return s_->Register();
  }
  Napi::Value Result(Napi::Env env) override {
    return Napi::External<StatePtr>::New(env, new StatePtr(s_), [](Napi::Env, StatePtr* p) { delete p; });
  }

 private:
  StatePtr s_;  // on failure the last reference: the destructor releases the TSFN on the JS thread
};

class UnwatchWorker final : public PromiseWorker {
 public:
  UnwatchWorker(Napi::Env env, StatePtr s) : PromiseWorker(env, "xrbd:updateUnwatch"), s_(std::move(s)) {}

 protected:
  int Run() override {
    op_ = "rbd_update_unwatch";
    return s_->Unregister();
  }
  Napi::Value Result(Napi::Env env) override {
    s_->Stop();
    return env.Undefined();
  }

 private:
  StatePtr s_;
};

// watch(image, onUpdate) → Promise<registration>
Napi::Value Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto h = ImageWrap::FromArg(info, 0, "rbd_update_watch");
  auto state = std::make_shared<WatchState>(env, std::move(h), FunctionArg(info, 1, "onUpdate"));
  auto* w = new WatchWorker(env, std::move(state));
  w->Pin(info[0]);
  return w->Start();
}

// unwatch(registration) → Promise<void>; the image need not be open in JS any more.
Napi::Value Unwatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(env, "rbd_update_unwatch: argument 0 is not a watch registration");
  }
  StatePtr s = *info[0].As<Napi::External<StatePtr>>().Data();
  auto* w = new UnwatchWorker(env, std::move(s));
  return w->Start();
}

}  // namespace

void InitWatch(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("watch", Napi::Function::New(env, Watch, "watch"));
  area.Set("unwatch", Napi::Function::New(env, Unwatch, "unwatch"));
  exports.Set("watch", area);
}

}  // namespace xrbd
