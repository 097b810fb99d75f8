// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_msg.c - AF_IPN: the message path of a socket, sendmsg and recvmsg
 *
 * sendmsg() checks the address and size, takes SCM_RIGHTS files
 * (ipn_scm.c), builds the message skb and hands it to broadcast or unicast
 * delivery (ipn_deliver.c).  recvmsg() dequeues under the socket's iolock
 * (see af_ipn.c), copies the data and writes the control messages that
 * describe it: drops, membership events and overrun notices, credentials,
 * files.
 */
#include <linux/cred.h>
#include <linux/net.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/user_namespace.h>
#include <net/sock.h>

#include "ipn_internal.h"

/**
 * ipn_sendmsg - send one message to every receiver, or to one member
 * @sock: an AF_IPN socket, a member with w
 * @msg: the data; msg_name a struct sockaddr_ipn_member for a unicast;
 *	SCM_RIGHTS (unicast only) in the control buffer
 * @len: the message's length, at most the network's MTU
 *
 * Return: @len; -ENOTCONN before joining; -EACCES without w; -EMSGSIZE;
 * -EINVAL for a bad address or files on a broadcast; -EHOSTUNREACH /
 * -ECONNREFUSED for a unicast to a member that is gone or may not
 * receive; -EAGAIN / -EINTR / -ERESTARTSYS while waiting for room
 * (lossless); what allocation, copying or taking the files gave.
 */
int ipn_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct ipn_sock *self = ipn_sk(sk);
	/* pairs with smp_store_release() in ipn_join() */
	struct ipn_network *net = smp_load_acquire(&self->net);
	struct ipn_skb_parms *cb;
	struct ipn_fds *fds = NULL;
	struct sk_buff *skb;
	long timeo;
	u64 to = 0;
	int err;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (!net)
		return -ENOTCONN;
	if (!self->may_send)
		return -EACCES;
	if (msg->msg_name) {
		DECLARE_SOCKADDR(struct sockaddr_ipn_member *, dst,
				 msg->msg_name);

		/*
		 * Only a member address: a struct sockaddr_ipn (a path) is
		 * longer and carries path bytes where the pad and id are.
		 */
		if (msg->msg_namelen != (int)sizeof(*dst))
			return -EINVAL;
		if (dst->sipnm_family != ipn_family)
			return -EAFNOSUPPORT;
		if (dst->sipnm_pad[0] || dst->sipnm_pad[1] || dst->sipnm_pad[2])
			return -EINVAL;
		if (!dst->sipnm_id)
			return -EHOSTUNREACH;
		to = dst->sipnm_id;
	}
	if (len > net->mtu)
		return -EMSGSIZE;

	if (msg->msg_controllen) {
		err = ipn_scm_from_msg(msg, &fds);
		if (err)
			return err;
		err = -EINVAL;	/* fds go to one member, never broadcast */
		if (fds && !to)
			goto out_fds;
	}

	skb = ipn_alloc_msg_skb(sk, len, msg->msg_flags & MSG_DONTWAIT, &err);
	if (!skb)
		goto out_fds;
	err = skb_copy_datagram_from_iter(skb, 0, &msg->msg_iter, len);
	if (err)
		goto out_free;

	cb = IPNCB(skb);
	memset(cb, 0, sizeof(*cb));
	cb->from = self->id;
	cb->pid = task_tgid(current);	/* referenced per receiver */
	cb->uid = current_euid();
	cb->gid = current_egid();

	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	if (to) {
		err = ipn_unicast(self, to, skb, &fds, &timeo);
		if (!err)
			skb = NULL;	/* delivered or counted as dropped */
	} else {
		err = ipn_broadcast(self, skb, &timeo);
		skb = NULL;	/* taken over */
	}
	if (!err)
		err = len;
out_free:
	if (skb)
		consume_skb(skb);
out_fds:
	ipn_fds_free(fds);
	return err;
}

/*
 * Deliver the files of @cb's message (ipn_scm.c); a real read takes them
 * out of the message, a peek leaves them for the next reader.  The iolock
 * keeps another reader of this socket from freeing them meanwhile.
 */
static void ipn_recv_fds(struct ipn_sock *ipn, struct msghdr *msg,
			 struct ipn_skb_parms *cb, int flags)
{
	struct ipn_fds *fds = cb->fp;

	lockdep_assert_held(&ipn->iolock);
	ipn_scm_recv(msg, fds, flags);
	if (!(flags & MSG_PEEK)) {
		cb->fp = NULL;
		ipn_fds_free(fds);
	}
}

/* Add the SOL_IPN control messages that describe @skb. */
static void ipn_put_cmsgs(struct ipn_sock *ipn, struct msghdr *msg,
			  struct ipn_skb_parms *cb, int flags)
{
	struct user_namespace *ns = current_user_ns();

	if (cb->dropped)
		put_cmsg(msg, SOL_IPN, IPN_CMSG_DROPPED, sizeof(cb->dropped),
			 &cb->dropped);
	if (cb->event == IPN_EVENT_OVERRUN) {
		struct ipn_member_event ev = { .event = IPN_EVENT_OVERRUN };
		u32 lost = ipn_events_lost_read(ipn, flags & MSG_PEEK);

		put_cmsg(msg, SOL_IPN, IPN_CMSG_MEMBER_EVENT, sizeof(ev), &ev);
		put_cmsg(msg, SOL_IPN, IPN_CMSG_EVENTS_LOST, sizeof(lost),
			 &lost);
	} else if (cb->event) {
		struct ipn_member_event ev = {
			.id = cb->from,
			.event = cb->event,
			.pid = pid_vnr(cb->pid),
			.uid = from_kuid_munged(ns, cb->uid),
			.gid = from_kgid_munged(ns, cb->gid),
		};

		put_cmsg(msg, SOL_IPN, IPN_CMSG_MEMBER_EVENT, sizeof(ev), &ev);
	} else if (READ_ONCE(ipn->passcred)) {
		struct ipn_creds cr = {
			.pid = pid_vnr(cb->pid),
			.uid = from_kuid_munged(ns, cb->uid),
			.gid = from_kgid_munged(ns, cb->gid),
		};

		put_cmsg(msg, SOL_IPN, IPN_CMSG_CREDS, sizeof(cr), &cr);
	}
}

/*
 * The next message of @sk's queue, taken off it (or only looked at, with
 * MSG_PEEK), or NULL with *@err = -EAGAIN and *@last the queue's tail for
 * __skb_wait_for_more_packets().  A plain read takes the head in one
 * locked step: AF_IPN has no peek offset and never sets sk_err, which
 * is what the generic __skb_try_recv_datagram() spends its instructions
 * on for every message.  Called with @sk's iolock held.
 */
static struct sk_buff *ipn_dequeue(struct sock *sk, int flags, int *err,
				   struct sk_buff **last)
{
	struct sk_buff_head *queue = &sk->sk_receive_queue;
	struct sk_buff *skb;
	unsigned long cpu_flags;
	int off = 0;

	lockdep_assert_held(&ipn_sk(sk)->iolock);
	if (flags & MSG_PEEK)
		return __skb_try_recv_datagram(sk, queue, flags, &off, err,
					       last);
	spin_lock_irqsave(&queue->lock, cpu_flags);
	skb = __skb_dequeue(queue);
	/* what the queue ends with when empty: the queue head itself */
	*last = (struct sk_buff *)queue;
	spin_unlock_irqrestore(&queue->lock, cpu_flags);
	*err = skb ? 0 : -EAGAIN;
	return skb;
}

/**
 * ipn_recvmsg - receive the next message with what describes it
 * @sock: an AF_IPN socket, a member
 * @msg: where the data, the sender's member address and the control
 *	messages go
 * @size: room for data; the rest of a longer message is lost (MSG_TRUNC)
 * @flags: MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC (return the whole length)
 *
 * Waits for data without the iolock and holds it from dequeue until the
 * message's files are installed and the message is freed.
 *
 * Return: bytes copied (the message's length with MSG_TRUNC); -ENOTCONN
 * before joining; -EOPNOTSUPP for MSG_OOB / MSG_ERRQUEUE; -EAGAIN, -EINTR,
 * -ERESTARTSYS while waiting; -EFAULT.
 */
int ipn_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
		int flags)
{
	struct sock *sk = sock->sk;
	struct ipn_sock *ipn = ipn_sk(sk);
	/* pairs with smp_store_release() in ipn_join() */
	struct ipn_network *net = smp_load_acquire(&ipn->net);
	struct sk_buff *skb, *last;
	struct ipn_skb_parms *cb;
	size_t copied;
	long timeo;
	int err;

	if (flags & (MSG_OOB | MSG_ERRQUEUE))
		return -EOPNOTSUPP;
	if (!net)
		return -ENOTCONN;
	/* As af_unix: wait for data without the iolock, dequeue with it. */
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	do {
		mutex_lock(&ipn->iolock);
		skb = ipn_dequeue(sk, flags, &err, &last);
		if (skb)
			break;
		mutex_unlock(&ipn->iolock);
		if (err != -EAGAIN)
			break;
	} while (timeo && !__skb_wait_for_more_packets(sk, &sk->sk_receive_queue,
						      &err, &timeo, last));
	if (!skb)
		return err;
	cb = IPNCB(skb);
	if (msg->msg_name) {
		DECLARE_SOCKADDR(struct sockaddr_ipn_member *, from,
				 msg->msg_name);

		memset(from, 0, sizeof(*from));
		from->sipnm_family = ipn_family;
		from->sipnm_id = cb->from;
		msg->msg_namelen = sizeof(*from);
	}
	copied = skb->len;
	if (copied > size) {
		copied = size;
		msg->msg_flags |= MSG_TRUNC;
	}
	err = skb_copy_datagram_msg(skb, 0, msg, copied);
	if (err)
		goto out_free;
	ipn_put_cmsgs(ipn, msg, cb, flags);
	if (cb->fp)
		ipn_recv_fds(ipn, msg, cb, flags);
	err = (flags & MSG_TRUNC) ? skb->len : copied;
out_free:
	skb_free_datagram(sk, skb);
	mutex_unlock(&ipn->iolock);
	if (net->flags & IPN_FLAG_LOSSLESS)
		ipn_lossless_read(net, ipn);
	return err;
}
