// Gathering message parts for a send (send.cc), shared with the mesh's
// numbered fan-out (mesh.cc).
#pragma once

#include "addon.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <vector>

namespace ipnbus {

// Collects a Buffer or an array of Buffers/Uint8Arrays into `iov` (empty
// parts skipped). Returns the total byte count.
size_t CollectIov(Napi::Env env, Napi::Value v, std::vector<struct iovec> &iov);

// sendmsg(2) with MSG_NOSIGNAL, retried on EINTR: bytes sent, or -errno.
int32_t SendRetrying(int fd, const struct msghdr *mh, int flags);

}  // namespace ipnbus
