// ipnbus native addon: the syscalls Node lacks (AF_IPN, AF_UNIX SOCK_SEQPACKET,
// sendmsg/recvmmsg with ids, creds and fds, socket filters, flock, epoll) and
// libuv readiness. No policy lives here: the transport decides what to do.
//
// Error convention: setup calls throw a JS Error whose `code` is the errno
// name and `syscall` the failing call. Hot-path calls (send, accept, flock
// with LOCK_NB) return -errno for the expected "try again" cases instead of
// throwing, because building an Error per EAGAIN would dominate the cost.
#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/sockios.h>

#include <string>
#include <vector>

#include <linux/ipn.h>

namespace {

// Largest number of fds we accept or report in one message (SCM_MAX_FD).
constexpr int kMaxFds = 253;
// Control space per received message: fds + creds + IPN cmsgs, generously.
constexpr size_t kCtrlSpace = CMSG_SPACE(sizeof(int) * kMaxFds) +
                              CMSG_SPACE(sizeof(struct ucred)) +
                              CMSG_SPACE(sizeof(struct ipn_creds)) +
                              CMSG_SPACE(sizeof(__u32)) +
                              CMSG_SPACE(sizeof(struct ipn_member_event)) +
                              CMSG_SPACE(sizeof(__u32)) + 64;

// The type string of an IPN membership notice (IPN_EVENT_*).
const char *EventType(__u32 event) {
  switch (event) {
    case IPN_EVENT_JOIN: return "join";
    case IPN_EVENT_LEAVE: return "leave";
    case IPN_EVENT_OVERRUN: return "overrun";
    default: return "unknown";
  }
}

const char *ErrnoName(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOSPC: return "ENOSPC";
    case EPIPE: return "EPIPE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTSOCK: return "ENOTSOCK";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ETOOMANYREFS: return "ETOOMANYREFS";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETDOWN: return "ENETDOWN";
    case ENETUNREACH: return "ENETUNREACH";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNRESET: return "ECONNRESET";
    case ENOBUFS: return "ENOBUFS";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EALREADY: return "EALREADY";
    case EINPROGRESS: return "EINPROGRESS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case EROFS: return "EROFS";
    default: return "EUNKNOWN";
  }
}

Napi::Error ErrnoError(Napi::Env env, int e, const char *syscall) {
  std::string msg = std::string(syscall) + ": " + strerror(e) + " (" + ErrnoName(e) + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, ErrnoName(e)));
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("syscall", Napi::String::New(env, syscall));
  return err;
}

[[noreturn]] void ThrowErrno(Napi::Env env, int e, const char *syscall) {
  throw ErrnoError(env, e, syscall);
}

[[noreturn]] void ThrowType(Napi::Env env, const char *msg) {
  throw Napi::TypeError::New(env, msg);
}

int ArgInt(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    ThrowType(info.Env(), (std::string(what) + " must be a number").c_str());
  }
  return info[i].As<Napi::Number>().Int32Value();
}

int ArgFd(const Napi::CallbackInfo &info, size_t i) {
  int fd = ArgInt(info, i, "fd");
  if (fd < 0) ThrowType(info.Env(), "fd must be a non-negative integer");
  return fd;
}

std::string ArgString(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsString()) {
    ThrowType(info.Env(), (std::string(what) + " must be a string").c_str());
  }
  return info[i].As<Napi::String>().Utf8Value();
}

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

// ---- sockets -------------------------------------------------------------

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

Napi::Value SetsockoptInt(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int level = ArgInt(info, 1, "level");
  int name = ArgInt(info, 2, "name");
  int value = ArgInt(info, 3, "value");
  if (setsockopt(fd, level, name, &value, sizeof(value)) < 0) ThrowErrno(info.Env(), errno, "setsockopt");
  return info.Env().Undefined();
}

Napi::Value GetsockoptInt(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int level = ArgInt(info, 1, "level");
  int name = ArgInt(info, 2, "name");
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, level, name, &value, &len) < 0) ThrowErrno(info.Env(), errno, "getsockopt");
  return Napi::Number::New(info.Env(), value);
}

Napi::Value GetsockoptU64(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int level = ArgInt(info, 1, "level");
  int name = ArgInt(info, 2, "name");
  uint64_t value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, level, name, &value, &len) < 0) ThrowErrno(info.Env(), errno, "getsockopt");
  return Napi::BigInt::New(info.Env(), value);
}

Napi::Value GetsockoptBuffer(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int level = ArgInt(info, 1, "level");
  int name = ArgInt(info, 2, "name");
  int size = ArgInt(info, 3, "size");
  if (size < 0 || size > 65536) ThrowType(info.Env(), "size out of range");
  std::vector<char> buf(size);
  socklen_t len = size;
  if (getsockopt(fd, level, name, buf.data(), &len) < 0) ThrowErrno(info.Env(), errno, "getsockopt");
  return Napi::Buffer<char>::Copy(info.Env(), buf.data(), len);
}

Napi::Object CredsObject(Napi::Env env, uint32_t pid, uint32_t uid, uint32_t gid) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, pid));
  o.Set("uid", Napi::Number::New(env, uid));
  o.Set("gid", Napi::Number::New(env, gid));
  return o;
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

// ---- send ---------------------------------------------------------------

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
  ssize_t r;
  do {
    r = sendmsg(fd, &mh, flags | MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
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
    ssize_t r;
    do {
      r = sendmsg(fds[i], &mh, flags | MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    res[i] = r < 0 ? -errno : (int32_t)r;
    if (r >= 0) ok++;
  }
  return Napi::Number::New(env, ok);
}

// Upper bound of the send-buffer charge (skb truesize) of one unix datagram
// of `len` bytes: linear data is kmalloc'ed (rounded up to a power of two,
// plus skb_shared_info), larger ones spill into whole pages, plus the
// sk_buff itself.
static double TruesizeBound(size_t len) {
  return len <= 16000 ? 2.0 * (double)len + 1664.0 : (double)len + 40000.0;
}

// Sequenced fan-out for the user-space mesh, all under one flock so that a
// sequence number is assigned and the message is in every receiver's kernel
// queue before any other sender can take the next number.
//
// seqSendToMany(lockFd, counter: Buffer, fds: Int32Array, est: Float64Array
//               | null, drops: Int32Array | null, parts, seqOffset,
//               dropOffset, sndbuf, results: Int32Array) -> number
//
// counter is a MAP_SHARED mapping of the lock file (mmapShared): its first
// u64 (host order) is the network's last sequence number. The new number is
// written little-endian into parts[0] at seqOffset; drops[i] (if given) into
// parts[0] at dropOffset before the send to fds[i].
//
// With sndbuf > 0 (lossless) every socket must have room first, so the
// fan-out is all-or-nothing: the kernel accepts a datagram while the bytes
// charged to the sender's socket are below sk_sndbuf. est[i] is the caller's
// upper bound of that charge for fds[i]; only when it reaches sndbuf is the
// real value read (SIOCOUTQ), which keeps the check nearly free. Each send
// adds TruesizeBound(len). If a socket has no room, nothing is sent and
// -(index + 1) is returned. If another process holds the lock, nothing is
// sent and 0 is returned (sequence numbers start at 1). Otherwise returns
// the sequence number.
//
// keepLock (optional, default 0): 1 = return with the lock still held when
// any send failed with EAGAIN, 2 = always return with it held. The caller
// then records, under the same lock, what it must before any other sender
// numbers a message (the user backend's holds), and unlocks with flock.
Napi::Value SeqSendToMany(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int lockFd = ArgFd(info, 0);
  if (!info[1].IsBuffer()) ThrowType(env, "counter must be a Buffer (mmapShared)");
  Napi::Buffer<uint8_t> counter = info[1].As<Napi::Buffer<uint8_t>>();
  if (counter.Length() < 8) ThrowType(env, "counter too short");
  if (!info[2].IsTypedArray()) ThrowType(env, "fds must be an Int32Array");
  Napi::Int32Array fds = info[2].As<Napi::Int32Array>();
  bool haveEst = info[3].IsTypedArray();
  Napi::Float64Array est;
  if (haveEst) est = info[3].As<Napi::Float64Array>();
  bool haveDrops = info[4].IsTypedArray();
  Napi::Int32Array drops;
  if (haveDrops) drops = info[4].As<Napi::Int32Array>();
  if (!info[5].IsArray()) ThrowType(env, "parts must be an array");
  Napi::Array partsArr = info[5].As<Napi::Array>();
  if (partsArr.Length() < 1 || !partsArr.Get((uint32_t)0).IsTypedArray()) ThrowType(env, "parts[0] must be the header");
  Napi::Uint8Array hdr = partsArr.Get((uint32_t)0).As<Napi::Uint8Array>();
  std::vector<struct iovec> iov;
  size_t total = CollectIov(env, info[5], iov);
  int seqOffset = ArgInt(info, 6, "seqOffset");
  int dropOffset = ArgInt(info, 7, "dropOffset");
  int sndbuf = ArgInt(info, 8, "sndbuf");
  if (!info[9].IsTypedArray()) ThrowType(env, "results must be an Int32Array");
  Napi::Int32Array res = info[9].As<Napi::Int32Array>();
  int keepLock = info.Length() > 10 && !info[10].IsUndefined() ? ArgInt(info, 10, "keepLock") : 0;
  if (keepLock < 0 || keepLock > 2) ThrowType(env, "keepLock must be 0, 1 or 2");
  size_t n = fds.ElementLength();
  if (res.ElementLength() < n || (haveDrops && drops.ElementLength() < n) || (haveEst && est.ElementLength() < n)) {
    ThrowType(env, "array lengths differ");
  }
  if (seqOffset < 0 || (size_t)seqOffset + 8 > hdr.ByteLength() || dropOffset < 0 ||
      (size_t)dropOffset + 4 > hdr.ByteLength()) {
    ThrowType(env, "header too short for offsets");
  }
  double charge = TruesizeBound(total);
  // Never wait for the lock here: this runs on the event loop, and a holder
  // (another member mid fan-out, or any process that opened the file) could
  // freeze it. The caller retries later.
  while (flock(lockFd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
    if (errno != EINTR) ThrowErrno(env, errno, "flock");
  }
  if (sndbuf > 0) {
    for (size_t i = 0; i < n; i++) {
      if (haveEst && est[i] < (double)sndbuf) continue;
      int q = 0;
      if (ioctl(fds[i], SIOCOUTQ, &q) != 0) continue;  // a dead peer: send fails below
      if (haveEst) est[i] = q;
      if (q >= sndbuf) {
        flock(lockFd, LOCK_UN);
        return Napi::Number::New(env, -(double)(i + 1));
      }
    }
  }
  volatile uint64_t *ctr = reinterpret_cast<volatile uint64_t *>(counter.Data());
  uint64_t seq = *ctr + 1;
  *ctr = seq;
  uint8_t *h = hdr.Data();
  for (int b = 0; b < 8; b++) h[seqOffset + b] = (uint8_t)(seq >> (8 * b));
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  mh.msg_iov = iov.data();
  mh.msg_iovlen = iov.size();
  for (size_t i = 0; i < n; i++) {
    if (haveDrops) {
      uint32_t d = (uint32_t)drops[i];
      for (int b = 0; b < 4; b++) h[dropOffset + b] = (uint8_t)(d >> (8 * b));
    }
    ssize_t r;
    do {
      r = sendmsg(fds[i], &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    res[i] = r < 0 ? -errno : (int32_t)r;
    if (haveEst && r >= 0) est[i] += charge;
    if (r < 0 && errno == EAGAIN && keepLock == 1) keepLock = 2;
  }
  if (keepLock != 2) flock(lockFd, LOCK_UN);
  return Napi::Number::New(env, (double)seq);
}

// mmapShared(fd, length) -> Buffer over a MAP_SHARED mapping of the file
// (unmapped when the Buffer is collected). Shared counters without syscalls.
Napi::Value MmapShared(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int len = ArgInt(info, 1, "length");
  if (len < 1 || len > (1 << 20)) ThrowType(info.Env(), "length must be 1..1MiB");
  void *p = mmap(nullptr, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) ThrowErrno(info.Env(), errno, "mmap");
  return Napi::Buffer<uint8_t>::New(info.Env(), static_cast<uint8_t *>(p), (size_t)len,
                                    [len](Napi::Env, uint8_t *d) { munmap(d, (size_t)len); });
}

// ---- receive ------------------------------------------------------------

// Scratch space reused by every receive call (main thread only).
struct RecvArena {
  size_t vlen = 0, size = 0;
  std::vector<uint8_t> data;
  std::vector<uint8_t> ctrl;
  std::vector<struct mmsghdr> hdrs;
  std::vector<struct iovec> iovs;
  std::vector<struct sockaddr_ipn_member> names;

  void Ensure(size_t v, size_t s) {
    if (v <= vlen && s <= size) return;
    vlen = v > vlen ? v : vlen;
    size = s > size ? s : size;
    data.assign(vlen * size, 0);
    ctrl.assign(vlen * kCtrlSpace, 0);
    hdrs.resize(vlen);
    iovs.resize(vlen);
    names.resize(vlen);
  }
};
RecvArena arena;

// One recvmmsg of up to vlen datagrams into the arena. Returns how many
// arrived (0 when none); sets *eof on hang-up.
int RecvRaw(Napi::Env env, int fd, size_t vlen, size_t size, bool *eof) {
  arena.Ensure(vlen, size);
  for (size_t i = 0; i < vlen; i++) {
    arena.iovs[i].iov_base = arena.data.data() + i * size;
    arena.iovs[i].iov_len = size;
    struct msghdr &mh = arena.hdrs[i].msg_hdr;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &arena.iovs[i];
    mh.msg_iovlen = 1;
    mh.msg_name = &arena.names[i];
    mh.msg_namelen = sizeof(arena.names[i]);
    mh.msg_control = arena.ctrl.data() + i * kCtrlSpace;
    mh.msg_controllen = kCtrlSpace;
    arena.hdrs[i].msg_len = 0;
  }
  int n;
  do {
    n = recvmmsg(fd, arena.hdrs.data(), vlen, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    if (e == EAGAIN) return 0;
    if (e == ECONNRESET || e == ENOTCONN || e == EPIPE) {
      *eof = true;
      return 0;
    }
    ThrowErrno(env, e, "recvmmsg");
  }
  return n;
}

// Receives up to vlen datagrams from fd into `out` (appending). Returns the
// number of items appended; sets *eof when the peer hung up.
uint32_t RecvInto(Napi::Env env, int fd, size_t vlen, size_t size, Napi::Array out, uint32_t idx, bool *eof) {
  int n = RecvRaw(env, fd, vlen, size, eof);
  uint32_t added = 0;
  for (int i = 0; i < n; i++) {
    struct msghdr &mh = arena.hdrs[i].msg_hdr;
    size_t len = arena.hdrs[i].msg_len;
    bool hasCtrl = mh.msg_controllen > 0;
    if (len == 0 && !hasCtrl) {
      // A zero-length read without control data is end of stream: our
      // datagrams always carry a header, IPN events always carry a cmsg.
      *eof = true;
      break;
    }
    Napi::Object m = Napi::Object::New(env);
    uint64_t from = 0;
    if (mh.msg_namelen >= sizeof(struct sockaddr_ipn_member)) from = arena.names[i].sipnm_id;
    m.Set("from", Napi::BigInt::New(env, (uint64_t)from));
    m.Set("bytes", Napi::Buffer<uint8_t>::Copy(env, arena.data.data() + i * size, len));
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) m.Set("truncated", Napi::Boolean::New(env, true));
    Napi::Array fdsArr = Napi::Array::New(env);
    uint32_t nf = 0;
    uint32_t dropped = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      size_t dlen = c->cmsg_len - CMSG_LEN(0);
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int *fds = (int *)CMSG_DATA(c);
        for (size_t k = 0; k < dlen / sizeof(int); k++) fdsArr.Set(nf++, Napi::Number::New(env, fds[k]));
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && dlen >= sizeof(struct ucred)) {
        struct ucred uc;
        memcpy(&uc, CMSG_DATA(c), sizeof(uc));
        m.Set("creds", CredsObject(env, uc.pid, uc.uid, uc.gid));
      } else if (c->cmsg_level == SOL_IPN && c->cmsg_type == IPN_CMSG_CREDS && dlen >= sizeof(struct ipn_creds)) {
        struct ipn_creds ic;
        memcpy(&ic, CMSG_DATA(c), sizeof(ic));
        m.Set("creds", CredsObject(env, ic.pid, ic.uid, ic.gid));
      } else if (c->cmsg_level == SOL_IPN && c->cmsg_type == IPN_CMSG_DROPPED && dlen >= sizeof(__u32)) {
        memcpy(&dropped, CMSG_DATA(c), sizeof(dropped));
      } else if (c->cmsg_level == SOL_IPN && c->cmsg_type == IPN_CMSG_MEMBER_EVENT &&
                 dlen >= sizeof(struct ipn_member_event)) {
        struct ipn_member_event ev;
        memcpy(&ev, CMSG_DATA(c), sizeof(ev));
        Napi::Object e = CredsObject(env, ev.pid, ev.uid, ev.gid);
        e.Set("id", Napi::BigInt::New(env, (uint64_t)ev.id));
        e.Set("type", Napi::String::New(env, EventType(ev.event)));
        m.Set("event", e);
      } else if (c->cmsg_level == SOL_IPN && c->cmsg_type == IPN_CMSG_EVENTS_LOST && dlen >= sizeof(__u32)) {
        __u32 lost;
        memcpy(&lost, CMSG_DATA(c), sizeof(lost));
        m.Set("eventsLost", Napi::Number::New(env, lost));
      }
    }
    m.Set("fds", fdsArr);
    m.Set("dropped", Napi::Number::New(env, dropped));
    out.Set(idx + added, m);
    added++;
  }
  return added;
}

size_t ArgVlen(const Napi::CallbackInfo &info, size_t i) {
  int v = ArgInt(info, i, "vlen");
  if (v < 1 || v > 1024) ThrowType(info.Env(), "vlen must be 1..1024");
  return (size_t)v;
}

size_t ArgSize(const Napi::CallbackInfo &info, size_t i) {
  int v = ArgInt(info, i, "maxBytes");
  if (v < 64 || v > 8 * 1024 * 1024) ThrowType(info.Env(), "maxBytes must be 64..8MiB");
  return (size_t)v;
}

// recvmmsg(fd, vlen, maxBytes) -> {items: RecvItem[], eof: boolean}
Napi::Value RecvMmsg(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  size_t vlen = ArgVlen(info, 1);
  size_t size = ArgSize(info, 2);
  Napi::Array out = Napi::Array::New(env);
  bool eof = false;
  RecvInto(env, fd, vlen, size, out, 0, &eof);
  if (eof) out.Set("eof", Napi::Boolean::New(env, true));
  return out;
}

// ---- epoll: one libuv handle for a whole mesh of sockets ----------------

Napi::Value EpollCreate(const Napi::CallbackInfo &info) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) ThrowErrno(info.Env(), errno, "epoll_create1");
  return Napi::Number::New(info.Env(), fd);
}

// epollAdd(epfd, fd, notifyOnly): readable interest (level-triggered). A
// notify-only fd (a listener) is reported to JS instead of being read.
Napi::Value EpollAdd(const Napi::CallbackInfo &info) {
  int epfd = ArgFd(info, 0);
  int fd = ArgFd(info, 1);
  bool notify = info.Length() > 2 && info[2].ToBoolean().Value();
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = (uint64_t)(uint32_t)fd | ((uint64_t)(notify ? 1 : 0) << 32);
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) ThrowErrno(info.Env(), errno, "epoll_ctl");
  return info.Env().Undefined();
}

Napi::Value EpollDel(const Napi::CallbackInfo &info) {
  int epfd = ArgFd(info, 0);
  int fd = ArgFd(info, 1);
  if (epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr) < 0 && errno != ENOENT && errno != EBADF) {
    ThrowErrno(info.Env(), errno, "epoll_ctl");
  }
  return info.Env().Undefined();
}

// ---- packed batch receive for a mesh of sockets ----------------------------

// Row layouts and flags of the packed receive calls, exported by name in
// `constants` (PACKED_*) so that the transport never reads them by position
// or re-declares them.
enum PackedFlags {
  kTruncated = 1,
  kEof = 2,
  kNotify = 4,
  kMore = 8,
  kPassEnd = 16,
  kHasCreds = 32,
};
// recvReadyPacked rows: fd, offset, length, flags, extras index.
enum MeshColumn { kMeshFd, kMeshOffset, kMeshLength, kMeshFlags, kMeshExtra, kMeshRow };
// recvmmsgPacked rows: offset, length, flags, id low, id high, pid, uid,
// gid, dropped, extras index.
enum IpnColumn {
  kIpnOffset, kIpnLength, kIpnFlags, kIpnIdLow, kIpnIdHigh, kIpnPid, kIpnUid, kIpnGid, kIpnDropped, kIpnExtra,
  kIpnRow
};

// Collects datagrams of many sockets into one byte block plus a meta table,
// so a whole batch costs JS a handful of allocations instead of one object
// per message.
struct Packed {
  std::vector<uint8_t> *data = new std::vector<uint8_t>();
  std::vector<int32_t> meta;
  Napi::Array extras;
  uint32_t nextras = 0;
  size_t items = 0;

  void Add(int fd, size_t off, size_t len, int flags, int extra) {
    meta.push_back(fd);
    meta.push_back((int32_t)off);
    meta.push_back((int32_t)len);
    meta.push_back(flags);
    meta.push_back(extra);
    items++;
  }
};

// A zero-length read on a mesh socket is either the peer's hang-up or an
// empty datagram a peer sent (recvmsg returns 0 for both). It is the hang-up
// only when no later datagram of this read carries anything and the socket
// reports the peer's shutdown with nothing left queued; otherwise the empty
// datagram is reported as one (length 0) and the transport rejects it. A
// hang-up misread as an empty datagram costs nothing: epoll is level
// triggered, and the next pass reads the hang-up again.
bool ZeroReadIsHangUp(int fd, int i, int n) {
  for (int j = i + 1; j < n; j++) {
    if (arena.hdrs[j].msg_len > 0 || arena.hdrs[j].msg_hdr.msg_controllen > 0) return false;
  }
  struct pollfd pfd;
  pfd.fd = fd;
  pfd.events = POLLRDHUP;
  pfd.revents = 0;
  if (poll(&pfd, 1, 0) <= 0 || (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0) return false;
  int queued = 0;
  return ioctl(fd, SIOCINQ, &queued) != 0 || queued == 0;
}

// Drains fd (bounded) into p. Returns false when the socket may hold more.
bool DrainPacked(Napi::Env env, int fd, size_t vlen, size_t size, Packed &p, bool *eof) {
  // Start small and grow: at low rates a wake-up finds one datagram, and
  // preparing vlen headers for it touches kilobytes of cold memory.
  size_t v = vlen < 4 ? vlen : 4;
  for (int round = 0; round < 8; round++) {
    int n = RecvRaw(env, fd, v, size, eof);
    for (int i = 0; i < n; i++) {
      struct msghdr &mh = arena.hdrs[i].msg_hdr;
      size_t len = arena.hdrs[i].msg_len;
      if (len == 0 && mh.msg_controllen == 0 && ZeroReadIsHangUp(fd, i, n)) {
        *eof = true;
        return true;
      }
      int flags = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? kTruncated : 0;
      int extra = -1;
      if (mh.msg_controllen > 0) {
        Napi::Object x = Napi::Object::New(env);
        Napi::Array fdsArr = Napi::Array::New(env);
        uint32_t nf = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
          size_t dlen = c->cmsg_len - CMSG_LEN(0);
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int *fds = (int *)CMSG_DATA(c);
            for (size_t k = 0; k < dlen / sizeof(int); k++) fdsArr.Set(nf++, Napi::Number::New(env, fds[k]));
          } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                     dlen >= sizeof(struct ucred)) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(c), sizeof(uc));
            x.Set("creds", CredsObject(env, uc.pid, uc.uid, uc.gid));
          }
        }
        x.Set("fds", fdsArr);
        extra = (int)p.nextras;
        p.extras.Set(p.nextras++, x);
      }
      size_t off = p.data->size();
      p.data->insert(p.data->end(), arena.data.data() + (size_t)i * size, arena.data.data() + (size_t)i * size + len);
      p.Add(fd, off, len, flags, extra);
    }
    if (*eof || (size_t)n < v) return true;
    if (v < vlen) v = v * 4 < vlen ? v * 4 : vlen;
  }
  return false;
}

// recvReadyPacked(epfd, maxEvents, vlen, maxBytes, maxPasses)
//   -> null | {data: Buffer, meta: Int32Array, extras: object[], settled}
// Runs passes (non-blocking epoll_wait, then drain every ready socket) until
// a pass finds nothing (settled = true) or maxPasses ran. meta holds five
// int32 per item: fd, offset and length in data, flags (1 truncated, 2 eof,
// 4 notify-only fd ready, 8 socket/set may hold more, 16 end of a pass), and
// an index into extras (fds, creds) or -1.
Napi::Value RecvReadyPacked(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int epfd = ArgFd(info, 0);
  int maxEvents = ArgInt(info, 1, "maxEvents");
  if (maxEvents < 1 || maxEvents > 4096) ThrowType(env, "maxEvents must be 1..4096");
  size_t vlen = ArgVlen(info, 2);
  size_t size = ArgSize(info, 3);
  int maxPasses = ArgInt(info, 4, "maxPasses");
  if (maxPasses < 1 || maxPasses > 64) ThrowType(env, "maxPasses must be 1..64");
  // Reused between calls (main thread only): no per-wake-up allocation.
  static std::vector<struct epoll_event> evs;
  if (evs.size() < (size_t)maxEvents) evs.resize(maxEvents);
  Packed p;
  p.extras = Napi::Array::New(env);
  bool settled = false;
  // Sockets whose hang-up this call already reported. epoll keeps reporting
  // a hung-up socket until the transport closes it, which happens only after
  // this call returns; a second report would arrive after the transport
  // closed the fd and perhaps handed its number to a connection accepted in
  // between, and would be taken for that connection's hang-up.
  std::vector<int> hungUp;
  try {
    for (int pass = 0; pass < maxPasses; pass++) {
      int n;
      do {
        n = epoll_wait(epfd, evs.data(), maxEvents, 0);
      } while (n < 0 && errno == EINTR);
      if (n < 0) ThrowErrno(env, errno, "epoll_wait");
      if (n == 0) {
        settled = true;
        break;
      }
      if (n == maxEvents) p.Add(-1, 0, 0, kMore, -1);
      for (int i = 0; i < n; i++) {
        int fd = (int)(uint32_t)(evs[i].data.u64 & 0xffffffffu);
        if ((evs[i].data.u64 >> 32) != 0) {
          p.Add(fd, 0, 0, kNotify, -1);
          continue;
        }
        bool reported = false;
        for (int h : hungUp) reported = reported || h == fd;
        if (reported) continue;
        bool eof = false;
        bool complete = DrainPacked(env, fd, vlen, size, p, &eof);
        if (!complete) p.Add(fd, 0, 0, kMore, -1);
        else if (!eof && (evs[i].events & (EPOLLHUP | EPOLLERR)) && ZeroReadIsHangUp(fd, 0, 0)) eof = true;
        if (eof) {
          p.Add(fd, 0, 0, kEof, -1);
          hungUp.push_back(fd);
        }
      }
      p.Add(-1, 0, 0, kPassEnd, -1);
    }
  } catch (...) {
    delete p.data;
    throw;
  }
  if (p.items == 0) {
    delete p.data;
    return env.Null();
  }
  Napi::Object out = Napi::Object::New(env);
  std::vector<uint8_t> *data = p.data;
  Napi::Buffer<uint8_t> buf = data->empty()
      ? Napi::Buffer<uint8_t>::New(env, 0)
      : Napi::Buffer<uint8_t>::New(env, data->data(), data->size(),
                                   [data](Napi::Env, uint8_t *) { delete data; });
  if (data->empty()) delete data;
  out.Set("data", buf);
  Napi::Int32Array meta = Napi::Int32Array::New(env, p.meta.size());
  memcpy(meta.Data(), p.meta.data(), p.meta.size() * sizeof(int32_t));
  out.Set("meta", meta);
  out.Set("extras", p.extras);
  out.Set("settled", Napi::Boolean::New(env, settled));
  return out;
}

// recvmmsgPacked(fd, vlen, maxBytes, maxRounds) -> null | {data, meta, extras, eof}
// For one AF_IPN socket: reads until the queue is empty (or maxRounds
// recvmmsg calls), packing ten int32 per datagram into meta: offset, length,
// flags (1 truncated, 32 has creds), sender id low and high 32 bits, pid,
// uid, gid, dropped, extras index (fds or a member event) or -1.
Napi::Value RecvmmsgPacked(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  size_t vlen = ArgVlen(info, 1);
  size_t size = ArgSize(info, 2);
  int maxRounds = ArgInt(info, 3, "maxRounds");
  if (maxRounds < 1 || maxRounds > 1024) ThrowType(env, "maxRounds must be 1..1024");
  std::vector<uint8_t> *data = new std::vector<uint8_t>();
  std::vector<int32_t> meta;
  Napi::Array extras = Napi::Array::New(env);
  uint32_t nextras = 0;
  bool eof = false;
  try {
    for (int round = 0; round < maxRounds; round++) {
      int n = RecvRaw(env, fd, vlen, size, &eof);
      for (int i = 0; i < n; i++) {
        struct msghdr &mh = arena.hdrs[i].msg_hdr;
        size_t len = arena.hdrs[i].msg_len;
        if (len == 0 && mh.msg_controllen == 0) {
          eof = true;
          break;
        }
        int flags = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? kTruncated : 0;
        uint64_t from = mh.msg_namelen >= sizeof(struct sockaddr_ipn_member) ? arena.names[i].sipnm_id : 0;
        uint32_t pid = 0, uid = 0, gid = 0, dropped = 0;
        int extra = -1;
        Napi::Object x;
        uint32_t nf = 0;
        Napi::Array fdsArr;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
          size_t dlen = c->cmsg_len - CMSG_LEN(0);
          if (c->cmsg_level == SOL_IPN && c->cmsg_type == IPN_CMSG_CREDS && dlen >= sizeof(struct ipn_creds)) {
            struct ipn_creds ic;
            memcpy(&ic, CMSG_DATA(c), sizeof(ic));
            pid = ic.pid;
            uid = ic.uid;
            gid = ic.gid;
            flags |= kHasCreds;
          } else if (c->cmsg_level == SOL_IPN && c->cmsg_type == IPN_CMSG_DROPPED && dlen >= sizeof(__u32)) {
            memcpy(&dropped, CMSG_DATA(c), sizeof(dropped));
          } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            if (x.IsEmpty()) x = Napi::Object::New(env);
            if (fdsArr.IsEmpty()) fdsArr = Napi::Array::New(env);
            int *fds = (int *)CMSG_DATA(c);
            for (size_t k = 0; k < dlen / sizeof(int); k++) fdsArr.Set(nf++, Napi::Number::New(env, fds[k]));
          } else if (c->cmsg_level == SOL_IPN && c->cmsg_type == IPN_CMSG_MEMBER_EVENT &&
                     dlen >= sizeof(struct ipn_member_event)) {
            struct ipn_member_event ev;
            memcpy(&ev, CMSG_DATA(c), sizeof(ev));
            if (x.IsEmpty()) x = Napi::Object::New(env);
            Napi::Object e = CredsObject(env, ev.pid, ev.uid, ev.gid);
            e.Set("id", Napi::BigInt::New(env, (uint64_t)ev.id));
            e.Set("type", Napi::String::New(env, EventType(ev.event)));
            x.Set("event", e);
          } else if (c->cmsg_level == SOL_IPN && c->cmsg_type == IPN_CMSG_EVENTS_LOST && dlen >= sizeof(__u32)) {
            __u32 lost;
            memcpy(&lost, CMSG_DATA(c), sizeof(lost));
            if (x.IsEmpty()) x = Napi::Object::New(env);
            x.Set("eventsLost", Napi::Number::New(env, lost));
          }
        }
        if (!x.IsEmpty()) {
          x.Set("fds", fdsArr.IsEmpty() ? Napi::Array::New(env) : fdsArr);
          extra = (int)nextras;
          extras.Set(nextras++, x);
        }
        size_t off = data->size();
        data->insert(data->end(), arena.data.data() + (size_t)i * size, arena.data.data() + (size_t)i * size + len);
        int32_t row[kIpnRow] = {(int32_t)off, (int32_t)len, flags, (int32_t)(uint32_t)(from & 0xffffffffu),
                           (int32_t)(uint32_t)(from >> 32), (int32_t)pid, (int32_t)uid, (int32_t)gid,
                           (int32_t)dropped, extra};
        meta.insert(meta.end(), row, row + kIpnRow);
      }
      if (eof || (size_t)n < vlen) break;
    }
  } catch (...) {
    delete data;
    throw;
  }
  if (meta.empty() && !eof) {
    delete data;
    return env.Null();
  }
  Napi::Object out = Napi::Object::New(env);
  if (data->empty()) {
    delete data;
    out.Set("data", Napi::Buffer<uint8_t>::New(env, 0));
  } else {
    out.Set("data", Napi::Buffer<uint8_t>::New(env, data->data(), data->size(),
                                               [data](Napi::Env, uint8_t *) { delete data; }));
  }
  Napi::Int32Array m = Napi::Int32Array::New(env, meta.size());
  if (!meta.empty()) memcpy(m.Data(), meta.data(), meta.size() * sizeof(int32_t));
  out.Set("meta", m);
  out.Set("extras", extras);
  out.Set("eof", Napi::Boolean::New(env, eof));
  return out;
}

// dup(fd) with close-on-exec: lets a message to oneself carry its own fds.
Napi::Value Dup(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (nfd < 0) ThrowErrno(info.Env(), errno, "fcntl");
  return Napi::Number::New(info.Env(), nfd);
}

// ---- flock ----------------------------------------------------------------

// flock(fd, op): 0, or -EWOULDBLOCK with LOCK_NB when held elsewhere.
Napi::Value Flock(const Napi::CallbackInfo &info) {
  int fd = ArgFd(info, 0);
  int op = ArgInt(info, 1, "op");
  int r;
  do {
    r = flock(fd, op);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EWOULDBLOCK) return Napi::Number::New(info.Env(), -EWOULDBLOCK);
    ThrowErrno(info.Env(), errno, "flock");
  }
  return Napi::Number::New(info.Env(), 0);
}

// ---- Poller: libuv readiness for one fd -------------------------------------

// The bits of the `events` a Poller callback gets (constants POLL_*).
enum PollBits { kPollReadable = 1, kPollWritable = 2, kPollDisconnect = 4 };

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

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define C(name) c.Set(#name, Napi::Number::New(env, name))
  C(AF_UNIX); C(SOCK_SEQPACKET); C(SOCK_RAW); C(SOCK_DGRAM); C(SOL_SOCKET);
  C(SO_SNDBUF); C(SO_RCVBUF); C(SO_SNDBUFFORCE); C(SO_RCVBUFFORCE); C(SO_PASSCRED);
  C(MSG_DONTWAIT); C(LOCK_EX); C(LOCK_SH); C(LOCK_UN); C(LOCK_NB);
  C(EAGAIN); C(EPIPE); C(ECONNRESET); C(EHOSTUNREACH); C(ENOTCONN); C(EINPROGRESS); C(EWOULDBLOCK);
  C(IPN_FAMILY_DEFAULT); C(IPN_ANY); C(IPN_BROADCAST); C(IPN_PATH_MAX); C(SOL_IPN);
  C(IPN_SO_MODE); C(IPN_SO_FLAGS); C(IPN_SO_MTU); C(IPN_FLAG_LOSSLESS); C(IPN_MTU_DEFAULT); C(IPN_MTU_MAX);
  C(IPN_SO_LOOPBACK); C(IPN_SO_PASSCRED); C(IPN_SO_MEMBER_EVENTS); C(IPN_SO_MEMBER_ID);
  C(IPN_SO_NETINFO); C(IPN_SO_DROPS);
#define N(name, value) c.Set(#name, Napi::Number::New(env, value))
  N(PACKED_MESH_ROW, kMeshRow); N(PACKED_MESH_FD, kMeshFd); N(PACKED_MESH_OFFSET, kMeshOffset);
  N(PACKED_MESH_LENGTH, kMeshLength); N(PACKED_MESH_FLAGS, kMeshFlags); N(PACKED_MESH_EXTRA, kMeshExtra);
  N(PACKED_IPN_ROW, kIpnRow); N(PACKED_IPN_OFFSET, kIpnOffset); N(PACKED_IPN_LENGTH, kIpnLength);
  N(PACKED_IPN_FLAGS, kIpnFlags); N(PACKED_IPN_ID_LOW, kIpnIdLow); N(PACKED_IPN_ID_HIGH, kIpnIdHigh);
  N(PACKED_IPN_PID, kIpnPid); N(PACKED_IPN_UID, kIpnUid); N(PACKED_IPN_GID, kIpnGid);
  N(PACKED_IPN_DROPPED, kIpnDropped); N(PACKED_IPN_EXTRA, kIpnExtra);
  N(POLL_READABLE, kPollReadable); N(POLL_WRITABLE, kPollWritable); N(POLL_DISCONNECT, kPollDisconnect);
#undef N
  c.Set("PACKED_TRUNCATED", Napi::Number::New(env, kTruncated));
  c.Set("PACKED_EOF", Napi::Number::New(env, kEof));
  c.Set("PACKED_NOTIFY", Napi::Number::New(env, kNotify));
  c.Set("PACKED_MORE", Napi::Number::New(env, kMore));
  c.Set("PACKED_PASS_END", Napi::Number::New(env, kPassEnd));
  c.Set("PACKED_HAS_CREDS", Napi::Number::New(env, kHasCreds));
  C(BPF_LD); C(BPF_W); C(BPF_ABS); C(BPF_ALU); C(BPF_AND); C(BPF_K); C(BPF_JMP); C(BPF_JEQ); C(BPF_RET);
#undef C
  c.Set("IPN_FAMILY_SYSFS", Napi::String::New(env, IPN_FAMILY_SYSFS));
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("constants", Constants(env));
  exports.Set("socket", Napi::Function::New(env, Socket));
  exports.Set("bindUnix", Napi::Function::New(env, BindUnix));
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix));
  exports.Set("bindIpn", Napi::Function::New(env, BindIpn));
  exports.Set("connectIpn", Napi::Function::New(env, ConnectIpn));
  exports.Set("listen", Napi::Function::New(env, Listen));
  exports.Set("accept", Napi::Function::New(env, Accept));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("setsockoptInt", Napi::Function::New(env, SetsockoptInt));
  exports.Set("getsockoptInt", Napi::Function::New(env, GetsockoptInt));
  exports.Set("getsockoptU64", Napi::Function::New(env, GetsockoptU64));
  exports.Set("getsockoptBuffer", Napi::Function::New(env, GetsockoptBuffer));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred));
  exports.Set("attachFilter", Napi::Function::New(env, AttachFilter));
  exports.Set("detachFilter", Napi::Function::New(env, DetachFilter));
  exports.Set("sendmsg", Napi::Function::New(env, SendMsg));
  exports.Set("sendToMany", Napi::Function::New(env, SendToMany));
  exports.Set("seqSendToMany", Napi::Function::New(env, SeqSendToMany));
  exports.Set("mmapShared", Napi::Function::New(env, MmapShared));
  exports.Set("recvmmsg", Napi::Function::New(env, RecvMmsg));
  exports.Set("epollCreate", Napi::Function::New(env, EpollCreate));
  exports.Set("epollAdd", Napi::Function::New(env, EpollAdd));
  exports.Set("epollDel", Napi::Function::New(env, EpollDel));
  exports.Set("recvReadyPacked", Napi::Function::New(env, RecvReadyPacked));
  exports.Set("recvmmsgPacked", Napi::Function::New(env, RecvmmsgPacked));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("dup", Napi::Function::New(env, Dup));
  exports.Set("Poller", Poller::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(ipnbus_native, Init)
