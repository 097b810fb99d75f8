// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_bcast.c - AF_IPN: message allocation, broadcast and unicast delivery,
 * membership events
 *
 * Everything that queues an skb on a receiver runs under net->lock, which
 * is what makes the order of messages the same for every member.  A
 * broadcast does everything else without it: the clones are allocated and
 * the socket filters run on a snapshot of the receivers before the lock
 * is taken to queue them, and the receivers are woken after it is
 * released (see "Broadcast" in af_ipn.c).
 */
#include <linux/filter.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/file.h>
#include <net/sock.h>

#include "ipn_compat.h"
#include "ipn_internal.h"

/* A single page-backed skb holds at most this many payload bytes. */
#define IPN_CHUNK	(MAX_SKB_FRAGS * PAGE_SIZE)

static void ipn_skb_destruct(struct sk_buff *skb)
{
	struct ipn_skb_parms *cb = IPNCB(skb);

	put_pid(cb->pid);
	cb->pid = NULL;
	if (cb->fp) {
		ipn_fds_free(cb->fp);
		cb->fp = NULL;
	}
	sock_rfree(skb);
}

/*
 * Chain one more page-backed skb of @len bytes to @head's frag_list and
 * charge it to @sk's send buffer, as the head itself is.
 */
static int ipn_append_chunk(struct sock *sk, struct sk_buff *head,
			    struct sk_buff ***tail, size_t len)
{
	struct sk_buff *frag;
	int err;

	frag = alloc_skb_with_frags(0, len, 0, &err, sk->sk_allocation);
	if (!frag)
		return err;
	frag->len = len;
	frag->data_len = len;
	**tail = frag;
	*tail = &frag->next;
	head->len += len;
	head->data_len += len;
	head->truesize += frag->truesize;
	refcount_add(frag->truesize, &sk->sk_wmem_alloc);
	return 0;
}

/**
 * ipn_alloc_msg_skb - allocate an skb for one message of @len bytes
 * @sk: sending socket, charged for the memory until delivery
 * @len: payload bytes
 * @noblock: do not wait for send buffer space
 * @err: set to a negative errno when NULL is returned
 *
 * Small messages are linear.  Large ones are built from pages (frags in
 * the head, then a frag_list of page-backed skbs) so a 4 MiB message never
 * needs a high-order allocation.
 *
 * Return: the skb with len == @len and no data copied, or NULL.
 */
struct sk_buff *ipn_alloc_msg_skb(struct sock *sk, size_t len, int noblock,
				  int *err)
{
	struct sk_buff *skb, **tail;
	size_t paged, rest;

	if (len <= SKB_MAX_ALLOC) {
		skb = sock_alloc_send_pskb(sk, len, 0, noblock, err, 0);
		if (skb)
			skb_put(skb, len);
		return skb;
	}
	paged = min_t(size_t, len, IPN_CHUNK);
	skb = sock_alloc_send_pskb(sk, 0, paged, noblock, err, 0);
	if (!skb)
		return NULL;
	skb->len = paged;
	skb->data_len = paged;
	tail = &skb_shinfo(skb)->frag_list;
	for (rest = len - paged; rest; rest -= paged) {
		paged = min_t(size_t, rest, IPN_CHUNK);
		*err = ipn_append_chunk(sk, skb, &tail, paged);
		if (*err) {
			kfree_skb(skb);
			return NULL;
		}
	}
	return skb;
}

/* A receiver is full once its queue has reached its SO_RCVBUF. */
static bool ipn_rx_full(struct ipn_sock *rx)
{
	return atomic_read(&rx->sk.sk_rmem_alloc) >=
	       READ_ONCE(rx->sk.sk_rcvbuf);
}

static bool ipn_is_receiver(struct ipn_sock *rx, struct ipn_sock *self)
{
	return rx->may_recv && (rx != self || READ_ONCE(self->loopback));
}

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

static bool ipn_is_congested(struct ipn_sock *rx)
{
	return test_bit(IPN_RX_CONGESTED, &rx->rxflags);
}

/* Mark @rx congested (lossless), counted in net->ncongested. */
static void ipn_set_congested(struct ipn_network *net, struct ipn_sock *rx)
{
	lockdep_assert_held(&net->lock);
	if (ipn_is_congested(rx))
		return;
	WRITE_ONCE(rx->stall_mark, jiffies);
	if (!test_and_set_bit(IPN_RX_CONGESTED, &rx->rxflags))
		atomic_inc(&net->ncongested);
}

/*
 * @rx is no longer congested: clear the flag, its overrun and its count.
 * With or without net->lock (the receiver clears its own flag).
 */
static bool ipn_clear_congested(struct ipn_network *net, struct ipn_sock *rx)
{
	if (!test_and_clear_bit(IPN_RX_CONGESTED, &rx->rxflags))
		return false;
	WRITE_ONCE(rx->overrun, false);
	atomic_dec(&net->ncongested);
	return true;
}

/**
 * ipn_leave_congestion - @ipn leaves the network: it holds no one any more
 * @net: the network, locked
 * @ipn: the member being removed
 */
void ipn_leave_congestion(struct ipn_network *net, struct ipn_sock *ipn)
{
	lockdep_assert_held(&net->lock);
	ipn_clear_congested(net, ipn);
}

/* Is any receiver of @net possibly congested?  A sender's fast path. */
static bool ipn_net_congested(struct ipn_network *net)
{
	return atomic_read(&net->ncongested) != 0;
}

/*
 * Lossless flow control with hysteresis: a receiver that fills up becomes
 * congested and stays so until it has read down to half its SO_RCVBUF, so
 * a waiting sender wakes once per half queue, not once per message.
 * Called under net->lock.
 */
static bool ipn_rx_congested(struct ipn_network *net, struct ipn_sock *rx)
{
	int rmem = atomic_read(&rx->sk.sk_rmem_alloc);
	int buf = READ_ONCE(rx->sk.sk_rcvbuf);

	lockdep_assert_held(&net->lock);
	if (rmem >= buf) {
		ipn_set_congested(net, rx);
		return true;
	}
	if (!ipn_is_congested(rx))
		return false;
	if (rmem > buf / 2)
		return true;
	/* The receiver's own check may have run before it saw the flag. */
	ipn_clear_congested(net, rx);
	return false;
}

/**
 * ipn_stall_timer - a congested receiver's stall timeout has expired
 * @t: the network's stall_timer
 *
 * Wakes the senders and pollers waiting on the network: the first to look
 * switches the stalled receiver to overrun (ipn_rx_holds()).
 */
void ipn_stall_timer(struct timer_list *t)
{
	struct ipn_network *net = ipn_from_timer(net, t, stall_timer);

	wake_up_interruptible_poll(&net->wait, EPOLLOUT | EPOLLWRNORM);
}

/*
 * Does congested receiver @rx still hold the senders of a lossless
 * network?  Not once it has read nothing for the network's stall timeout:
 * then it is switched to overrun, and loses what does not fit instead of
 * vetoing everyone.  Otherwise the stall timer is armed for its deadline.
 * Called under net->lock.
 */
static bool ipn_rx_holds(struct ipn_network *net, struct ipn_sock *rx)
{
	unsigned long deadline;

	lockdep_assert_held(&net->lock);
	if (READ_ONCE(rx->overrun))
		return false;
	deadline = READ_ONCE(rx->stall_mark) + net->stall_timeout;
	if (time_after_eq(jiffies, deadline)) {
		WRITE_ONCE(rx->overrun, true);
		return false;
	}
	timer_reduce(&net->stall_timer, deadline);
	return true;
}

/* Does @rx lose a message that finds its queue full?  Under net->lock. */
static bool ipn_rx_lossy(struct ipn_network *net, struct ipn_sock *rx)
{
	lockdep_assert_held(&net->lock);
	return !(net->flags & IPN_FLAG_LOSSLESS) || READ_ONCE(rx->overrun);
}

/**
 * ipn_lossless_read - after a read on a lossless network: wake the senders
 * @net: the network
 * @ipn: the receiver, which just freed a message
 *
 * Pairs with ipn_lock_for_send(): the sender sets ->congested, queues
 * itself on net->wait, then re-checks the room; the receiver frees room,
 * then checks ->congested and the wait queue.  The barriers make at least
 * one of them see the other.
 */
void ipn_lossless_read(struct ipn_network *net, struct ipn_sock *ipn)
{
	struct sock *sk = &ipn->sk;

	/* a receiver that reads is not stalled: its timeout starts again */
	WRITE_ONCE(ipn->stall_mark, jiffies);
	/*
	 * Orders the room just freed (sk_rmem_alloc, by the caller) before
	 * the read of ->congested; pairs with the sender setting ->congested
	 * under net->lock and then re-checking the room in
	 * ipn_lock_for_send().
	 */
	smp_mb();
	if (!ipn_is_congested(ipn) ||
	    atomic_read(&sk->sk_rmem_alloc) > READ_ONCE(sk->sk_rcvbuf) / 2)
		return;
	if (!ipn_clear_congested(net, ipn))
		return;
	/*
	 * Orders clearing ->congested (and the count) before
	 * waitqueue_active(); pairs with
	 * the smp_mb() after add_wait_queue() in ipn_lock_for_send() and
	 * after poll_wait() in ipn_poll(): either the waiter sees the room,
	 * or we see the waiter and wake it.
	 */
	smp_mb();
	/* lockless check: safe after the smp_mb() above (see there) */
	if (waitqueue_active(&net->wait))
		wake_up_interruptible_sync_poll(&net->wait,
						EPOLLOUT | EPOLLWRNORM);
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

/**
 * ipn_net_has_room - would a broadcast from @self go through without waiting
 * @net: the network
 * @self: the would-be sender
 *
 * Used by poll() on lossless networks.  Filters are not consulted: POLLOUT
 * is withheld while any receiver is congested.
 *
 * Return: true when no receiver is congested.
 */
bool ipn_net_has_room(struct ipn_network *net, struct ipn_sock *self)
{
	struct ipn_sock *rx;
	bool room = true;

	/* the caller's smp_mb() orders this after poll_wait() */
	if (!ipn_net_congested(net))
		return true;
	mutex_lock(&net->lock);
	list_for_each_entry(rx, &net->members, member) {
		if (ipn_is_receiver(rx, self) && ipn_rx_congested(net, rx) &&
		    ipn_rx_holds(net, rx)) {
			room = false;
			break;
		}
	}
	mutex_unlock(&net->lock);
	return room;
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

/* Queue @skb on @rx and wake it, all under net->lock (rare paths). */
static void ipn_queue(struct ipn_network *net, struct ipn_sock *rx,
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
 * through its socket filter.  Allocation may sleep and filters may be
 * long: nobody waits for the network meanwhile.
 */
static void ipn_prepare(struct ipn_network *net, struct sk_buff *skb,
			struct ipn_bcast_rx *b, unsigned int n)
{
	unsigned int i;
	int err;

	lockdep_assert_not_held(&net->lock);
	for (i = 0; i < n; i++) {
		if (b[i].verdict != IPN_RX_CLONE)
			continue;
		b[i].skb = ipn_clone_filtered(b[i].rx, skb, &err);
		if (b[i].skb)
			b[i].verdict = IPN_RX_READY;
		else
			b[i].verdict = err ? IPN_RX_NOMEM : IPN_RX_FILTERED;
	}
}

/*
 * Under net->lock: queue the message on every current receiver, in one
 * go, so that it takes one place in the network's order.  Receivers from
 * the snapshot get their prepared clone; one that left meanwhile is
 * skipped; one that is not in the snapshot (joined meanwhile) is served
 * here, as before the snapshot existed: clone, filter, queue and wake
 * under the lock.  Who gets woken after unlocking is marked ->queued.
 */
static void ipn_deliver(struct ipn_network *net, struct ipn_sock *self,
			struct sk_buff *skb, struct ipn_bcast_rx *b,
			unsigned int n)
{
	struct ipn_bcast_rx *e;
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
		ipn_enqueue(net, rx, e->skb);
		e->skb = NULL;
		e->queued = true;
	}
}

/*
 * After unlocking: wake the receivers that got the message, free the
 * clones nobody took, let go of the receivers.
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
 * @skb: the message with its cb filled; stays owned by the caller
 * @timeo: send timeout left, updated while waiting (lossless)
 *
 * Each receiver gets a clone; its filter runs on that clone first.  In
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
	int err;

	want = READ_ONCE(net->nmembers);
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

	ipn_prepare(net, skb, b, n);

	err = ipn_lock_for_send(net, self, skb, 0, timeo, b, n);
	if (!err) {
		ipn_deliver(net, self, skb, b, n);
		mutex_unlock(&net->lock);
	}
	ipn_finish(net, b, n);
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

/*
 * A zero-byte event message about @subject (NULL for an overrun notice).
 * Charged to the memory cgroup of the task that causes it.
 */
static struct sk_buff *ipn_event_skb(struct ipn_sock *subject, u16 event)
{
	struct ipn_skb_parms *cb;
	struct sk_buff *skb;

	skb = alloc_skb(0, GFP_KERNEL_ACCOUNT);
	if (!skb)
		return NULL;
	cb = IPNCB(skb);
	memset(cb, 0, sizeof(*cb));
	cb->event = event;
	if (subject) {
		cb->from = subject->id;
		cb->pid = subject->pid;
		cb->uid = subject->uid;
		cb->gid = subject->gid;
	}
	return skb;
}

/*
 * Make sure an IPN_EVENT_OVERRUN notice is waiting in @to's queue while
 * it has lost events.  The one notice may go past SO_RCVBUF: it is what
 * tells the receiver that its view is stale.  If it cannot be allocated,
 * the next event for @to tries again.  Called under net->lock.
 */
static void ipn_event_overrun(struct ipn_network *net, struct ipn_sock *to)
{
	struct sk_buff *skb;

	lockdep_assert_held(&net->lock);
	if (!to->events_lost || to->overrun_queued)
		return;
	skb = ipn_event_skb(NULL, IPN_EVENT_OVERRUN);
	if (!skb)
		return;
	to->overrun_queued = true;
	ipn_queue(net, to, skb);
}

/*
 * Queue one membership event about @subject on @to, if its queue has
 * room; else count it as lost.  Called under net->lock.
 */
static void ipn_event_one(struct ipn_network *net, struct ipn_sock *to,
			  struct ipn_sock *subject, u16 event)
{
	struct sk_buff *skb = NULL;

	lockdep_assert_held(&net->lock);
	if (!to->may_recv)
		return;
	ipn_event_overrun(net, to);
	if (!ipn_rx_full(to))
		skb = ipn_event_skb(subject, event);
	if (!skb) {
		if (to->events_lost < U32_MAX)
			to->events_lost++;
		ipn_event_overrun(net, to);
		return;
	}
	ipn_queue(net, to, skb);
}

/**
 * ipn_events_lost_read - the count an IPN_EVENT_OVERRUN notice reports
 * @ipn: the receiver, a member, which just dequeued the notice
 * @peek: MSG_PEEK: leave the count and the notice in place
 *
 * Return: events lost since the previous notice was read (at least 1).
 */
u32 ipn_events_lost_read(struct ipn_sock *ipn, bool peek)
{
	struct ipn_network *net = ipn->net;
	u32 lost;

	mutex_lock(&net->lock);
	lost = ipn->events_lost;
	if (!peek) {
		ipn->events_lost = 0;
		ipn->overrun_queued = false;
	}
	mutex_unlock(&net->lock);
	return lost;
}

/**
 * ipn_event_all - tell every member that wants events about @subject
 * @net: the network, locked
 * @subject: the member that joined or is leaving (not told itself)
 * @event: IPN_EVENT_JOIN or IPN_EVENT_LEAVE
 */
void ipn_event_all(struct ipn_network *net, struct ipn_sock *subject,
		   u16 event)
{
	struct ipn_sock *rx;

	lockdep_assert_held(&net->lock);
	list_for_each_entry(rx, &net->members, member)
		if (rx != subject && READ_ONCE(rx->events))
			ipn_event_one(net, rx, subject, event);
}

/**
 * ipn_event_snapshot - queue a JOIN on @to for each other current member
 * @net: the network, locked
 * @to: the member that just asked for events
 */
void ipn_event_snapshot(struct ipn_network *net, struct ipn_sock *to)
{
	struct ipn_sock *m;

	lockdep_assert_held(&net->lock);
	list_for_each_entry(m, &net->members, member)
		if (m != to)
			ipn_event_one(net, to, m, IPN_EVENT_JOIN);
}
