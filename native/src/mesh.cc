// The user-space mesh's numbered fan-out and its lock file: flock, a shared
// mapping of the counters, and seqSendToMany, which numbers a broadcast and
// puts it in every receiver's socket under one flock.
//
// The one piece of mesh policy in the addon (native/README.md, "Policy"):
// the order rule "take the lock, take the next number, send to every
// receiver, release" runs here as one call, because done from JavaScript
// it would cost a call per receiver while every other sender waits for the
// lock. What to send, to whom, and what to do with a full receiver stays in
// the transport (src/user/sender.ts).
#include "send.h"

#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>

namespace ipnbus {

namespace {

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

// Writes v little-endian into h[off, off + bytes).
void PutLE(uint8_t *h, int off, uint64_t v, int bytes) {
  for (int b = 0; b < bytes; b++) h[off + b] = (uint8_t)(v >> (8 * b));
}

// seqSendToMany(lockFd, counter: Buffer, fds: Int32Array, drops: Int32Array
//               | null, parts, seqOffset, dropOffset, results: Int32Array,
//               keepLock?) -> number
//
// Takes flock(lockFd) without waiting: if another process holds it, nothing
// is sent and 0 is returned (sequence numbers start at 1). counter is a
// MAP_SHARED mapping of the lock file (mmapShared): its first u64 (host
// order) is the network's last sequence number. The next number is written
// little-endian into parts[0] at seqOffset, drops[i] (if given) into
// parts[0] at dropOffset before the send to fds[i], and results[i] gets the
// bytes sent or -errno. Returns the sequence number.
//
// keepLock (default 0): 1 = return with the lock still held when any send
// failed with EAGAIN, 2 = always. The caller then records, under the same
// lock, what it must before any other sender numbers a message (the user
// backend's holds), and unlocks with flock.
Napi::Value SeqSendToMany(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int lockFd = ArgFd(info, 0);
  if (!info[1].IsBuffer()) ThrowType(env, "counter must be a Buffer (mmapShared)");
  Napi::Buffer<uint8_t> counter = info[1].As<Napi::Buffer<uint8_t>>();
  if (counter.Length() < 8) ThrowType(env, "counter too short");
  if (!info[2].IsTypedArray()) ThrowType(env, "fds must be an Int32Array");
  Napi::Int32Array fds = info[2].As<Napi::Int32Array>();
  bool haveDrops = info[3].IsTypedArray();
  Napi::Int32Array drops;
  if (haveDrops) drops = info[3].As<Napi::Int32Array>();
  if (!info[4].IsArray()) ThrowType(env, "parts must be an array");
  Napi::Array partsArr = info[4].As<Napi::Array>();
  if (partsArr.Length() < 1 || !partsArr.Get((uint32_t)0).IsTypedArray()) ThrowType(env, "parts[0] must be the header");
  Napi::Uint8Array hdr = partsArr.Get((uint32_t)0).As<Napi::Uint8Array>();
  std::vector<struct iovec> iov;
  CollectIov(env, info[4], iov);
  int seqOffset = ArgInt(info, 5, "seqOffset");
  int dropOffset = ArgInt(info, 6, "dropOffset");
  if (!info[7].IsTypedArray()) ThrowType(env, "results must be an Int32Array");
  Napi::Int32Array res = info[7].As<Napi::Int32Array>();
  int keepLock = info.Length() > 8 && !info[8].IsUndefined() ? ArgInt(info, 8, "keepLock") : 0;
  if (keepLock < 0 || keepLock > 2) ThrowType(env, "keepLock must be 0, 1 or 2");
  size_t n = fds.ElementLength();
  if (res.ElementLength() < n || (haveDrops && drops.ElementLength() < n)) ThrowType(env, "array lengths differ");
  if (seqOffset < 0 || (size_t)seqOffset + 8 > hdr.ByteLength() || dropOffset < 0 ||
      (size_t)dropOffset + 4 > hdr.ByteLength()) {
    ThrowType(env, "header too short for offsets");
  }
  // Never wait for the lock here: this runs on the event loop, and a holder
  // (another member mid fan-out, or any process that opened the file) could
  // freeze it. The caller retries later.
  while (flock(lockFd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
    if (errno != EINTR) ThrowErrno(env, errno, "flock");
  }
  volatile uint64_t *ctr = reinterpret_cast<volatile uint64_t *>(counter.Data());
  uint64_t seq = *ctr + 1;
  *ctr = seq;
  uint8_t *h = hdr.Data();
  PutLE(h, seqOffset, seq, 8);
  struct msghdr mh;
  memset(&mh, 0, sizeof(mh));
  mh.msg_iov = iov.data();
  mh.msg_iovlen = iov.size();
  for (size_t i = 0; i < n; i++) {
    if (haveDrops) PutLE(h, dropOffset, (uint32_t)drops[i], 4);
    res[i] = SendRetrying(fds[i], &mh, MSG_DONTWAIT);
    if (res[i] == -EAGAIN && keepLock == 1) keepLock = 2;
  }
  if (keepLock != 2) flock(lockFd, LOCK_UN);
  return Napi::Number::New(env, (double)seq);
}

}  // namespace

void RegisterMesh(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("mmapShared", Napi::Function::New(env, MmapShared));
  exports.Set("seqSendToMany", Napi::Function::New(env, SeqSendToMany));
}

}  // namespace ipnbus
