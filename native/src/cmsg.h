// The one parser of received control messages (cmsg.cc): every receive
// call reads fds, credentials and AF_IPN's notices through it.
#pragma once

#include "addon.h"

#include <sys/socket.h>

#include <linux/ipn.h>

namespace ipnbus {

// What a message's control data carried.
struct Cmsgs {
  // SCM_RIGHTS: received fds (close-on-exec; the caller owns them).
  int fds[kMaxFds];
  size_t nfds = 0;
  // SCM_CREDENTIALS or IPN_CMSG_CREDS.
  bool hasCreds = false;
  uint32_t pid = 0, uid = 0, gid = 0;
  // IPN_CMSG_DROPPED: messages lost just before this one.
  uint32_t dropped = 0;
  // IPN_CMSG_MEMBER_EVENT.
  bool hasEvent = false;
  struct ipn_member_event event;
  // IPN_CMSG_EVENTS_LOST, on an overrun notice.
  bool hasEventsLost = false;
  uint32_t eventsLost = 0;
};

// Parses mh's control data into *out (which starts empty).
void ParseCmsgs(struct msghdr *mh, Cmsgs *out);

// The fds as a JS array of numbers.
Napi::Array FdsArray(Napi::Env env, const Cmsgs &c);

// Sets on `o` what the control data carried besides fds and the loss count:
// `creds` (when withCreds), `event` and `eventsLost`. Returns whether it set
// anything.
bool SetNotices(Napi::Env env, Napi::Object o, const Cmsgs &c, bool withCreds);

}  // namespace ipnbus
