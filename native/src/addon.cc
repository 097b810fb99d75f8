// ipnbus native addon: the syscalls Node lacks (AF_IPN, AF_UNIX SOCK_SEQPACKET,
// sendmsg/recvmmsg with ids, creds and fds, socket filters, flock, epoll) and
// libuv readiness. The transport decides what to do; the one exception,
// numbering a mesh broadcast under the lock, is in mesh.cc (and README.md).
//
// Files: errors.cc (errno names, argument checks), sockets.cc, send.cc,
// mesh.cc (numbered fan-out, lock file), cmsg.cc (the control message
// parser), receive.cc (one socket), receive-mesh.cc (an epoll set of them),
// poller.cc (libuv readiness), and here the constants and the module.
//
// Error convention: setup calls throw a JS Error whose `code` is the errno
// name and `syscall` the failing call. Hot-path calls (send, accept, flock
// with LOCK_NB) return -errno for the expected "try again" cases instead of
// throwing, because building an Error per EAGAIN would dominate the cost.
#include "addon.h"

#include <errno.h>
#include <linux/filter.h>
#include <sys/file.h>
#include <sys/socket.h>

#include <linux/ipn.h>

#include "layout.h"

namespace ipnbus {

namespace {

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
  N(PACKED_TRUNCATED, kTruncated); N(PACKED_EOF, kEof); N(PACKED_NOTIFY, kNotify); N(PACKED_MORE, kMore);
  N(PACKED_PASS_END, kPassEnd); N(PACKED_HAS_CREDS, kHasCreds);
  N(POLL_READABLE, kPollReadable); N(POLL_WRITABLE, kPollWritable); N(POLL_DISCONNECT, kPollDisconnect);
#undef N
  C(BPF_LD); C(BPF_W); C(BPF_ABS); C(BPF_ALU); C(BPF_AND); C(BPF_K); C(BPF_JMP); C(BPF_JEQ); C(BPF_RET);
#undef C
  c.Set("IPN_FAMILY_SYSFS", Napi::String::New(env, IPN_FAMILY_SYSFS));
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("constants", Constants(env));
  RegisterSockets(env, exports);
  RegisterSend(env, exports);
  RegisterMesh(env, exports);
  RegisterReceive(env, exports);
  RegisterReceiveMesh(env, exports);
  RegisterReceiveStream(env, exports);
  RegisterPoller(env, exports);
  return exports;
}

}  // namespace

}  // namespace ipnbus

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return ipnbus::Init(env, exports);
}

NODE_API_MODULE(ipnbus_native, InitModule)
