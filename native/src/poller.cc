// Poller: libuv readiness (uv_poll_t) for one fd, calling back into
// JavaScript with the POLL_* bits (layout.h). One Poller watches a whole
// mesh through its epoll fd (receive-mesh.cc).
#include "addon.h"

#include <uv.h>

#include "layout.h"

namespace ipnbus {

namespace {

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Poller",
                       {InstanceMethod("start", &Poller::Start), InstanceMethod("stop", &Poller::Stop),
                        InstanceMethod("close", &Poller::Close)});
  }

  explicit Poller(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Poller>(info) {}

  ~Poller() override {
    // The handle memory must outlive libuv's close callback.
    if (handle_ != nullptr) {
      uv_poll_stop(handle_);
      uv_close(reinterpret_cast<uv_handle_t *>(handle_),
               [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
      handle_ = nullptr;
    }
  }

 private:
  // start(fd, readable, writable, callback(status, events)). Calling start
  // again on the same fd changes the interest; another fd needs close first.
  Napi::Value Start(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int fd = ArgFd(info, 0);
    bool readable = info[1].ToBoolean().Value();
    bool writable = info[2].ToBoolean().Value();
    if (!info[3].IsFunction()) ThrowType(env, "callback must be a function");
    if (handle_ != nullptr && fd != fd_) ThrowType(env, "Poller is bound to another fd: close it first");
    if (handle_ == nullptr) {
      uv_loop_t *loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok) ThrowType(env, "no event loop");
      handle_ = new uv_poll_t;
      int r = uv_poll_init(loop, handle_, fd);
      if (r != 0) {
        delete handle_;
        handle_ = nullptr;
        ThrowErrno(env, -r, "uv_poll_init");
      }
      handle_->data = this;
      fd_ = fd;
    }
    callback_ = Napi::Persistent(info[3].As<Napi::Function>());
    int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0) | UV_DISCONNECT;
    int r = uv_poll_start(handle_, events, &Poller::OnPoll);
    if (r != 0) ThrowErrno(env, -r, "uv_poll_start");
    if (!active_) {
      active_ = true;
      Ref();  // keep the JS object alive while polling
    }
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo &info) {
    if (handle_ != nullptr) uv_poll_stop(handle_);
    Deactivate();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (handle_ != nullptr) {
      uv_poll_stop(handle_);
      handle_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t *>(handle_),
               [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
      handle_ = nullptr;
    }
    Deactivate();
    callback_.Reset();
    return info.Env().Undefined();
  }

  void Deactivate() {
    if (active_) {
      active_ = false;
      Unref();
    }
  }

  static void OnPoll(uv_poll_t *h, int status, int events) {
    Poller *self = static_cast<Poller *>(h->data);
    if (self == nullptr || self->callback_.IsEmpty()) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    int ev = 0;
    if (events & UV_READABLE) ev |= kPollReadable;
    if (events & UV_WRITABLE) ev |= kPollWritable;
    if (events & UV_DISCONNECT) ev |= kPollDisconnect;
    // MakeCallback so promise jobs queued by the JS side run afterwards.
    self->callback_.MakeCallback(env.Global(), {Napi::Number::New(env, status), Napi::Number::New(env, ev)});
  }

  uv_poll_t *handle_ = nullptr;
  int fd_ = -1;
  bool active_ = false;
  Napi::FunctionReference callback_;
};

}  // namespace

void RegisterPoller(Napi::Env env, Napi::Object exports) {
  exports.Set("Poller", Poller::Define(env));
}

}  // namespace ipnbus
