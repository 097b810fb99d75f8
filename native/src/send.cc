// Sending: one gathered message to one socket (with a member id for
// AF_IPN unicast, and fds), or the same message to many sockets in one
// call. Hot path: the expected "try again" and "peer is gone" answers are
// returned as -errno, never thrown (an Error per EAGAIN would dominate).
#include "send.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/ipn.h>

namespace ipnbus {

// Collects a Buffer or an array of Buffers/Uint8Arrays into an iovec list.
size_t CollectIov(Napi::Env env, Napi::Value v, std::vector<struct iovec> &iov) {
  size_t total = 0;
  auto add = [&](Napi::Value b) {
    if (!b.IsTypedArray()) ThrowType(env, "message parts must be Buffers or Uint8Arrays");
    Napi::TypedArray ta = b.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_uint8_array) ThrowType(env, "message parts must be Uint8Arrays");
    Napi::Uint8Array u = ta.As<Napi::Uint8Array>();
    if (u.ByteLength() == 0) return;
    iov.push_back({u.Data(), u.ByteLength()});
    total += u.ByteLength();
  };
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) add(a[i]);
  } else {
    add(v);
  }
  return total;
}

int32_t SendRetrying(int fd, const struct msghdr *mh, int flags) {
  ssize_t r;
  do {
    r = sendmsg(fd, mh, flags | MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : (int32_t)r;
}

namespace {

// sendmsg(fd, parts, family, dest: bigint|null, fds: number[]|null, flags)
// Returns bytes sent, or -EAGAIN (also -EPIPE/-ECONNRESET/-EHOSTUNREACH, the
// expected "peer is gone" answers) without throwing.
Napi::Value SendMsg(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::vector<struct iovec> iov;
  CollectIov(env, info[1], iov);
  int family = ArgInt(info, 2, "family");
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  struct sockaddr_ipn_member dest;
  if (info.Length() > 3 && info[3].IsBigInt()) {
    bool lossless = true;
    memset(&dest, 0, sizeof(dest));
    dest.sipnm_family = (__kernel_sa_family_t)family;
    dest.sipnm_id = info[3].As<Napi::BigInt>().Uint64Value(&lossless);
    mh.msg_name = &dest;
    mh.msg_namelen = sizeof(dest);
  }
  alignas(struct cmsghdr) char ctrl[CMSG_SPACE(sizeof(int) * kMaxFds)];
  if (info.Length() > 4 && info[4].IsArray()) {
    Napi::Array a = info[4].As<Napi::Array>();
    uint32_t n = a.Length();
    if (n > (uint32_t)kMaxFds) ThrowErrno(env, ETOOMANYREFS, "sendmsg");
    if (n > 0) {
      memset(ctrl, 0, sizeof(ctrl));
      mh.msg_control = ctrl;
      mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
      struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * n);
      int *fds = (int *)CMSG_DATA(c);
      for (uint32_t i = 0; i < n; i++) {
        Napi::Value v = a[i];
        if (!v.IsNumber()) ThrowType(env, "fds must be numbers");
        fds[i] = v.As<Napi::Number>().Int32Value();
      }
    }
  }
  int flags = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : 0;
  mh.msg_iov = iov.data();
  mh.msg_iovlen = iov.size();
  int32_t r = SendRetrying(fd, &mh, flags);
  if (r < 0) {
    int e = -r;
    if (e == EAGAIN || e == EPIPE || e == ECONNRESET || e == EHOSTUNREACH || e == ENOTCONN) {
      return Napi::Number::New(env, -e);
    }
    ThrowErrno(env, e, "sendmsg");
  }
  return Napi::Number::New(env, (double)r);
}

// One message to many sockets, looping here so a fan-out costs one JS call.
// sendToMany(fds: Int32Array, parts, flags, results: Int32Array) -> successes.
// results[i] = bytes sent or -errno; never throws for per-socket failures.
Napi::Value SendToMany(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) ThrowType(env, "fds must be an Int32Array");
  Napi::Int32Array fds = info[0].As<Napi::Int32Array>();
  std::vector<struct iovec> iov;
  CollectIov(env, info[1], iov);
  int flags = ArgInt(info, 2, "flags");
  if (!info[3].IsTypedArray()) ThrowType(env, "results must be an Int32Array");
  Napi::Int32Array res = info[3].As<Napi::Int32Array>();
  if (res.ElementLength() < fds.ElementLength()) ThrowType(env, "results shorter than fds");
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  mh.msg_iov = iov.data();
  mh.msg_iovlen = iov.size();
  int ok = 0;
  for (size_t i = 0; i < fds.ElementLength(); i++) {
    res[i] = SendRetrying(fds[i], &mh, flags);
    if (res[i] >= 0) ok++;
  }
  return Napi::Number::New(env, ok);
}

}  // namespace

void RegisterSend(Napi::Env env, Napi::Object exports) {
  exports.Set("sendmsg", Napi::Function::New(env, SendMsg));
  exports.Set("sendToMany", Napi::Function::New(env, SendToMany));
}

}  // namespace ipnbus
