// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_network.c - AF_IPN: networks and their members
 *
 * bind() creates a network (its socket node and struct ipn_network) and
 * makes the caller its first member; connect() looks the network up by the
 * node's inode and joins it; ipn_leave() takes a member out, and the last
 * one to leave frees the network.  The list of networks lives here too.
 * The locking rules these follow are stated in af_ipn.c.
 */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/mutex.h>
#include <linux/namei.h>
#include <linux/net.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "ipn_compat.h"
#include "ipn_internal.h"

/* the list of networks and each network's life (see the locking rules) */
DEFINE_MUTEX(ipn_nets_mutex);
LIST_HEAD(ipn_networks);

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

/**
 * ipn_leave - take @ipn out of its network; the last member frees it
 * @ipn: a member (->net set), being released
 *
 * Takes ipn_nets_mutex, then the network's lock: the LEAVE event is
 * queued in the network's order, and senders waiting for this member's
 * room are woken.
 */
void ipn_leave(struct ipn_sock *ipn)
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

/**
 * ipn_bind - create the network named by @uaddr and join it (its manager)
 * @sock: an AF_IPN socket, not yet a member
 * @uaddr: a struct sockaddr_ipn with the node's path
 * @addr_len: its length
 *
 * The node is created with the IPN_SO_MODE bits less the umask; the
 * network takes the IPN_SO_FLAGS, IPN_SO_MTU and IPN_SO_STALL_TIMEOUT set
 * before.
 *
 * Return: 0; -EADDRINUSE if the path exists; -EISCONN for a member;
 * -EINVAL / -EAFNOSUPPORT for a bad address; what creating the node gave.
 */
int ipn_bind(struct socket *sock, struct ipn_sockaddr_arg *uaddr, int addr_len)
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

/**
 * ipn_connect - join the network whose node @uaddr names
 * @sock: an AF_IPN socket, not yet a member
 * @uaddr: a struct sockaddr_ipn with the node's path
 * @addr_len: its length
 * @flags: file flags (unused: joining never waits)
 *
 * The node's permission bits decide what the member may do: r receive,
 * w send; neither is -EACCES.
 *
 * Return: 0; -ECONNREFUSED for a node that is not a network's (or whose
 * network is gone); -EPROTOTYPE for another protocol; -EISCONN for a
 * member; what the path lookup gave.
 */
int ipn_connect(struct socket *sock, struct ipn_sockaddr_arg *uaddr,
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
