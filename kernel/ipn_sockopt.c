// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_sockopt.c - AF_IPN: socket options (SOL_IPN)
 *
 * Network properties (mode, flags, mtu, stall timeout) are set on the
 * socket before bind() and fixed once the network exists; member options
 * (loopback, credentials, membership events) may change at any time; the
 * member id, network info and drop count are read-only.  See
 * include/uapi/linux/ipn.h for each option.
 */
#include <linux/jiffies.h>
#include <linux/net.h>
#include <linux/sockptr.h>
#include <linux/uaccess.h>
#include <net/sock.h>

#include "ipn_internal.h"

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

/**
 * ipn_setsockopt - set a SOL_IPN option
 * @sock: an AF_IPN socket
 * @level: SOL_IPN
 * @optname: IPN_SO_*
 * @optval: an int
 * @optlen: at least sizeof(int)
 *
 * Runs under lock_sock(), so that a network property cannot change while
 * bind() reads it.
 *
 * Return: 0; -EISCONN for a network property once a member; -EINVAL for
 * a value out of range or a short @optlen; -EPERM for a read-only option;
 * -ENOPROTOOPT for another level or an unknown option; -EFAULT.
 */
int ipn_setsockopt(struct socket *sock, int level, int optname,
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

/**
 * ipn_getsockopt - read a SOL_IPN option
 * @sock: an AF_IPN socket
 * @level: SOL_IPN
 * @optname: IPN_SO_*
 * @optval: where the value goes (an int, a u64 or struct ipn_netinfo)
 * @optlen: in: room at @optval; out: the value's size
 *
 * Runs without lock_sock(): network properties are read from the network
 * once ->net is published (fixed from then on), from the socket before.
 *
 * Return: 0; -ENOTCONN for IPN_SO_MEMBER_ID and IPN_SO_NETINFO before
 * joining; -EINVAL when @optlen is too small for the value; -ENOPROTOOPT
 * for another level or an unknown option; -EFAULT.
 */
int ipn_getsockopt(struct socket *sock, int level, int optname,
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
