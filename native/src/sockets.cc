// Sockets and descriptors: create, bind, connect, listen and accept (unix
// and AF_IPN addresses), close and dup, socket options and peer
// credentials, and classic BPF socket filters. Setup calls: they throw.
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vector>

#include <linux/ipn.h>

namespace ipnbus {

namespace {

// A filesystem or abstract (leading NUL, written "\0name" or "@name") unix
// address. Returns the sockaddr length.
socklen_t FillUnix(Napi::Env env, struct sockaddr_un *sa, const std::string &path) {
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  if (path.empty()) ThrowType(env, "unix path must not be empty");
  bool abstract = path[0] == '\0' || path[0] == '@';
  if (path.size() >= sizeof(sa->sun_path) + (abstract ? 1 : 0)) {
    ThrowErrno(env, ENAMETOOLONG, "sockaddr_un");
  }
  memcpy(sa->sun_path, path.data(), path.size());
  if (abstract) {
    sa->sun_path[0] = '\0';
    return offsetof(struct sockaddr_un, sun_path) + path.size();
  }
  return sizeof(*sa);
}

socklen_t FillIpn(Napi::Env env, struct sockaddr_ipn *sa, int family, const std::string &path) {
  memset(sa, 0, sizeof(*sa));
  sa->sipn_family = (__kernel_sa_family_t)family;
  if (path.empty()) ThrowType(env, "ipn path must not be empty");
  if (path.size() >= IPN_PATH_MAX) ThrowErrno(env, ENAMETOOLONG, "sockaddr_ipn");
  memcpy(sa->sipn_path, path.data(), path.size());
  return sizeof(*sa);
}

}  // namespace

Napi::Object CredsObject(Napi::Env env, uint32_t pid, uint32_t uid, uint32_t gid) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, pid));
  o.Set("uid", Napi::Number::New(env, uid));
  o.Set("gid", Napi::Number::New(env, gid));
  return o;
}

namespace {

// socket(domain, type, protocol): always non-blocking and close-on-exec.
Napi::Value Socket(const Napi::CallbackInfo &info) {
  int domain = ArgInt(info, 0, "domain");
  int type = ArgInt(info, 1, "type");
  int protocol = ArgInt(info, 2, "protocol");
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) ThrowErrno(info.Env(), errno, "socket");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value BindUnix(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  struct sockaddr_un sa;
  socklen_t len = FillUnix(info.Env(), &sa, ArgString(info, 1, "path"));
  if (bind(fd, (struct sockaddr *)&sa, len) < 0) ThrowErrno(info.Env(), errno, "bind");
  return info.Env().Undefined();
}

// Returns 0 when connected, -EAGAIN / -EINPROGRESS when the listener's
// backlog is full (retry later); throws otherwise.
Napi::Value ConnectUnix(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  struct sockaddr_un sa;
  socklen_t len = FillUnix(info.Env(), &sa, ArgString(info, 1, "path"));
  if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
    int e = errno;
    if (e == EAGAIN || e == EINPROGRESS) return Napi::Number::New(info.Env(), -e);
    ThrowErrno(info.Env(), e, "connect");
  }
  return Napi::Number::New(info.Env(), 0);
}

Napi::Value BindIpn(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  struct sockaddr_ipn sa;
  socklen_t len = FillIpn(info.Env(), &sa, ArgInt(info, 1, "family"), ArgString(info, 2, "path"));
  if (bind(fd, (struct sockaddr *)&sa, len) < 0) ThrowErrno(info.Env(), errno, "bind");
  return info.Env().Undefined();
}

Napi::Value ConnectIpn(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  struct sockaddr_ipn sa;
  socklen_t len = FillIpn(info.Env(), &sa, ArgInt(info, 1, "family"), ArgString(info, 2, "path"));
  if (connect(fd, (struct sockaddr *)&sa, len) < 0) ThrowErrno(info.Env(), errno, "connect");
  return info.Env().Undefined();
}

Napi::Value Listen(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int backlog = ArgInt(info, 1, "backlog");
  if (listen(fd, backlog) < 0) ThrowErrno(info.Env(), errno, "listen");
  return info.Env().Undefined();
}

// Returns the new fd (non-blocking, close-on-exec) or -EAGAIN.
Napi::Value Accept(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int nfd = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (nfd < 0) {
    int e = errno;
    if (e == EAGAIN || e == ECONNABORTED || e == EINTR) return Napi::Number::New(info.Env(), -EAGAIN);
    ThrowErrno(info.Env(), e, "accept4");
  }
  return Napi::Number::New(info.Env(), nfd);
}

Napi::Value Close(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  if (close(fd) < 0 && errno != EINTR) ThrowErrno(info.Env(), errno, "close");
  return info.Env().Undefined();
}

// The (fd, level, name) every socket option call starts with.
struct SockoptArgs {
  int fd;
  int level;
  int name;
};

SockoptArgs ArgSockopt(const Napi::CallbackInfo &info) {
  return {ArgFd(info, 0), ArgInt(info, 1, "level"), ArgInt(info, 2, "name")};
}

// getsockopt of a fixed-size value (int, uint64_t).
template <typename T>
T GetsockoptValue(const Napi::CallbackInfo &info) {
  SockoptArgs o = ArgSockopt(info);
  T value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(o.fd, o.level, o.name, &value, &len) < 0) ThrowErrno(info.Env(), errno, "getsockopt");
  return value;
}

Napi::Value SetsockoptInt(const Napi::CallbackInfo &info) {
  SockoptArgs o = ArgSockopt(info);
  int value = ArgInt(info, 3, "value");
  if (setsockopt(o.fd, o.level, o.name, &value, sizeof(value)) < 0) ThrowErrno(info.Env(), errno, "setsockopt");
  return info.Env().Undefined();
}

Napi::Value GetsockoptInt(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), GetsockoptValue<int>(info));
}

Napi::Value GetsockoptU64(const Napi::CallbackInfo &info) {
  return Napi::BigInt::New(info.Env(), GetsockoptValue<uint64_t>(info));
}

Napi::Value GetsockoptBuffer(const Napi::CallbackInfo &info) {
  SockoptArgs o = ArgSockopt(info);
  int size = ArgInt(info, 3, "size");
  if (size < 0 || size > 65536) ThrowType(info.Env(), "size out of range");
  std::vector<char> buf(size);
  socklen_t len = size;
  if (getsockopt(o.fd, o.level, o.name, buf.data(), &len) < 0) ThrowErrno(info.Env(), errno, "getsockopt");
  return Napi::Buffer<char>::Copy(info.Env(), buf.data(), len);
}

Napi::Value PeerCred(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  struct ucred uc;
  socklen_t len = sizeof(uc);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) ThrowErrno(info.Env(), errno, "getsockopt");
  return CredsObject(info.Env(), uc.pid, uc.uid, uc.gid);
}

// attachFilter(fd, prog): prog is a Buffer of struct sock_filter or an array
// of {code, jt, jf, k}.
Napi::Value AttachFilter(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::vector<struct sock_filter> prog;
  if (info.Length() > 1 && info[1].IsBuffer()) {
    Napi::Buffer<uint8_t> b = info[1].As<Napi::Buffer<uint8_t>>();
    if (b.Length() % sizeof(struct sock_filter) != 0) ThrowType(env, "filter buffer length must be a multiple of 8");
    prog.resize(b.Length() / sizeof(struct sock_filter));
    memcpy(prog.data(), b.Data(), b.Length());
  } else if (info.Length() > 1 && info[1].IsArray()) {
    Napi::Array a = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a[i];
      if (!v.IsObject()) ThrowType(env, "filter instruction must be an object");
      Napi::Object o = v.As<Napi::Object>();
      struct sock_filter ins;
      ins.code = (uint16_t)o.Get("code").ToNumber().Uint32Value();
      ins.jt = (uint8_t)o.Get("jt").ToNumber().Uint32Value();
      ins.jf = (uint8_t)o.Get("jf").ToNumber().Uint32Value();
      ins.k = o.Get("k").ToNumber().Uint32Value();
      prog.push_back(ins);
    }
  } else {
    ThrowType(env, "filter must be a Buffer or an array of instructions");
  }
  if (prog.empty() || prog.size() > BPF_MAXINSNS) ThrowType(env, "filter must have 1..4096 instructions");
  struct sock_fprog fp;
  fp.len = (unsigned short)prog.size();
  fp.filter = prog.data();
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0) ThrowErrno(env, errno, "setsockopt");
  return env.Undefined();
}

Napi::Value DetachFilter(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int dummy = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof(dummy)) < 0 && errno != ENOENT) {
    ThrowErrno(info.Env(), errno, "setsockopt");
  }
  return info.Env().Undefined();
}

// dup(fd) with close-on-exec: lets a message to oneself carry its own fds.
Napi::Value Dup(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (nfd < 0) ThrowErrno(info.Env(), errno, "fcntl");
  return Napi::Number::New(info.Env(), nfd);
}

}  // namespace

void RegisterSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("socket", Napi::Function::New(env, Socket));
  exports.Set("bindUnix", Napi::Function::New(env, BindUnix));
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix));
  exports.Set("bindIpn", Napi::Function::New(env, BindIpn));
  exports.Set("connectIpn", Napi::Function::New(env, ConnectIpn));
  exports.Set("listen", Napi::Function::New(env, Listen));
  exports.Set("accept", Napi::Function::New(env, Accept));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("dup", Napi::Function::New(env, Dup));
  exports.Set("setsockoptInt", Napi::Function::New(env, SetsockoptInt));
  exports.Set("getsockoptInt", Napi::Function::New(env, GetsockoptInt));
  exports.Set("getsockoptU64", Napi::Function::New(env, GetsockoptU64));
  exports.Set("getsockoptBuffer", Napi::Function::New(env, GetsockoptBuffer));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred));
  exports.Set("attachFilter", Napi::Function::New(env, AttachFilter));
  exports.Set("detachFilter", Napi::Function::New(env, DetachFilter));
}

}  // namespace ipnbus
