// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_flow.c - AF_IPN: flow control on lossless networks
 *
 * A receiver whose queue reaches its SO_RCVBUF becomes congested: senders
 * that would queue on it wait (ipn_lock_for_send() in ipn_deliver.c) until
 * it has read down to half its buffer, and poll() withholds POLLOUT.  One
 * that reads nothing for the network's stall timeout stops holding them:
 * it is switched to overrun and loses what does not fit.  The count of
 * congested receivers (net->ncongested) keeps the senders' check O(1)
 * while none is.  See "Broadcast" in af_ipn.c for how this meets the
 * locking rules.
 */
#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <net/sock.h>

#include "ipn_internal.h"

/**
 * ipn_set_congested - mark @rx congested, counted in net->ncongested
 * @net: the network, locked
 * @rx: a receiver whose queue is full
 *
 * Starts its stall timeout (->stall_mark) when it was not congested yet.
 */
void ipn_set_congested(struct ipn_network *net, struct ipn_sock *rx)
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

/**
 * ipn_rx_congested - does @rx hold lossless senders back for lack of room
 * @net: the network, locked
 * @rx: a receiver
 *
 * Flow control with hysteresis: a receiver that fills up becomes
 * congested and stays so until it has read down to half its SO_RCVBUF, so
 * a waiting sender wakes once per half queue, not once per message.
 *
 * Return: true while @rx is congested (marking it so when it is full).
 */
bool ipn_rx_congested(struct ipn_network *net, struct ipn_sock *rx)
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

/**
 * ipn_rx_holds - does congested receiver @rx still hold the senders
 * @net: the network, locked
 * @rx: a congested receiver of a lossless network
 *
 * Not once it has read nothing for the network's stall timeout: then it
 * is switched to overrun, and loses what does not fit instead of vetoing
 * everyone.  Otherwise the stall timer is armed for its deadline.
 *
 * Return: true while @rx makes senders wait.
 */
bool ipn_rx_holds(struct ipn_network *net, struct ipn_sock *rx)
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
