// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_event.c - AF_IPN: membership events
 *
 * A member with IPN_SO_MEMBER_EVENTS gets a zero-byte message for every
 * other member that joins or leaves, queued in the network's order with
 * data (under net->lock), and a JOIN for each current member when it
 * switches events on.  Events are bounded by the receiver's SO_RCVBUF:
 * those that do not fit are counted, and one IPN_EVENT_OVERRUN notice in
 * its queue tells it how many it lost, so that it can rescan.
 */
#include <linux/mutex.h>
#include <linux/skbuff.h>
#include <net/sock.h>

#include "ipn_internal.h"

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
