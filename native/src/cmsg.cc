// Received control messages, parsed once for every receive call.
#include "cmsg.h"

#include <string.h>
#include <unistd.h>

namespace ipnbus {

namespace {

// The type string of an IPN membership notice (IPN_EVENT_*).
const char *EventType(__u32 event) {
  switch (event) {
    case IPN_EVENT_JOIN: return "join";
    case IPN_EVENT_LEAVE: return "leave";
    case IPN_EVENT_OVERRUN: return "overrun";
    default: return "unknown";
  }
}

// Credentials of either kind (struct ucred, struct ipn_creds: pid, uid,
// gid), when the cmsg is large enough to hold them.
template <typename Creds>
void TakeCreds(struct cmsghdr *c, size_t dlen, Cmsgs *out) {
  if (dlen < sizeof(Creds)) return;
  Creds cr;
  memcpy(&cr, CMSG_DATA(c), sizeof(cr));
  out->hasCreds = true;
  out->pid = cr.pid;
  out->uid = cr.uid;
  out->gid = cr.gid;
}

}  // namespace

void ParseCmsgs(struct msghdr *mh, Cmsgs *out) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    size_t dlen = c->cmsg_len - CMSG_LEN(0);
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      const int *fds = (const int *)CMSG_DATA(c);
      for (size_t k = 0; k < dlen / sizeof(int); k++) {
        // More than SCM_MAX_FD cannot arrive; were it to, they are closed
        // rather than leaked.
        if (out->nfds < (size_t)kMaxFds) out->fds[out->nfds++] = fds[k];
        else close(fds[k]);
      }
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      TakeCreds<struct ucred>(c, dlen, out);
    } else if (c->cmsg_level != SOL_IPN) {
      continue;
    } else if (c->cmsg_type == IPN_CMSG_CREDS) {
      TakeCreds<struct ipn_creds>(c, dlen, out);
    } else if (c->cmsg_type == IPN_CMSG_DROPPED && dlen >= sizeof(__u32)) {
      memcpy(&out->dropped, CMSG_DATA(c), sizeof(out->dropped));
    } else if (c->cmsg_type == IPN_CMSG_MEMBER_EVENT && dlen >= sizeof(struct ipn_member_event)) {
      memcpy(&out->event, CMSG_DATA(c), sizeof(out->event));
      out->hasEvent = true;
    } else if (c->cmsg_type == IPN_CMSG_EVENTS_LOST && dlen >= sizeof(__u32)) {
      memcpy(&out->eventsLost, CMSG_DATA(c), sizeof(out->eventsLost));
      out->hasEventsLost = true;
    }
  }
}

Napi::Array FdsArray(Napi::Env env, const Cmsgs &c) {
  Napi::Array a = Napi::Array::New(env, c.nfds);
  for (size_t k = 0; k < c.nfds; k++) a.Set((uint32_t)k, Napi::Number::New(env, c.fds[k]));
  return a;
}

bool SetNotices(Napi::Env env, Napi::Object o, const Cmsgs &c, bool withCreds) {
  bool any = false;
  if (withCreds && c.hasCreds) {
    o.Set("creds", CredsObject(env, c.pid, c.uid, c.gid));
    any = true;
  }
  if (c.hasEvent) {
    Napi::Object e = CredsObject(env, c.event.pid, c.event.uid, c.event.gid);
    e.Set("id", Napi::BigInt::New(env, (uint64_t)c.event.id));
    e.Set("type", Napi::String::New(env, EventType(c.event.event)));
    o.Set("event", e);
    any = true;
  }
  if (c.hasEventsLost) {
    o.Set("eventsLost", Napi::Number::New(env, c.eventsLost));
    any = true;
  }
  return any;
}

}  // namespace ipnbus
