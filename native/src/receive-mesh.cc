// Receiving from a whole mesh of sockets at once: an epoll set (one libuv
// handle for all of them, see poller.cc) whose ready sockets are drained in
// passes into one Buffer and a table (recvReadyPacked).
#include "receive.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "cmsg.h"
#include "layout.h"

namespace ipnbus {

namespace {

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
    int32_t row[kMeshRow];
    row[kMeshFd] = fd;
    row[kMeshOffset] = (int32_t)off;
    row[kMeshLength] = (int32_t)len;
    row[kMeshFlags] = flags;
    row[kMeshExtra] = extra;
    meta.insert(meta.end(), row, row + kMeshRow);
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
        Cmsgs c;
        ParseCmsgs(&mh, &c);
        Napi::Object x = Napi::Object::New(env);
        x.Set("fds", FdsArray(env, c));
        SetNotices(env, x, c, true);
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
// a pass finds nothing (settled = true) or maxPasses ran. meta holds one
// row of kMeshRow int32 per item (layout.h): fd, offset and length in data,
// flags (truncated, eof, notify-only fd ready, socket/set may hold more, end
// of a pass), and an index into extras (fds, creds) or -1.
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
  return PackedObject(env, p.data, p.meta, p.extras, "settled", settled);
}

}  // namespace

void RegisterReceiveMesh(Napi::Env env, Napi::Object exports) {
  exports.Set("epollCreate", Napi::Function::New(env, EpollCreate));
  exports.Set("epollAdd", Napi::Function::New(env, EpollAdd));
  exports.Set("epollDel", Napi::Function::New(env, EpollDel));
  exports.Set("recvReadyPacked", Napi::Function::New(env, RecvReadyPacked));
}

}  // namespace ipnbus
