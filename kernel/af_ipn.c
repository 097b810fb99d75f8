// SPDX-License-Identifier: GPL-2.0
/*
 * af_ipn.c - AF_IPN: Inter Process Networking socket family core
 *
 * An IPN network is a socket node in the file system.  bind() creates the
 * node and the network, connect() joins it; every member can broadcast one
 * datagram to all the others, or send it to one member by id.  See
 * include/uapi/linux/ipn.h for the user-space contract and README.md.
 *
 * This file registers the family and holds a socket's life (create,
 * release) and its small calls (getname, poll, ioctl), and states the
 * locking rules of the whole module below.  Networks and membership live
 * in ipn_network.c, socket options in ipn_sockopt.c, sendmsg and recvmsg
 * in ipn_msg.c, the message skb in ipn_skb.c, delivery in ipn_deliver.c,
 * lossless flow control in ipn_flow.c, membership events in ipn_event.c,
 * passed files in ipn_scm.c, /proc/net/ipn in ipn_proc.c.
 *
 * Locking strategy, outermost first:
 *
 *   lock_sock(sk)        serialises bind/connect/setsockopt on one socket,
 *                        i.e. the moment it joins a network.
 *   ipn_nets_mutex       protects the list of networks (lookup by inode on
 *                        connect, /proc/net/ipn) and a network's life: a
 *                        network is freed, under it, when its last member
 *                        leaves.  Members therefore may use their ->net
 *                        without a reference.
 *   net->lock (mutex)    protects net->members, ->nmembers, ->next_id, each
 *                        member's drop counters, and is held while a
 *                        message or event is queued on receivers: one lock
 *                        per network gives every member the same order.
 *                        Held only to queue: see "Broadcast" below.
 *   sk_receive_queue.lock  the generic datagram queue lock, taken inside.
 *
 *   ipn->iolock (mutex)  the receive path of one socket, on its own: held
 *                        by recvmsg() from taking a message off the queue
 *                        (or peeking at it) until its files are installed
 *                        and the message is freed.  So a MSG_PEEK reader
 *                        never walks a file list another reader of the
 *                        same socket frees.  Never held while waiting for
 *                        data; nothing else is taken while it is held
 *                        except the queue lock, user-memory faults and,
 *                        to read the count of an IPN_EVENT_OVERRUN
 *                        notice, net->lock (so iolock nests outside
 *                        net->lock; nothing takes iolock under it).
 *
 * Broadcast (ipn_broadcast()), in three steps, so that the lock is held
 * only while a message takes its place in the order:
 *
 *   1. under net->lock: a snapshot of the receivers, each held with
 *      sock_hold() so that it may leave before step 3;
 *   2. without it (lockdep_assert_not_held): one clone per receiver, with
 *      GFP_KERNEL_ACCOUNT, but the last, which gets the message itself,
 *      and the receiver's socket filter on it;
 *   3. under net->lock again: lossless senders wait for room (a count of
 *      congested receivers, net->ncongested, makes that O(1) while none
 *      is), then every clone is queued in one go, walking the current
 *      member list: members that left are skipped, members that joined
 *      after the snapshot are served under the lock as events are.  Two
 *      concurrent broadcasts therefore reach every member in the order of
 *      their step 3.  The receivers are woken after unlocking (so a woken
 *      receiver never preempts a sender that holds the lock), as is the
 *      receiver of a unicast.
 *
 * Membership events and IPN_EVENT_OVERRUN notices are still allocated,
 * queued and woken under net->lock (rare, and ordered with data).  A
 * queued message references the sender's pid only when it is an event or
 * its receiver has IPN_SO_PASSCRED on at that moment.
 *
 * Receivers dequeue under their own iolock and the queue lock only, so
 * reading never contends with other members.  Lossless senders sleep on
 * net->wait (never holding net->lock); a receiver that filled up is marked
 * congested and wakes them once it has read down to half its buffer
 * (ipn_lossless_read()); wait_woken() closes the race between the room
 * check and sleeping.  A congested receiver that reads nothing for the
 * network's stall timeout stops holding them (ipn_rx_holds()); the
 * network's stall_timer wakes net->wait at that deadline.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/socket.h>
#include <linux/sockios.h>
#include <linux/string.h>
#include <linux/termios.h>
#include <net/sock.h>

#include "ipn_internal.h"

int ipn_family = IPN_FAMILY_DEFAULT;
module_param_named(family, ipn_family, int, 0444);
MODULE_PARM_DESC(family, "address family number to register (default 13)");

static struct proto ipn_proto = {
	.name = "IPN",
	.owner = THIS_MODULE,
	.obj_size = sizeof(struct ipn_sock),
};

static int ipn_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct ipn_sock *ipn;

	if (!sk)
		return 0;
	ipn = ipn_sk(sk);
	if (ipn->net)
		ipn_leave(ipn);
	sock_orphan(sk);
	sock->sk = NULL;
	/* Releases the files of unread SCM_RIGHTS messages, too. */
	skb_queue_purge(&sk->sk_receive_queue);
	sock_put(sk);
	return 0;
}

static int ipn_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	struct sockaddr_ipn *sipn = (struct sockaddr_ipn *)uaddr;
	/* pairs with smp_store_release() in ipn_join() */
	struct ipn_network *net = smp_load_acquire(&ipn_sk(sock->sk)->net);
	size_t len;

	if (peer)
		return -EOPNOTSUPP;
	memset(sipn, 0, sizeof(*sipn));
	sipn->sipn_family = ipn_family;
	if (!net)
		return offsetof(struct sockaddr_ipn, sipn_path);
	/*
	 * The whole path as bound: one of IPN_PATH_MAX bytes fills
	 * sipn_path with no room for a NUL, as in af_unix.
	 */
	len = strnlen(net->name, IPN_PATH_MAX);
	memcpy(sipn->sipn_path, net->name, len);
	return offsetof(struct sockaddr_ipn, sipn_path) + len +
	       (len < IPN_PATH_MAX);
}

static __poll_t ipn_poll(struct file *file, struct socket *sock,
			 poll_table *wait)
{
	struct ipn_sock *ipn = ipn_sk(sock->sk);
	/* pairs with smp_store_release() in ipn_join() */
	struct ipn_network *net = smp_load_acquire(&ipn->net);
	__poll_t mask = datagram_poll(file, sock, wait);

	if (!net || !(net->flags & IPN_FLAG_LOSSLESS))
		return mask;
	/* Receivers wake net->wait when they make room. */
	poll_wait(file, &net->wait, wait);
	/*
	 * Orders being on net->wait before the room check; pairs with the
	 * second smp_mb() in ipn_lossless_read().
	 */
	smp_mb();
	if ((mask & EPOLLOUT) && !ipn_net_has_room(net, ipn))
		mask &= ~(EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND);
	return mask;
}

static int ipn_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct sk_buff *skb;
	int amount;

	switch (cmd) {
	case SIOCINQ:	/* length of the next message, as UDP */
		spin_lock_bh(&sk->sk_receive_queue.lock);
		skb = skb_peek(&sk->sk_receive_queue);
		amount = skb ? skb->len : 0;
		spin_unlock_bh(&sk->sk_receive_queue.lock);
		return put_user(amount, (int __user *)arg);
	case SIOCOUTQ:
		return put_user(sk_wmem_alloc_get(sk), (int __user *)arg);
	default:
		return -ENOIOCTLCMD;
	}
}

/*
 * Not const: .family is the family number chosen at load time (the
 * "family" parameter), set once by ipn_init(); read-only after that.
 */
static struct proto_ops ipn_ops __ro_after_init = {
	.owner = THIS_MODULE,
	.release = ipn_release,
	.bind = ipn_bind,
	.connect = ipn_connect,
	.socketpair = sock_no_socketpair,
	.accept = sock_no_accept,
	.getname = ipn_getname,
	.poll = ipn_poll,
	.ioctl = ipn_ioctl,
	.listen = sock_no_listen,
	.shutdown = sock_no_shutdown,
	.setsockopt = ipn_setsockopt,
	.getsockopt = ipn_getsockopt,
	.sendmsg = ipn_sendmsg,
	.recvmsg = ipn_recvmsg,
	.mmap = sock_no_mmap,
};

static void ipn_sock_destruct(struct sock *sk)
{
	struct ipn_sock *ipn = ipn_sk(sk);

	WARN_ON_ONCE(atomic_read(&sk->sk_rmem_alloc));
	put_pid(ipn->pid);
	ipn->pid = NULL;
}

static int ipn_create(struct net *net, struct socket *sock, int protocol,
		      int kern)
{
	struct ipn_sock *ipn;
	struct sock *sk;

	if (sock->type != SOCK_RAW)
		return -ESOCKTNOSUPPORT;
	if (protocol != IPN_ANY && protocol != IPN_BROADCAST)
		return -EPROTONOSUPPORT;
	sk = sk_alloc(net, ipn_family, GFP_KERNEL, &ipn_proto, kern);
	if (!sk)
		return -ENOMEM;
	sock->ops = &ipn_ops;
	sock_init_data(sock, sk);
	sk->sk_protocol = protocol;
	sk->sk_destruct = ipn_sock_destruct;
	/*
	 * Messages are charged to the sender's memory cgroup (kmem), from
	 * allocation until the receiver frees them: the receiver's cgroup
	 * cannot be charged from a module (mem_cgroup_charge_skmem is not
	 * exported), and the sender is the one who chose to queue them.
	 */
	sk->sk_allocation = GFP_KERNEL_ACCOUNT;
	ipn = ipn_sk(sk);
	INIT_LIST_HEAD(&ipn->member);
	mutex_init(&ipn->iolock);
	ipn->opt_mode = 0777;
	ipn->opt_mtu = IPN_MTU_DEFAULT;
	ipn->opt_stall = IPN_STALL_TIMEOUT_DEFAULT;
	return 0;
}

static struct net_proto_family ipn_family_ops = {
	.create = ipn_create,
	.owner = THIS_MODULE,
};

static int __init ipn_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct ipn_skb_parms) >
		     sizeof_field(struct sk_buff, cb));
	if (ipn_family <= 0 || ipn_family >= NPROTO) {
		pr_err("ipn: family %d out of range 1..%d\n", ipn_family,
		       NPROTO - 1);
		return -EINVAL;
	}
	ipn_ops.family = ipn_family;
	ipn_family_ops.family = ipn_family;

	err = proto_register(&ipn_proto, 1);
	if (err)
		return err;
	err = ipn_proc_init();
	if (err)
		goto out_proto;
	err = sock_register(&ipn_family_ops);
	if (err) {
		pr_err("ipn: family %d is taken (%d)\n", ipn_family, err);
		goto out_proc;
	}
	pr_info("ipn: AF_IPN registered as family %d\n", ipn_family);
	return 0;

out_proc:
	ipn_proc_exit();
out_proto:
	proto_unregister(&ipn_proto);
	return err;
}

static void __exit ipn_exit(void)
{
	sock_unregister(ipn_family);
	ipn_proc_exit();
	proto_unregister(&ipn_proto);
}

module_init(ipn_init);
module_exit(ipn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("AF_IPN: Inter Process Networking (local broadcast)");
MODULE_ALIAS_NETPROTO(IPN_FAMILY_DEFAULT);
