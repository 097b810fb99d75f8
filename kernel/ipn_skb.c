// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_skb.c - AF_IPN: the skb that carries one message
 *
 * A message is allocated once by its sender, charged to the sender's send
 * buffer, and cloned per receiver (ipn_deliver.c).  Large messages are
 * built from pages so that no size up to IPN_MTU_MAX needs a high-order
 * allocation.  The destructor set on each queued copy lets go of what the
 * control block references (the sender's pid, passed files).
 */
#include <linux/pid.h>
#include <linux/skbuff.h>
#include <net/sock.h>

#include "ipn_internal.h"

/* A single page-backed skb holds at most this many payload bytes. */
#define IPN_CHUNK	(MAX_SKB_FRAGS * PAGE_SIZE)

/**
 * ipn_skb_destruct - destructor of a message queued on a receiver
 * @skb: the receiver's copy, owned by its socket (skb_set_owner_r())
 *
 * Puts the pid reference and frees the files the message still holds
 * (unread, or read without room for them), then uncharges the receiver.
 */
void ipn_skb_destruct(struct sk_buff *skb)
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
