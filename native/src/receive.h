// What the receive calls share (receive.cc, receive-mesh.cc): one reusable
// recvmmsg arena, its argument checks, and the packed result object.
#pragma once

#include "addon.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <vector>

#include <linux/ipn.h>

namespace ipnbus {

// Control space per received message: fds + creds + IPN cmsgs, generously.
constexpr size_t kCtrlSpace = CMSG_SPACE(sizeof(int) * kMaxFds) +
                              CMSG_SPACE(sizeof(struct ucred)) +
                              CMSG_SPACE(sizeof(struct ipn_creds)) +
                              CMSG_SPACE(sizeof(__u32)) +
                              CMSG_SPACE(sizeof(struct ipn_member_event)) +
                              CMSG_SPACE(sizeof(__u32)) + 64;

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
extern RecvArena arena;

// One recvmmsg of up to vlen datagrams into the arena. Returns how many
// arrived (0 when none); sets *eof on hang-up.
int RecvRaw(Napi::Env env, int fd, size_t vlen, size_t size, bool *eof);

// vlen (1..1024) and maxBytes (64..8 MiB) arguments.
size_t ArgVlen(const Napi::CallbackInfo &info, size_t i);
size_t ArgSize(const Napi::CallbackInfo &info, size_t i);

// {data, meta, <flag>: value}: `data` takes over *data (freed with the
// Buffer, or at once when empty), `meta` is copied into an Int32Array.
Napi::Object PackedObject(Napi::Env env, std::vector<uint8_t> *data, const std::vector<int32_t> &meta,
                          Napi::Array extras, const char *flag, bool value);

}  // namespace ipnbus
