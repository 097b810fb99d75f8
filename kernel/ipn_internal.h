/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipn_internal.h - AF_IPN: structures shared by the module's source files
 *
 * See af_ipn.c for the locking rules that govern these structures.
 */
#ifndef _IPN_INTERNAL_H
#define _IPN_INTERNAL_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/path.h>
#include <linux/pid.h>
#include <linux/skbuff.h>
#include <linux/sockptr.h>
#include <linux/timer.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <net/sock.h>

#include "include/uapi/linux/ipn.h"
#include "ipn_compat.h"

/**
 * struct ipn_network - one IPN network, keyed by its socket node's inode
 * @node: entry in ipn_networks, protected by ipn_nets_mutex
 * @path: the socket node (holds the dentry and mount)
 * @name: path string given to bind(), for /proc/net/ipn and getname()
 * @lock: serialises delivery (the total order) and the member list
 * @members: list of struct ipn_sock, protected by @lock
 * @nmembers: length of @members; the network is freed when it drops to 0
 * @next_id: next member id; ids start at 1 and are never reused
 * @wait: lossless senders sleep here until every receiver has room
 * @ncongested: lossless: members with IPN_RX_CONGESTED set, so a sender
 *	scans for congested receivers only when there is one; under @lock it
 *	is never below the number of flags set (set under @lock, count
 *	raised after; cleared anywhere, count lowered after)
 * @stall_timer: lossless: wakes @wait when a congested receiver's stall
 *	timeout expires, so that waiting senders and pollers look again
 * @stall_timeout: IPN_SO_STALL_TIMEOUT in jiffies
 * @protocol: IPN_BROADCAST
 * @flags: IPN_FLAG_*
 * @mtu: largest message in bytes
 * @mode: node permission bits as created
 */
struct ipn_network {
	struct list_head node;
	struct path path;
	char name[IPN_PATH_MAX + 1];
	struct mutex lock;		/* see @lock above and af_ipn.c */
	struct list_head members;
	u32 nmembers;
	u64 next_id;
	wait_queue_head_t wait;
	atomic_t ncongested;
	struct timer_list stall_timer;
	unsigned long stall_timeout;
	u32 protocol;
	u32 flags;
	u32 mtu;
	u32 mode;
};

/**
 * struct ipn_sock - an AF_IPN socket
 * @sk: the generic socket; must stay first
 * @net: network joined, or NULL; set once under lock_sock() and
 *	ipn_nets_mutex, cleared only by release
 * @member: entry in @net->members
 * @id: member id in @net, 0 while not a member
 * @pid: thread group of the process that joined (for events and /proc)
 * @uid: effective uid of the joiner
 * @gid: effective gid of the joiner
 * @may_recv: node granted r at connect time
 * @may_send: node granted w at connect time
 * @loopback: IPN_SO_LOOPBACK
 * @passcred: IPN_SO_PASSCRED
 * @events: IPN_SO_MEMBER_EVENTS
 * @rxflags: IPN_RX_CONGESTED (lossless: this receiver filled up; senders
 *	wait until it has read down to half its SO_RCVBUF; set under
 *	@net->lock when a message fills it or a sender finds it full, cleared
 *	by the receiver or by a sender that sees the room), atomic bit ops
 * @stall_mark: lossless: jiffies when this receiver became congested or
 *	last read while congested; it stalls IPN_SO_STALL_TIMEOUT after that
 * @overrun: lossless: this receiver stalled and loses what does not fit
 *	until it has read down to half its SO_RCVBUF (set under @net->lock,
 *	cleared with @congested)
 * @drops: messages dropped for this member (lossy mode, or lossless in
 *	overrun), under @net->lock
 * @pending_drops: drops not yet reported with IPN_CMSG_DROPPED
 * @events_lost: membership events lost since the last IPN_EVENT_OVERRUN
 *	notice was read, under @net->lock
 * @overrun_queued: an IPN_EVENT_OVERRUN notice is in the queue, unread,
 *	under @net->lock
 * @opt_mode: IPN_SO_MODE before bind()
 * @opt_flags: IPN_SO_FLAGS before bind()
 * @opt_mtu: IPN_SO_MTU before bind()
 * @opt_stall: IPN_SO_STALL_TIMEOUT (ms) before bind()
 * @iolock: serialises this socket's readers from dequeue to freeing the
 *	message (see af_ipn.c)
 */
struct ipn_sock {
	struct sock sk;
	struct ipn_network *net;
	struct list_head member;
	u64 id;
	struct pid *pid;
	kuid_t uid;
	kgid_t gid;
	bool may_recv;
	bool may_send;
	bool loopback;
	bool passcred;
	bool events;
	unsigned long rxflags;
	bool overrun;
	unsigned long stall_mark;
	u64 drops;
	u32 pending_drops;
	u32 events_lost;
	bool overrun_queued;
	u32 opt_mode;
	u32 opt_flags;
	u32 opt_mtu;
	u32 opt_stall;
	struct mutex iolock;		/* see @iolock above and af_ipn.c */
};

#define IPN_RX_CONGESTED	0	/* bit in ipn_sock.rxflags */

static inline struct ipn_sock *ipn_sk(const struct sock *sk)
{
	return (struct ipn_sock *)sk;
}

/*
 * Per-message state in skb->cb.  Each receiver gets its own skb (a clone
 * for broadcasts), so each has its own copy and its own references.
 */
struct ipn_skb_parms {
	u64 from;			/* sender's (or event subject's) id */
	/*
	 * Referenced once queued for an event or a receiver with
	 * IPN_SO_PASSCRED; NULL (pid 0) on data queued for one without.
	 */
	struct pid *pid;
	struct ipn_fds *fp;		/* SCM_RIGHTS, unicast only */
	kuid_t uid;
	kgid_t gid;
	u32 dropped;			/* drops just before this message */
	u16 event;			/* 0 = data, else IPN_EVENT_* */
};

#define IPNCB(skb) ((struct ipn_skb_parms *)&((skb)->cb))

/*
 * Files passed with SCM_RIGHTS.  Our own list rather than the kernel's
 * struct scm_fp_list, whose layout belongs to af_unix's garbage collector.
 */
struct ipn_inflight_user;

struct ipn_fds {
	struct ipn_inflight_user *user;	/* charged sender (ipn_scm.c) */
	unsigned int count;
	struct file *fp[];
};

extern int ipn_family;
extern struct mutex ipn_nets_mutex;
extern struct list_head ipn_networks;

/* ipn_network.c */
void ipn_leave(struct ipn_sock *ipn);
int ipn_bind(struct socket *sock, struct ipn_sockaddr_arg *uaddr, int addr_len);
int ipn_connect(struct socket *sock, struct ipn_sockaddr_arg *uaddr,
		int addr_len, int flags);

/* ipn_sockopt.c */
int ipn_setsockopt(struct socket *sock, int level, int optname,
		   sockptr_t optval, unsigned int optlen);
int ipn_getsockopt(struct socket *sock, int level, int optname,
		   char __user *optval, int __user *optlen);

/* ipn_msg.c */
int ipn_sendmsg(struct socket *sock, struct msghdr *msg, size_t len);
int ipn_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
		int flags);

/**
 * ipn_rx_full - has @rx's queue reached its SO_RCVBUF
 * @rx: a receiver
 *
 * Return: true when a message that must fit would not.
 */
static inline bool ipn_rx_full(struct ipn_sock *rx)
{
	return atomic_read(&rx->sk.sk_rmem_alloc) >=
	       READ_ONCE(rx->sk.sk_rcvbuf);
}

/**
 * ipn_is_receiver - does @rx get @self's broadcasts
 * @rx: a member
 * @self: the sender
 *
 * Return: true if @rx may receive and is not @self, or is @self with
 * IPN_SO_LOOPBACK on.
 */
static inline bool ipn_is_receiver(struct ipn_sock *rx, struct ipn_sock *self)
{
	return rx->may_recv && (rx != self || READ_ONCE(self->loopback));
}

/**
 * ipn_is_congested - is lossless receiver @rx marked congested
 * @rx: a receiver
 *
 * Return: the IPN_RX_CONGESTED bit of @rx->rxflags.
 */
static inline bool ipn_is_congested(struct ipn_sock *rx)
{
	return test_bit(IPN_RX_CONGESTED, &rx->rxflags);
}

/**
 * ipn_net_congested - may any receiver of @net be congested
 * @net: a network
 *
 * A sender's fast path: while it is false, no receiver is congested.
 *
 * Return: true when net->ncongested is not 0.
 */
static inline bool ipn_net_congested(struct ipn_network *net)
{
	return atomic_read(&net->ncongested) != 0;
}

/**
 * ipn_rx_lossy - does @rx lose a message that finds its queue full
 * @net: the network, locked
 * @rx: a receiver
 *
 * Return: true on lossy networks, and on lossless ones for a receiver
 * switched to overrun after stalling.
 */
static inline bool ipn_rx_lossy(struct ipn_network *net, struct ipn_sock *rx)
{
	lockdep_assert_held(&net->lock);
	return !(net->flags & IPN_FLAG_LOSSLESS) || READ_ONCE(rx->overrun);
}

/* ipn_skb.c */
struct sk_buff *ipn_alloc_msg_skb(struct sock *sk, size_t len, int noblock,
				  int *err);
void ipn_skb_destruct(struct sk_buff *skb);

/* ipn_flow.c */
void ipn_set_congested(struct ipn_network *net, struct ipn_sock *rx);
bool ipn_rx_congested(struct ipn_network *net, struct ipn_sock *rx);
bool ipn_rx_holds(struct ipn_network *net, struct ipn_sock *rx);
void ipn_leave_congestion(struct ipn_network *net, struct ipn_sock *ipn);
void ipn_lossless_read(struct ipn_network *net, struct ipn_sock *ipn);
bool ipn_net_has_room(struct ipn_network *net, struct ipn_sock *self);
void ipn_stall_timer(struct timer_list *t);

/* ipn_deliver.c */
int ipn_broadcast(struct ipn_sock *self, struct sk_buff *skb, long *timeo);
int ipn_unicast(struct ipn_sock *self, u64 to, struct sk_buff *skb,
		struct ipn_fds **fpp, long *timeo);
void ipn_queue(struct ipn_network *net, struct ipn_sock *rx,
	       struct sk_buff *skb);

/* ipn_event.c */
void ipn_event_all(struct ipn_network *net, struct ipn_sock *subject,
		   u16 event);
void ipn_event_snapshot(struct ipn_network *net, struct ipn_sock *to);
u32 ipn_events_lost_read(struct ipn_sock *ipn, bool peek);

/* ipn_scm.c */
int ipn_scm_from_msg(struct msghdr *msg, struct ipn_fds **ret);
void ipn_scm_recv(struct msghdr *msg, struct ipn_fds *fds, int flags);
void ipn_fds_free(struct ipn_fds *fds);

/* ipn_proc.c */
int ipn_proc_init(void);
void ipn_proc_exit(void);

#endif /* _IPN_INTERNAL_H */
