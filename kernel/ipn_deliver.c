// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_deliver.c - AF_IPN: broadcast and unicast delivery
 *
 * Everything that queues an skb on a receiver runs under net->lock, which
 * is what makes the order of messages the same for every member.  A
 * broadcast does everything else without it: the clones are allocated and
 * the socket filters run on a snapshot of the receivers before the lock
 * is taken to queue them, and the receivers are woken after it is
 * released (see "Broadcast" in af_ipn.c).  On lossless networks the
 * sender first waits for room (ipn_lock_for_send(), with the congestion
 * state of ipn_flow.c); elsewhere a full receiver loses the message and is
 * told how many it lost with the next one it gets.
 */
#include <linux/filter.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "ipn_compat.h"
#include "ipn_internal.h"

/* The receiver's socket filter, never trimming below the whole message. */
static int ipn_sk_filter(struct sock *sk, struct sk_buff *skb)
{
	return ipn_sk_filter_trim_cap(sk, skb, skb->len);
}

/*
 * Run @rx's socket filter on a private clone of @skb.  The cap of skb->len
 * keeps a filter's return value from truncating a datagram.
 *
 * Return: the clone to queue, or NULL when filtered out (*err = 0) or out
 * of memory (*err < 0).
 */
static struct sk_buff *ipn_clone_filtered(struct ipn_sock *rx,
					  struct sk_buff *skb, int *err)
{
	struct sk_buff *nskb;

	*err = 0;
	/* the sender's memory cgroup pays for what it queues on others */
	nskb = skb_clone(skb, GFP_KERNEL_ACCOUNT);
	if (!nskb) {
		*err = -ENOBUFS;
		return NULL;
	}
	if (ipn_sk_filter(&rx->sk, nskb)) {
		consume_skb(nskb);
		return NULL;
	}
	return nskb;
}

/*
 * A receiver of one broadcast, prepared without net->lock: held with
 * sock_hold() so that it may leave meanwhile, and what it is to get.
 */
struct ipn_bcast_rx {
	struct ipn_sock *rx;
	struct sk_buff *skb;	/* its filtered clone, while not queued */
	u8 verdict;
	bool queued;		/* to wake after unlocking */
};

enum {
	IPN_RX_CLONE,		/* snapshot: clone and filter it */
	IPN_RX_LOSE,		/* snapshot: lossy and full, lose it */
	IPN_RX_READY,		/* ->skb passed its filter */
	IPN_RX_FILTERED,	/* its filter refused the message */
	IPN_RX_NOMEM,		/* no memory for its clone */
};

/* Receivers a broadcast prepares in an on-stack array. */
#define IPN_BCAST_STACK	16

/*
 * The entry for member @rx of the list walk, if it was in the snapshot.
 * The snapshot and net->members are both in id order: entries skipped on
 * the way are members that left since.  *@j is the walk's cursor.
 */
static struct ipn_bcast_rx *ipn_batch_find(struct ipn_bcast_rx *b,
					   unsigned int n, unsigned int *j,
					   struct ipn_sock *rx)
{
	while (*j < n && b[*j].rx->id < rx->id)
		(*j)++;
	if (*j < n && b[*j].rx == rx)
		return &b[(*j)++];
	return NULL;
}

/* Would @rx make a lossless sender of @skb wait?  Called under net->lock. */
static bool ipn_rx_blocks(struct ipn_network *net, struct ipn_sock *rx,
			  struct sk_buff *skb, struct ipn_bcast_rx *e)
{
	struct sk_buff *nskb;
	int err;

	lockdep_assert_held(&net->lock);
	if (!ipn_rx_congested(net, rx) || !ipn_rx_holds(net, rx))
		return false;
	/* A full receiver that would filter the message out does not block. */
	if (e)
		return e->verdict != IPN_RX_FILTERED;
	if (!rcu_access_pointer(rx->sk.sk_filter))
		return true;
	nskb = ipn_clone_filtered(rx, skb, &err);
	if (!nskb)
		return !!err;
	consume_skb(nskb);
	return true;
}

/* The member of @net with id @id, or NULL.  Called under net->lock. */
static struct ipn_sock *ipn_find_member(struct ipn_network *net, u64 id)
{
	struct ipn_sock *rx;

	lockdep_assert_held(&net->lock);
	list_for_each_entry(rx, &net->members, member)
		if (rx->id == id)
			return rx;
	return NULL;
}

/*
 * Would sending @skb (to @to, or to everyone when @to is 0, with the
 * prepared receivers @b[@n]) block now?  O(1) while no receiver is
 * congested: only filling a queue or finding it full sets the flag, both
 * under net->lock.  Called under net->lock.
 */
static bool ipn_send_blocks(struct ipn_network *net, struct ipn_sock *self,
			    struct sk_buff *skb, u64 to,
			    struct ipn_bcast_rx *b, unsigned int n)
{
	struct ipn_sock *rx;
	unsigned int j = 0;

	lockdep_assert_held(&net->lock);
	if (to) {
		rx = ipn_find_member(net, to);
		return rx && rx->may_recv && ipn_rx_congested(net, rx) &&
		       ipn_rx_holds(net, rx);
	}
	if (!ipn_net_congested(net))
		return false;
	list_for_each_entry(rx, &net->members, member)
		if (ipn_is_receiver(rx, self) &&
		    ipn_rx_blocks(net, rx, skb, ipn_batch_find(b, n, &j, rx)))
			return true;
	return false;
}

/*
 * Take net->lock for sending @skb.  On lossless networks wait (honouring
 * *@timeo and signals) until no receiver of it is full; the wait ends with
 * the lock held.
 */
static int ipn_lock_for_send(struct ipn_network *net, struct ipn_sock *self,
			     struct sk_buff *skb, u64 to, long *timeo,
			     struct ipn_bcast_rx *b, unsigned int n)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	bool queued = false;
	int err = 0;

	mutex_lock(&net->lock);
	if (!(net->flags & IPN_FLAG_LOSSLESS))
		return 0;
	while (ipn_send_blocks(net, self, skb, to, b, n)) {
		mutex_unlock(&net->lock);
		if (!*timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		if (!queued) {
			/* Re-check once on the queue so no wake-up is lost. */
			add_wait_queue(&net->wait, &wait);
			queued = true;
			/*
			 * Orders being on net->wait before the re-check of
			 * the room; pairs with the second smp_mb() in
			 * ipn_lossless_read().
			 */
			smp_mb();
		} else {
			*timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, *timeo);
		}
		mutex_lock(&net->lock);
	}
	if (queued)
		remove_wait_queue(&net->wait, &wait);
	return err;
}

/*
 * Queue @skb on @rx without waking it: the caller wakes it with
 * ipn_wake(), after unlocking when it can.  Called under net->lock; takes
 * over @skb.  A lossless receiver that this fills is marked congested
 * here, so senders need not look at every receiver to find it.
 */
static void ipn_enqueue(struct ipn_network *net, struct ipn_sock *rx,
			struct sk_buff *skb)
{
	struct ipn_skb_parms *cb = IPNCB(skb);
	struct sock *sk = &rx->sk;

	lockdep_assert_held(&net->lock);
	cb->dropped = rx->pending_drops;
	rx->pending_drops = 0;
	/* only events and IPN_SO_PASSCRED receivers read the pid */
	if (cb->event || READ_ONCE(rx->passcred))
		get_pid(cb->pid);
	else
		cb->pid = NULL;
	skb_set_owner_r(skb, sk);
	skb->destructor = ipn_skb_destruct;
	skb_queue_tail(&sk->sk_receive_queue, skb);
	if ((net->flags & IPN_FLAG_LOSSLESS) && ipn_rx_full(rx))
		ipn_set_congested(net, rx);
}

/* Tell @rx that a message is queued.  Best without net->lock. */
static void ipn_wake(struct ipn_sock *rx)
{
	rx->sk.sk_data_ready(&rx->sk);
}

/**
 * ipn_queue - queue @skb on @rx and wake it, all under net->lock
 * @net: the network, locked
 * @rx: the receiver
 * @skb: the message, taken over
 *
 * For the rare paths (membership events, overrun notices, a member that
 * joined during a broadcast) that do not defer the wake-up.
 */
void ipn_queue(struct ipn_network *net, struct ipn_sock *rx,
	       struct sk_buff *skb)
{
	ipn_enqueue(net, rx, skb);
	ipn_wake(rx);
}

/* Count a lost message for @rx.  Called under net->lock. */
static void ipn_drop(struct ipn_network *net, struct ipn_sock *rx)
{
	lockdep_assert_held(&net->lock);
	WRITE_ONCE(rx->drops, rx->drops + 1);
	rx->pending_drops++;
}

/*
 * Under net->lock: hold every receiver of @self's broadcast, in member
 * order, in @b (at most @cap; any beyond are left to ipn_deliver()), and
 * decide who loses it at once (lossy and full, no filter to consult).
 */
static unsigned int ipn_snapshot(struct ipn_network *net,
				 struct ipn_sock *self,
				 struct ipn_bcast_rx *b, unsigned int cap)
{
	struct ipn_sock *rx;
	unsigned int n = 0;

	lockdep_assert_held(&net->lock);
	list_for_each_entry(rx, &net->members, member) {
		if (!ipn_is_receiver(rx, self))
			continue;
		if (n == cap)
			break;
		sock_hold(&rx->sk);
		b[n].rx = rx;
		b[n].skb = NULL;
		b[n].queued = false;
		b[n].verdict = IPN_RX_CLONE;
		if (ipn_rx_full(rx) && ipn_rx_lossy(net, rx) &&
		    !rcu_access_pointer(rx->sk.sk_filter))
			b[n].verdict = IPN_RX_LOSE;
		n++;
	}
	return n;
}

/*
 * Without net->lock: a clone of @skb for each receiver of the snapshot,
 * through its socket filter; the last one gets @skb itself (the sender
 * has no use for it afterwards: one allocation, zeroing and header copy
 * less per message, all of them with one receiver).  Allocation may sleep
 * and filters may be long: nobody waits for the network meanwhile.
 *
 * Return: true when @skb itself went to a receiver (as its ->skb).
 */
static bool ipn_prepare(struct ipn_network *net, struct sk_buff *skb,
			struct ipn_bcast_rx *b, unsigned int n)
{
	unsigned int i, last = n;
	int err;

	lockdep_assert_not_held(&net->lock);
	for (i = 0; i < n; i++)
		if (b[i].verdict == IPN_RX_CLONE)
			last = i;
	for (i = 0; i < n; i++) {
		if (b[i].verdict != IPN_RX_CLONE)
			continue;
		if (i == last) {
			/* (the cap of skb->len: a filter never trims it) */
			if (ipn_sk_filter(&b[i].rx->sk, skb)) {
				b[i].verdict = IPN_RX_FILTERED;
				return false;
			}
			b[i].skb = skb;
			b[i].verdict = IPN_RX_READY;
			return true;
		}
		b[i].skb = ipn_clone_filtered(b[i].rx, skb, &err);
		if (b[i].skb)
			b[i].verdict = IPN_RX_READY;
		else
			b[i].verdict = err ? IPN_RX_NOMEM : IPN_RX_FILTERED;
	}
	return false;
}

/*
 * Under net->lock: queue the message on every current receiver, in one
 * go, so that it takes one place in the network's order.  Receivers from
 * the snapshot get their prepared clone; one that left meanwhile is
 * skipped; one that is not in the snapshot (joined meanwhile) is served
 * here, as before the snapshot existed: clone, filter, queue and wake
 * under the lock.  The receiver that got @skb itself is queued last: once
 * queued, its reader may free @skb, and the members that joined are
 * cloned from it until then (still one place in the order: nothing is
 * queued on anyone without net->lock).  Who gets woken after unlocking is
 * marked ->queued.
 */
static void ipn_deliver(struct ipn_network *net, struct ipn_sock *self,
			struct sk_buff *skb, struct ipn_bcast_rx *b,
			unsigned int n)
{
	struct ipn_bcast_rx *e, *itself = NULL;
	struct sk_buff *nskb;
	struct ipn_sock *rx;
	unsigned int j = 0;
	int err;

	lockdep_assert_held(&net->lock);
	list_for_each_entry(rx, &net->members, member) {
		if (!ipn_is_receiver(rx, self))
			continue;
		e = ipn_batch_find(b, n, &j, rx);
		if (!e) {
			nskb = ipn_clone_filtered(rx, skb, &err);
			if (!nskb) {
				if (err)
					ipn_drop(net, rx);
			} else if (ipn_rx_full(rx) && ipn_rx_lossy(net, rx)) {
				consume_skb(nskb);
				ipn_drop(net, rx);
			} else {
				ipn_queue(net, rx, nskb);
			}
			continue;
		}
		if (e->verdict == IPN_RX_FILTERED)
			continue;
		if (e->verdict != IPN_RX_READY ||
		    (ipn_rx_full(rx) && ipn_rx_lossy(net, rx))) {
			ipn_drop(net, rx);
			continue;
		}
		if (e->skb == skb) {
			itself = e;
			continue;
		}
		ipn_enqueue(net, rx, e->skb);
		e->skb = NULL;
		e->queued = true;
	}
	if (itself) {
		ipn_enqueue(net, itself->rx, skb);
		itself->skb = NULL;
		itself->queued = true;
	}
}

/*
 * After unlocking: wake the receivers that got the message, free the
 * clones nobody took (and the message itself if it was one of them), let
 * go of the receivers.
 */
static void ipn_finish(struct ipn_network *net, struct ipn_bcast_rx *b,
		       unsigned int n)
{
	unsigned int i;

	lockdep_assert_not_held(&net->lock);
	for (i = 0; i < n; i++) {
		if (b[i].queued)
			ipn_wake(b[i].rx);
		if (b[i].skb)
			consume_skb(b[i].skb);
		sock_put(&b[i].rx->sk);
	}
}

/**
 * ipn_broadcast - deliver @skb to every receiver of @self's network
 * @self: sender, a member
 * @skb: the message with its cb filled; taken over
 * @timeo: send timeout left, updated while waiting (lossless)
 *
 * Each receiver gets a clone, the last one the message itself; its
 * filter runs on that first.  In
 * lossy mode a full receiver loses the message and is told later.
 * net->lock is held twice, briefly: to take the snapshot of receivers,
 * and to queue the prepared clones (after waiting for room, lossless).
 *
 * Return: 0, or -EAGAIN / -EINTR / -ERESTARTSYS while waiting for room.
 */
int ipn_broadcast(struct ipn_sock *self, struct sk_buff *skb, long *timeo)
{
	struct ipn_bcast_rx stack[IPN_BCAST_STACK], *b = stack;
	struct ipn_network *net = self->net;
	unsigned int cap = IPN_BCAST_STACK, n, want;
	bool given;
	int err;

	/* the sender is a member but not its own receiver without loopback */
	want = READ_ONCE(net->nmembers) - !READ_ONCE(self->loopback);
	if (want > cap) {
		/* on failure, those past the stack's room go the slow way */
		b = kmalloc_array(want, sizeof(*b), GFP_KERNEL);
		if (b)
			cap = want;
		else
			b = stack;
	}
	mutex_lock(&net->lock);
	n = ipn_snapshot(net, self, b, cap);
	mutex_unlock(&net->lock);

	given = ipn_prepare(net, skb, b, n);

	err = ipn_lock_for_send(net, self, skb, 0, timeo, b, n);
	if (!err) {
		ipn_deliver(net, self, skb, b, n);
		mutex_unlock(&net->lock);
	}
	ipn_finish(net, b, n);
	if (!given)
		consume_skb(skb);
	if (b != stack)
		kfree(b);
	return err;
}

/**
 * ipn_unicast - deliver @skb to member @to only
 * @self: sender, a member
 * @to: destination member id
 * @skb: the message; taken over on success (return 0)
 * @fpp: SCM_RIGHTS files to pass, moved into the message when queued
 * @timeo: send timeout left (lossless)
 *
 * Unicast is addressed, so socket filters do not apply.
 *
 * Return: 0; -EHOSTUNREACH if @to is not a member; -ECONNREFUSED if it may
 * not receive; -EAGAIN / -EINTR / -ERESTARTSYS while waiting for room.
 */
int ipn_unicast(struct ipn_sock *self, u64 to, struct sk_buff *skb,
		struct ipn_fds **fpp, long *timeo)
{
	struct ipn_network *net = self->net;
	struct ipn_sock *rx;
	int err;

	err = ipn_lock_for_send(net, self, skb, to, timeo, NULL, 0);
	if (err)
		return err;
	rx = ipn_find_member(net, to);
	if (!rx) {
		err = -EHOSTUNREACH;
		goto out;
	}
	if (!rx->may_recv) {
		err = -ECONNREFUSED;
		goto out;
	}
	if (ipn_rx_full(rx) && ipn_rx_lossy(net, rx)) {
		ipn_drop(net, rx);
		consume_skb(skb);
		goto out;
	}
	skb_orphan(skb);
	IPNCB(skb)->fp = *fpp;
	*fpp = NULL;
	ipn_enqueue(net, rx, skb);
	/* woken after unlocking; the hold keeps it if it leaves meanwhile */
	sock_hold(&rx->sk);
	mutex_unlock(&net->lock);
	ipn_wake(rx);
	sock_put(&rx->sk);
	return 0;
out:
	mutex_unlock(&net->lock);
	return err;
}
