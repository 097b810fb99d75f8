// Numbers the addon shares with JavaScript by name (exported in
// `constants`, typed in index.d.ts): the packed receive calls' row layouts
// and flags, and the bits of a Poller's events. JavaScript never reads a
// row by position or re-declares a flag.
#pragma once

namespace ipnbus {

// Row flags of the packed receive calls.
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

// The bits of the `events` a Poller callback gets.
enum PollBits { kPollReadable = 1, kPollWritable = 2, kPollDisconnect = 4 };

}  // namespace ipnbus
