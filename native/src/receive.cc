// Receiving from one socket: recvmmsg into a reused arena, as objects
// (recvmmsg) or packed into one Buffer and a table (recvmmsgPacked, for
// AF_IPN).
#include "receive.h"

#include <errno.h>
#include <string.h>

#include "cmsg.h"
#include "layout.h"

namespace ipnbus {

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

Napi::Object PackedObject(Napi::Env env, std::vector<uint8_t> *data, const std::vector<int32_t> &meta,
                          Napi::Array extras, const char *flag, bool value) {
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
  out.Set(flag, Napi::Boolean::New(env, value));
  return out;
}

namespace {

// The i-th datagram of the last RecvRaw (maxBytes `size`), its control data
// parsed into *c. False for a zero-length read without control data: end
// of stream on one socket (our datagrams always carry a header, AF_IPN's
// notices always carry a cmsg).
struct Datagram {
  const uint8_t *bytes;
  size_t len;
  uint64_t from;
  bool truncated;
};

bool TakeDatagram(int i, size_t size, Datagram *d, Cmsgs *c) {
  struct msghdr &mh = arena.hdrs[i].msg_hdr;
  d->len = arena.hdrs[i].msg_len;
  if (d->len == 0 && mh.msg_controllen == 0) return false;
  d->bytes = arena.data.data() + (size_t)i * size;
  d->from = mh.msg_namelen >= sizeof(struct sockaddr_ipn_member) ? arena.names[i].sipnm_id : 0;
  d->truncated = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  ParseCmsgs(&mh, c);
  return true;
}

// The arguments both calls start with: fd, vlen and maxBytes.
struct RecvArgs {
  int fd;
  size_t vlen;
  size_t size;
};

RecvArgs ArgRecv(const Napi::CallbackInfo &info) {
  return {ArgFd(info, 0), ArgVlen(info, 1), ArgSize(info, 2)};
}

// One recvmmsg round: each datagram, its control data parsed, to
// take(i, d, c). Returns how many arrived; sets *eof on hang-up (an error
// or a zero-length read, see TakeDatagram).
template <typename Take>
int RecvRound(Napi::Env env, const RecvArgs &a, bool *eof, Take take) {
  int n = RecvRaw(env, a.fd, a.vlen, a.size, eof);
  for (int i = 0; i < n; i++) {
    Datagram d;
    Cmsgs c;
    if (!TakeDatagram(i, a.size, &d, &c)) {
      *eof = true;
      break;
    }
    take(i, d, c);
  }
  return n;
}

// recvmmsg(fd, vlen, maxBytes) -> RecvItem[] (with `eof` set on hang-up)
Napi::Value RecvMmsg(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RecvArgs a = ArgRecv(info);
  Napi::Array out = Napi::Array::New(env);
  bool eof = false;
  RecvRound(env, a, &eof, [&](int i, const Datagram &d, const Cmsgs &c) {
    Napi::Object m = Napi::Object::New(env);
    m.Set("from", Napi::BigInt::New(env, d.from));
    m.Set("bytes", Napi::Buffer<uint8_t>::Copy(env, d.bytes, d.len));
    if (d.truncated) m.Set("truncated", Napi::Boolean::New(env, true));
    m.Set("fds", FdsArray(env, c));
    m.Set("dropped", Napi::Number::New(env, c.dropped));
    SetNotices(env, m, c, true);
    out.Set((uint32_t)i, m);
  });
  if (eof) out.Set("eof", Napi::Boolean::New(env, true));
  return out;
}

// recvmmsgPacked(fd, vlen, maxBytes, maxRounds) -> null | {data, meta, extras, eof}
// For one AF_IPN socket: reads until the queue is empty (or maxRounds
// recvmmsg calls), one row of kIpnRow int32 per datagram (layout.h), and
// an entry in extras for a datagram with fds or a member notice.
Napi::Value RecvmmsgPacked(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RecvArgs a = ArgRecv(info);
  int maxRounds = ArgInt(info, 3, "maxRounds");
  if (maxRounds < 1 || maxRounds > 1024) ThrowType(env, "maxRounds must be 1..1024");
  std::vector<uint8_t> *data = new std::vector<uint8_t>();
  std::vector<int32_t> meta;
  Napi::Array extras = Napi::Array::New(env);
  uint32_t nextras = 0;
  bool eof = false;
  try {
    for (int round = 0; round < maxRounds; round++) {
      int n = RecvRound(env, a, &eof, [&](int, const Datagram &d, const Cmsgs &c) {
        int flags = (d.truncated ? kTruncated : 0) | (c.hasCreds ? kHasCreds : 0);
        int extra = -1;
        Napi::Object x = Napi::Object::New(env);
        if (SetNotices(env, x, c, false) || c.nfds > 0) {
          x.Set("fds", FdsArray(env, c));
          extra = (int)nextras;
          extras.Set(nextras++, x);
        }
        size_t off = data->size();
        data->insert(data->end(), d.bytes, d.bytes + d.len);
        int32_t row[kIpnRow];
        row[kIpnOffset] = (int32_t)off;
        row[kIpnLength] = (int32_t)d.len;
        row[kIpnFlags] = flags;
        row[kIpnIdLow] = (int32_t)(uint32_t)(d.from & 0xffffffffu);
        row[kIpnIdHigh] = (int32_t)(uint32_t)(d.from >> 32);
        row[kIpnPid] = (int32_t)c.pid;
        row[kIpnUid] = (int32_t)c.uid;
        row[kIpnGid] = (int32_t)c.gid;
        row[kIpnDropped] = (int32_t)c.dropped;
        row[kIpnExtra] = extra;
        meta.insert(meta.end(), row, row + kIpnRow);
      });
      if (eof || (size_t)n < a.vlen) break;
    }
  } catch (...) {
    delete data;
    throw;
  }
  if (meta.empty() && !eof) {
    delete data;
    return env.Null();
  }
  return PackedObject(env, data, meta, extras, "eof", eof);
}

}  // namespace

void RegisterReceive(Napi::Env env, Napi::Object exports) {
  exports.Set("recvmmsg", Napi::Function::New(env, RecvMmsg));
  exports.Set("recvmmsgPacked", Napi::Function::New(env, RecvmmsgPacked));
}

}  // namespace ipnbus
