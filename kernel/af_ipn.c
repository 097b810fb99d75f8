// SPDX-License-Identifier: GPL-2.0
/*
 * af_ipn.c - AF_IPN: Inter Process Networking socket family core
 *
 * An IPN network is a socket node in the file system.  bind() creates the
 * node and the network, connect() joins it; every member can broadcast one
 * datagram to all the others, or send it to one member by id.  See
 * include/uapi/linux/ipn.h for the user-space contract and README.md.
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
 *      GFP_KERNEL_ACCOUNT, and the receiver's socket filter on it;
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
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/security.h>
#include <linux/socket.h>
#include <linux/sockios.h>
#include <linux/termios.h>
#include <linux/file.h>
#include <net/scm.h>
#include <net/sock.h>

#include "ipn_compat.h"
#include "ipn_internal.h"

int ipn_family = IPN_FAMILY_DEFAULT;
module_param_named(family, ipn_family, int, 0444);
MODULE_PARM_DESC(family, "address family number to register (default 13)");

/* the list of networks and each network's life (see the locking above) */
DEFINE_MUTEX(ipn_nets_mutex);
LIST_HEAD(ipn_networks);

static struct proto ipn_proto = {
	.name = "IPN",
	.owner = THIS_MODULE,
	.obj_size = sizeof(struct ipn_sock),
};

/* Copy and check the path of a struct sockaddr_ipn into @name. */
static int ipn_get_path(struct ipn_sockaddr_arg *uaddr, int addr_len,
			char *name)
{
	struct sockaddr_ipn *sipn = (struct sockaddr_ipn *)uaddr;
	int len = addr_len - (int)offsetof(struct sockaddr_ipn, sipn_path);

	if (len <= 0 || addr_len > (int)sizeof(*sipn))
		return -EINVAL;
	if (sipn->sipn_family != ipn_family)
		return -EAFNOSUPPORT;
	memcpy(name, sipn->sipn_path, len);
	name[len] = '\0';
	if (!name[0])
		return -EINVAL;
	return 0;
}

/* Default receive room: IPN_RCVBUF_MTUS whole messages, bounded. */
#define IPN_RCVBUF_MTUS		8
#define IPN_RCVBUF_DEFAULT_MAX	(32 << 20)

/*
 * Unless the user chose SO_RCVBUF, give a member room for several of the
 * network's largest messages (rmem_default, 208 KiB, cannot hold two
 * 128 KiB datagrams), but never more than net.core.rmem_max: that is the
 * administrator's bound on what one socket may queue without
 * CAP_NET_ADMIN (SO_RCVBUFFORCE).  Called with lock_sock held.
 */
static void ipn_default_rcvbuf(struct sock *sk, u32 mtu)
{
	u64 room = min_t(u64, (u64)mtu * IPN_RCVBUF_MTUS,
			 IPN_RCVBUF_DEFAULT_MAX);

	sock_owned_by_me(sk);
	room = min_t(u64, room, READ_ONCE(sysctl_rmem_max));

	if (!(sk->sk_userlocks & SOCK_RCVBUF_LOCK) && sk->sk_rcvbuf < room)
		WRITE_ONCE(sk->sk_rcvbuf, room);
}

/*
 * Make @ipn a member of @net.  Called with lock_sock and ipn_nets_mutex
 * held; @net must be on ipn_networks.
 */
static void ipn_join(struct ipn_network *net, struct ipn_sock *ipn,
		     bool may_recv, bool may_send)
{
	sock_owned_by_me(&ipn->sk);
	lockdep_assert_held(&ipn_nets_mutex);
	ipn_default_rcvbuf(&ipn->sk, net->mtu);
	mutex_lock(&net->lock);
	ipn->id = net->next_id++;
	ipn->pid = get_pid(task_tgid(current));
	ipn->uid = current_euid();
	ipn->gid = current_egid();
	ipn->may_recv = may_recv;
	ipn->may_send = may_send;
	list_add_tail(&ipn->member, &net->members);
	net->nmembers++;
	ipn_event_all(net, ipn, IPN_EVENT_JOIN);
	if (ipn->events)
		ipn_event_snapshot(net, ipn);
	/*
	 * Publishes the member: pairs with the smp_load_acquire() of ->net
	 * in the socket calls that run without lock_sock (getname, poll,
	 * getsockopt, sendmsg, recvmsg), so whoever sees ->net also sees
	 * ->id, ->may_recv and ->may_send set above.
	 */
	smp_store_release(&ipn->net, net);
	mutex_unlock(&net->lock);
}

/* Leave the network; the last member to leave frees it. */
static void ipn_leave(struct ipn_sock *ipn)
{
	struct ipn_network *net = ipn->net;
	bool last;

	mutex_lock(&ipn_nets_mutex);
	mutex_lock(&net->lock);
	list_del(&ipn->member);
	ipn_leave_congestion(net, ipn);
	last = !--net->nmembers;
	ipn_event_all(net, ipn, IPN_EVENT_LEAVE);
	mutex_unlock(&net->lock);
	/* Senders waiting for this member's room must look again. */
	wake_up_interruptible_all(&net->wait);
	if (last)
		list_del(&net->node);
	mutex_unlock(&ipn_nets_mutex);
	ipn->net = NULL;
	if (last) {
		timer_shutdown_sync(&net->stall_timer);
		path_put(&net->path);
		kfree(net);
	}
}

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

static int ipn_bind(struct socket *sock, struct ipn_sockaddr_arg *uaddr,
		    int addr_len)
{
	struct sock *sk = sock->sk;
	struct ipn_sock *ipn = ipn_sk(sk);
	struct ipn_network *net;
	struct dentry *dentry;
	struct path parent;
	umode_t mode;
	int err;

	net = kzalloc(sizeof(*net), GFP_KERNEL);
	if (!net)
		return -ENOMEM;
	err = ipn_get_path(uaddr, addr_len, net->name);
	if (err)
		goto out_free;

	lock_sock(sk);
	err = -EISCONN;
	if (ipn->net)
		goto out_unlock;

	mode = S_IFSOCK | (ipn->opt_mode & ~current_umask());
	dentry = ipn_start_creating_path(AT_FDCWD, net->name, &parent, 0);
	if (IS_ERR(dentry)) {
		err = PTR_ERR(dentry);
		if (err == -EEXIST)
			err = -EADDRINUSE;
		goto out_unlock;
	}
	err = security_path_mknod(&parent, dentry, mode, 0);
	if (!err)
		err = ipn_vfs_mknod(ipn_mnt_idmap(parent.mnt),
				    d_inode(parent.dentry), dentry, mode, 0);
	if (err) {
		ipn_end_creating_path(&parent, dentry);
		goto out_unlock;
	}
	net->path.mnt = mntget(parent.mnt);
	net->path.dentry = dget(dentry);
	ipn_end_creating_path(&parent, dentry);

	mutex_init(&net->lock);
	INIT_LIST_HEAD(&net->members);
	init_waitqueue_head(&net->wait);
	atomic_set(&net->ncongested, 0);
	net->next_id = 1;
	net->protocol = IPN_BROADCAST;
	net->flags = ipn->opt_flags;
	net->mtu = ipn->opt_mtu;
	net->stall_timeout = msecs_to_jiffies(ipn->opt_stall);
	timer_setup(&net->stall_timer, ipn_stall_timer, 0);
	net->mode = mode & 0777;

	mutex_lock(&ipn_nets_mutex);
	list_add(&net->node, &ipn_networks);
	/* The creator manages the network: it may always send and receive. */
	ipn_join(net, ipn, true, true);
	mutex_unlock(&ipn_nets_mutex);
	release_sock(sk);
	return 0;

out_unlock:
	release_sock(sk);
out_free:
	kfree(net);
	return err;
}

static struct ipn_network *ipn_find_network(struct inode *inode)
{
	struct ipn_network *net;

	lockdep_assert_held(&ipn_nets_mutex);
	list_for_each_entry(net, &ipn_networks, node)
		if (d_backing_inode(net->path.dentry) == inode)
			return net;
	return NULL;
}

static int ipn_connect(struct socket *sock, struct ipn_sockaddr_arg *uaddr,
		       int addr_len, int flags)
{
	char name[IPN_PATH_MAX + 1];
	struct sock *sk = sock->sk;
	struct ipn_sock *ipn = ipn_sk(sk);
	bool may_recv, may_send;
	struct ipn_network *net;
	struct inode *inode;
	struct path path;
	int err;

	err = ipn_get_path(uaddr, addr_len, name);
	if (err)
		return err;
	err = kern_path(name, LOOKUP_FOLLOW, &path);
	if (err)
		return err;
	inode = d_backing_inode(path.dentry);
	err = -ECONNREFUSED;
	if (!S_ISSOCK(inode->i_mode))
		goto out_path;
	/* Node mode bits: r = may receive, w = may send. */
	may_recv = !path_permission(&path, MAY_READ);
	may_send = !path_permission(&path, MAY_WRITE);
	err = -EACCES;
	if (!may_recv && !may_send)
		goto out_path;

	lock_sock(sk);
	err = -EISCONN;
	if (ipn->net)
		goto out_unlock;
	mutex_lock(&ipn_nets_mutex);
	net = ipn_find_network(inode);
	if (!net)
		err = -ECONNREFUSED;	/* a stale node: nobody is in it */
	else if (sk->sk_protocol != IPN_ANY &&
		 sk->sk_protocol != net->protocol)
		err = -EPROTOTYPE;
	else
		err = 0;
	if (!err)
		ipn_join(net, ipn, may_recv, may_send);
	mutex_unlock(&ipn_nets_mutex);
	if (!err)
		touch_atime(&path);
out_unlock:
	release_sock(sk);
out_path:
	path_put(&path);
	return err;
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

/* Turn membership events on or off; switching on sends the snapshot. */
static void ipn_set_events(struct ipn_sock *ipn, bool on)
{
	struct ipn_network *net = ipn->net;

	if (!net) {
		ipn->events = on;
		return;
	}
	mutex_lock(&net->lock);
	if (on && !ipn->events)
		ipn_event_snapshot(net, ipn);
	WRITE_ONCE(ipn->events, on);
	mutex_unlock(&net->lock);
}

static int ipn_setsockopt(struct socket *sock, int level, int optname,
			  sockptr_t optval, unsigned int optlen)
{
	struct sock *sk = sock->sk;
	struct ipn_sock *ipn = ipn_sk(sk);
	int val, err = 0;

	if (level != SOL_IPN)
		return -ENOPROTOOPT;
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;

	lock_sock(sk);
	switch (optname) {
	case IPN_SO_MODE:
	case IPN_SO_FLAGS:
	case IPN_SO_MTU:
	case IPN_SO_STALL_TIMEOUT:
		/* Network properties: fixed once the network exists. */
		if (ipn->net)
			err = -EISCONN;
		else if (optname == IPN_SO_MODE && (val & ~0777))
			err = -EINVAL;
		else if (optname == IPN_SO_FLAGS && (val & ~IPN_FLAG_LOSSLESS))
			err = -EINVAL;
		else if (optname == IPN_SO_MTU &&
			 (val < 1 || val > IPN_MTU_MAX))
			err = -EINVAL;
		else if (optname == IPN_SO_STALL_TIMEOUT &&
			 (val < 1 || val > IPN_STALL_TIMEOUT_MAX))
			err = -EINVAL;
		else if (optname == IPN_SO_STALL_TIMEOUT)
			ipn->opt_stall = val;
		else if (optname == IPN_SO_MODE)
			ipn->opt_mode = val;
		else if (optname == IPN_SO_FLAGS)
			ipn->opt_flags = val;
		else
			ipn->opt_mtu = val;
		break;
	case IPN_SO_LOOPBACK:
		WRITE_ONCE(ipn->loopback, !!val);
		break;
	case IPN_SO_PASSCRED:
		WRITE_ONCE(ipn->passcred, !!val);
		break;
	case IPN_SO_MEMBER_EVENTS:
		ipn_set_events(ipn, !!val);
		break;
	case IPN_SO_MEMBER_ID:
	case IPN_SO_NETINFO:
	case IPN_SO_DROPS:
		err = -EPERM;	/* read-only */
		break;
	default:
		err = -ENOPROTOOPT;
	}
	release_sock(sk);
	return err;
}

static int ipn_getsockopt(struct socket *sock, int level, int optname,
			  char __user *optval, int __user *optlen)
{
	struct ipn_sock *ipn = ipn_sk(sock->sk);
	/* pairs with smp_store_release() in ipn_join() */
	struct ipn_network *net = smp_load_acquire(&ipn->net);
	union {
		int i;
		u64 u;
		struct ipn_netinfo ni;
	} v;
	int len, size = sizeof(int);

	if (level != SOL_IPN)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	switch (optname) {
	case IPN_SO_MODE:
		v.i = net ? net->mode : ipn->opt_mode;
		break;
	case IPN_SO_FLAGS:
		v.i = net ? net->flags : ipn->opt_flags;
		break;
	case IPN_SO_MTU:
		v.i = net ? net->mtu : ipn->opt_mtu;
		break;
	case IPN_SO_STALL_TIMEOUT:
		v.i = net ? jiffies_to_msecs(net->stall_timeout) :
			    ipn->opt_stall;
		break;
	case IPN_SO_LOOPBACK:
		v.i = READ_ONCE(ipn->loopback);
		break;
	case IPN_SO_PASSCRED:
		v.i = READ_ONCE(ipn->passcred);
		break;
	case IPN_SO_MEMBER_EVENTS:
		v.i = READ_ONCE(ipn->events);
		break;
	case IPN_SO_MEMBER_ID:
		if (!net)
			return -ENOTCONN;
		v.u = ipn->id;
		size = sizeof(v.u);
		break;
	case IPN_SO_DROPS:
		v.u = READ_ONCE(ipn->drops);
		size = sizeof(v.u);
		break;
	case IPN_SO_NETINFO:
		if (!net)
			return -ENOTCONN;
		v.ni.protocol = net->protocol;
		v.ni.flags = net->flags;
		v.ni.mtu = net->mtu;
		v.ni.mode = net->mode;
		v.ni.members = READ_ONCE(net->nmembers);
		size = sizeof(v.ni);
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (len < size)
		return -EINVAL;
	if (put_user(size, optlen) || copy_to_user(optval, &v, size))
		return -EFAULT;
	return 0;
}

static int ipn_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
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

static int ipn_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
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
	int err, off;

	if (flags & (MSG_OOB | MSG_ERRQUEUE))
		return -EOPNOTSUPP;
	if (!net)
		return -ENOTCONN;
	/* As af_unix: wait for data without the iolock, dequeue with it. */
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	do {
		mutex_lock(&ipn->iolock);
		off = 0;
		skb = __skb_try_recv_datagram(sk, &sk->sk_receive_queue, flags,
					      &off, &err, &last);
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
