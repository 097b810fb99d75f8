/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ipn.h - AF_IPN (Inter Process Networking): the user-space contract
 *
 * An IPN network is a socket node in the file system.  bind() creates it,
 * connect() joins it; its mode bits say who may receive (r) and send (w),
 * checked once, at connect(), with the caller's credentials, as open(2)
 * checks a file's: a later chmod changes who may join, not what members
 * already in may do.  The x bits are not used.  Every sendmsg() is one
 * message; a broadcast reaches every other member, in one total order per
 * network.
 *
 * Finding the family: IPN has no number of its own.  The module takes
 * IPN_FAMILY_DEFAULT (AF_NETBEUI, unused by mainline) unless loaded with
 * family=N; read the number in use from IPN_FAMILY_SYSFS.
 */
#ifndef _UAPI_LINUX_IPN_H
#define _UAPI_LINUX_IPN_H

#include <linux/types.h>
#include <linux/socket.h>

#define IPN_FAMILY_DEFAULT	13	/* AF_NETBEUI */
#define IPN_FAMILY_SYSFS	"/sys/module/ipn/parameters/family"

/* socket(family, SOCK_RAW, protocol) */
#define IPN_ANY		0	/* connect(): join whatever the network is */
#define IPN_BROADCAST	1	/* every message to every member */

#define IPN_PATH_MAX	108

/* bind() and connect(): the network's socket node */
struct sockaddr_ipn {
	__kernel_sa_family_t sipn_family;
	char sipn_path[IPN_PATH_MAX];
};

/*
 * A member of a network.  recvmsg() fills msg_name with the sender's id;
 * sendmsg() with msg_name set to one of these sends to that member only
 * (EHOSTUNREACH when it is gone).  msg_namelen must be exactly its size
 * and the pad zero, else EINVAL: a struct sockaddr_ipn (a path) is not a
 * destination.  getsockname() gives the network's path as a struct
 * sockaddr_ipn; a path of IPN_PATH_MAX bytes has no terminating NUL.
 */
struct sockaddr_ipn_member {
	__kernel_sa_family_t sipnm_family;
	__u16 sipnm_pad[3];
	__u64 sipnm_id;		/* never 0, never reused in a network */
};

/*
 * Passing files: SCM_RIGHTS on unicast only (EINVAL on a broadcast), up to
 * 253 per message.  Files that can themselves hold files in flight (AF_UNIX
 * and AF_IPN sockets, io_uring instances, Android binder) are refused with
 * EOPNOTSUPP, so no reference cycle can form through an IPN queue.  Files in flight count
 * against the sending user's RLIMIT_NOFILE (ETOOMANYREFS past it) until
 * they are read or freed.  The receiver gets MSG_CTRUNC when its control
 * buffer cannot take them all; 32-bit receivers get them too.
 */

/* setsockopt/getsockopt level */
#define SOL_IPN		257

/* Network properties: set before bind(), fixed for the network's life. */
#define IPN_SO_MODE		1  /* int: node mode, & ~umask (default 0777) */
#define IPN_SO_FLAGS		2  /* int: IPN_FLAG_* */
#define IPN_SO_MTU		3  /* int: max message bytes */

#define IPN_FLAG_LOSSLESS	0x1	/* block senders instead of dropping,
					 * up to IPN_SO_STALL_TIMEOUT */

#define IPN_MTU_DEFAULT		(128 * 1024)
#define IPN_MTU_MAX		(4 * 1024 * 1024)

/*
 * Lossless networks: how long (ms) a full receiver that reads nothing may
 * hold the senders.  Set before bind(), like the properties above.  Once
 * a congested receiver has not read for this long it is switched to
 * overrun: messages that find its queue full are dropped for it alone,
 * counted (IPN_SO_DROPS) and reported with IPN_CMSG_DROPPED on the next
 * message it gets, while the others keep flowing.  It is back to lossless
 * as soon as it has read its queue down to half its SO_RCVBUF.  No member
 * can therefore block a network for longer than this, whatever its
 * permissions.
 */
#define IPN_SO_STALL_TIMEOUT	10 /* int ms: 1..IPN_STALL_TIMEOUT_MAX */

#define IPN_STALL_TIMEOUT_DEFAULT	5000
#define IPN_STALL_TIMEOUT_MAX		60000

/* Member options: any time. */
#define IPN_SO_LOOPBACK		4  /* int bool: own broadcasts come back */
#define IPN_SO_PASSCRED		5  /* int bool: IPN_CMSG_CREDS on each message */
#define IPN_SO_MEMBER_EVENTS	6  /* int bool: join/leave notices, see below */

/* Read-only (getsockopt). */
#define IPN_SO_MEMBER_ID	7  /* __u64: own id, once connected/bound */
#define IPN_SO_NETINFO		8  /* struct ipn_netinfo */
#define IPN_SO_DROPS		9  /* __u64: messages dropped for this member */

struct ipn_netinfo {
	__u32 protocol;		/* IPN_BROADCAST */
	__u32 flags;		/* IPN_FLAG_* */
	__u32 mtu;
	__u32 mode;
	__u32 members;		/* members now connected */
	__u32 __reserved;
};

/* Control messages, cmsg_level SOL_IPN */
#define IPN_CMSG_CREDS		1  /* struct ipn_creds, stamped by the kernel */
#define IPN_CMSG_DROPPED	2  /* __u32: messages lost just before this one */
#define IPN_CMSG_MEMBER_EVENT	3  /* struct ipn_member_event */
#define IPN_CMSG_EVENTS_LOST	4  /* __u32: events lost, on IPN_EVENT_OVERRUN */

/* pid as seen from the receiver's pid namespace, ids from its user ns */
struct ipn_creds {
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__u32 __reserved;
};

#define IPN_EVENT_JOIN		1
#define IPN_EVENT_LEAVE		2
#define IPN_EVENT_OVERRUN	3	/* events were lost: rescan members */

/*
 * With IPN_SO_MEMBER_EVENTS on, the socket first receives one JOIN for
 * every member already in the network, then a JOIN or LEAVE each time a
 * member connects or goes away (close, exit, SIGKILL).  An event is a
 * message of zero bytes whose msg_name is the member concerned and which
 * carries IPN_CMSG_MEMBER_EVENT.  Events are queued in order with the data
 * messages and are not subject to socket filters.
 *
 * Events count against the receiver's SO_RCVBUF like data: an event that
 * finds the queue full is lost.  The first loss queues one
 * IPN_EVENT_OVERRUN notice (member id 0, pid/uid/gid 0) at that point of
 * the order; it carries IPN_CMSG_EVENTS_LOST, the number of events lost
 * from the previous notice up to the moment it is read.  At most one
 * notice is queued at a time, so a socket's queue never exceeds SO_RCVBUF
 * by more than one event and one notice.  A receiver that gets the notice
 * has a stale view of the membership and should rebuild it.
 */
struct ipn_member_event {
	__u64 id;
	__u32 event;		/* IPN_EVENT_* */
	__u32 pid;
	__u32 uid;
	__u32 gid;
};

#endif /* _UAPI_LINUX_IPN_H */
