// Reading a stream socket (a gateway's client): one recvmsg, its bytes as
// one Buffer, the fds it carried appended to the caller's array.
//
// recvmmsg's result (an object per datagram with its sender, fds, drop
// count and notices) suits the mesh; a short-lived gateway client is read
// about six times, and building those objects cost as much as the system
// call. A stream has no sender per read and no notices.
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

#include "addon.h"
#include "cmsg.h"
#include "receive.h"

namespace ipnbus {

namespace {

// Scratch space for the bytes (grown to the largest maxBytes asked for)
// and the control data of one read; main thread only.
std::vector<uint8_t> streamBytes;
constexpr size_t kStreamCtrl = CMSG_SPACE(sizeof(int) * kMaxFds) + 64;
alignas(struct cmsghdr) uint8_t streamCtrl[kStreamCtrl];

// recvStream(fd, maxBytes, fds) -> Buffer | null
// null: nothing to read now. An empty Buffer: the peer hung up (end of
// stream, or ECONNRESET/ENOTCONN/EPIPE). Received fds (close-on-exec,
// now the caller's) are pushed onto `fds`. More fds than one control
// message holds: they are closed and EMSGSIZE is thrown (refused rather
// than lose some).
Napi::Value RecvStream(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  size_t max = ArgSize(info, 1);
  if (!info[2].IsArray()) ThrowType(env, "fds must be an array");
  Napi::Array fds = info[2].As<Napi::Array>();
  if (streamBytes.size() < max) streamBytes.resize(max);
  struct iovec iov = {streamBytes.data(), max};
  struct msghdr mh = {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = streamCtrl;
  mh.msg_controllen = kStreamCtrl;
  ssize_t n;
  do {
    n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    if (e == EAGAIN) return env.Null();
    if (e == ECONNRESET || e == ENOTCONN || e == EPIPE) return Napi::Buffer<uint8_t>::New(env, 0);
    ThrowErrno(env, e, "recvmsg");
  }
  Cmsgs c;
  ParseCmsgs(&mh, &c);
  if (mh.msg_flags & MSG_CTRUNC) {
    for (size_t k = 0; k < c.nfds; k++) close(c.fds[k]);
    ThrowErrno(env, EMSGSIZE, "recvmsg");
  }
  uint32_t base = fds.Length();
  for (size_t k = 0; k < c.nfds; k++) fds.Set(base + (uint32_t)k, Napi::Number::New(env, c.fds[k]));
  return Napi::Buffer<uint8_t>::Copy(env, streamBytes.data(), (size_t)n);
}

}  // namespace

void RegisterReceiveStream(Napi::Env env, Napi::Object exports) {
  exports.Set("recvStream", Napi::Function::New(env, RecvStream));
}

}  // namespace ipnbus
