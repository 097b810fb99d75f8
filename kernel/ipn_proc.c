// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_proc.c - AF_IPN: /proc/net/ipn, one line per member the reader may see
 *
 * Format (after a header line), fields separated by one space:
 *   path id pid uid rxqueue drops
 * path is escaped (space, tab, newline, backslash as \ooo); pid and uid are
 * seen from the reader's namespaces; rxqueue is the receive queue's memory
 * in bytes (what counts against SO_RCVBUF); drops is IPN_SO_DROPS.
 *
 * What a reader sees: the members whose sockets live in the network
 * namespace of this /proc/net, of the networks whose node the reader may
 * open (r or w by the node's mode bits, checked with the reader's
 * credentials).  Nothing else: another namespace's networks, or a 0700
 * network of another user, leave no line, so no path, pid or uid leaks.
 *
 * The file is built from a snapshot: ipn_nets_mutex and each net->lock are
 * held only while the visible rows are copied out, never while the text is
 * formatted or copied to the reader, however slowly it reads.
 */
#include <linux/mm.h>
#include <linux/pid_namespace.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <linux/slab.h>
#include <net/net_namespace.h>

#include "ipn_internal.h"

/* One member, as copied out under the locks. */
struct ipn_proc_row {
	const char *name;	/* into the snapshot's own copy of the path */
	struct pid *pid;	/* referenced */
	kuid_t uid;
	u64 id;
	u64 drops;
	int rxqueue;
};

struct ipn_proc_snap {
	unsigned int nrows;
	unsigned int nnames;
	struct ipn_proc_row *rows;
	char (*names)[IPN_PATH_MAX + 1];
};

/* May the reader (current) open @net's node for r or w? */
static bool ipn_proc_may_see(struct ipn_network *net)
{
	return !path_permission(&net->path, MAY_READ) ||
	       !path_permission(&net->path, MAY_WRITE);
}

/*
 * Copy the rows @netns's reader may see.  First count under the locks,
 * allocate outside them, then fill under them again, taking at most what
 * was counted: networks that grew meanwhile show the members counted.
 */
static int ipn_proc_snapshot(struct net *netns, struct ipn_proc_snap *snap)
{
	unsigned int nets = 0, rows = 0, n;
	struct ipn_network *net;
	struct ipn_sock *ipn;
	bool named;

	memset(snap, 0, sizeof(*snap));
	mutex_lock(&ipn_nets_mutex);
	list_for_each_entry(net, &ipn_networks, node) {
		nets++;
		rows += READ_ONCE(net->nmembers);
	}
	mutex_unlock(&ipn_nets_mutex);
	if (!rows)
		return 0;
	snap->rows = kvcalloc(rows, sizeof(*snap->rows), GFP_KERNEL_ACCOUNT);
	snap->names = kvcalloc(nets, sizeof(*snap->names), GFP_KERNEL_ACCOUNT);
	if (!snap->rows || !snap->names)
		return -ENOMEM;

	mutex_lock(&ipn_nets_mutex);
	list_for_each_entry(net, &ipn_networks, node) {
		if (snap->nnames == nets || snap->nrows == rows)
			break;
		if (!ipn_proc_may_see(net))
			continue;
		named = false;
		mutex_lock(&net->lock);
		list_for_each_entry(ipn, &net->members, member) {
			if (snap->nrows == rows)
				break;
			if (!net_eq(sock_net(&ipn->sk), netns))
				continue;
			if (!named) {
				n = snap->nnames++;
				strscpy(snap->names[n], net->name,
					sizeof(snap->names[n]));
				named = true;
			}
			snap->rows[snap->nrows++] = (struct ipn_proc_row){
				.name = snap->names[snap->nnames - 1],
				.pid = get_pid(ipn->pid),
				.uid = ipn->uid,
				.id = ipn->id,
				.drops = ipn->drops,
				.rxqueue = sk_rmem_alloc_get(&ipn->sk),
			};
		}
		mutex_unlock(&net->lock);
	}
	mutex_unlock(&ipn_nets_mutex);
	return 0;
}

static void ipn_proc_snap_free(struct ipn_proc_snap *snap)
{
	unsigned int i;

	for (i = 0; i < snap->nrows; i++)
		put_pid(snap->rows[i].pid);
	kvfree(snap->rows);
	kvfree(snap->names);
}

static int ipn_proc_show(struct seq_file *m, void *v)
{
	struct pid_namespace *pidns = task_active_pid_ns(current);
	struct ipn_proc_snap snap;
	struct ipn_proc_row *row;
	unsigned int i;
	int err;

	err = ipn_proc_snapshot(seq_file_single_net(m), &snap);
	if (!err) {
		seq_puts(m, "Path Id Pid Uid RxQueue Drops\n");
		for (i = 0; i < snap.nrows; i++) {
			row = &snap.rows[i];
			seq_escape(m, row->name, " \t\n\\");
			seq_printf(m, " %llu %d %u %d %llu\n", row->id,
				   pid_nr_ns(row->pid, pidns),
				   from_kuid_munged(seq_user_ns(m), row->uid),
				   row->rxqueue, row->drops);
		}
	}
	ipn_proc_snap_free(&snap);
	return err;
}

static int __net_init ipn_proc_net_init(struct net *net)
{
	if (!proc_create_net_single("ipn", 0444, net->proc_net, ipn_proc_show,
				    NULL))
		return -ENOMEM;
	return 0;
}

static void __net_exit ipn_proc_net_exit(struct net *net)
{
	remove_proc_entry("ipn", net->proc_net);
}

static struct pernet_operations ipn_proc_net_ops = {
	.init = ipn_proc_net_init,
	.exit = ipn_proc_net_exit,
};

/**
 * ipn_proc_init - create /proc/net/ipn in every network namespace
 *
 * Return: 0 or a negative errno.
 */
int ipn_proc_init(void)
{
	return register_pernet_subsys(&ipn_proc_net_ops);
}

/**
 * ipn_proc_exit - remove /proc/net/ipn
 */
void ipn_proc_exit(void)
{
	unregister_pernet_subsys(&ipn_proc_net_ops);
}
