// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_proc.c - AF_IPN: /proc/net/ipn, one line per member of every network
 *
 * Format (after a header line), fields separated by one space:
 *   path id pid uid rxqueue drops
 * path is escaped (space, tab, newline, backslash as \ooo); pid and uid are
 * seen from the reader's namespaces; rxqueue is the receive queue's memory
 * in bytes (what counts against SO_RCVBUF); drops is IPN_SO_DROPS.
 */
#include <linux/pid_namespace.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "ipn_internal.h"

static int ipn_proc_show(struct seq_file *m, void *v)
{
	struct pid_namespace *pidns = task_active_pid_ns(current);
	struct ipn_network *net;
	struct ipn_sock *ipn;

	seq_puts(m, "Path Id Pid Uid RxQueue Drops\n");
	mutex_lock(&ipn_nets_mutex);
	list_for_each_entry(net, &ipn_networks, node) {
		mutex_lock(&net->lock);
		list_for_each_entry(ipn, &net->members, member) {
			seq_escape(m, net->name, " \t\n\\");
			seq_printf(m, " %llu %d %u %d %llu\n", ipn->id,
				   pid_nr_ns(ipn->pid, pidns),
				   from_kuid_munged(seq_user_ns(m), ipn->uid),
				   sk_rmem_alloc_get(&ipn->sk), ipn->drops);
		}
		mutex_unlock(&net->lock);
	}
	mutex_unlock(&ipn_nets_mutex);
	return 0;
}

static int __net_init ipn_proc_net_init(struct net *net)
{
	if (!proc_create_single("ipn", 0444, net->proc_net, ipn_proc_show))
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
