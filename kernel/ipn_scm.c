// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_scm.c - AF_IPN: files passed with SCM_RIGHTS
 *
 * Three rules live here.
 *
 * Which files may travel: none that can itself hold files in flight.  An
 * AF_UNIX socket queues SCM_RIGHTS files, an io_uring instance holds
 * registered files, Android binder holds the files of pending
 * transactions, an AF_IPN socket queues SCM_RIGHTS files: if one of
 * them could sit in an IPN queue, a member's own socket could end up
 * (through it) holding the only reference to that member, a cycle nothing
 * would ever free.  af_unix collects such cycles with a garbage collector
 * private to it; AF_IPN refuses these files instead (EOPNOTSUPP), so it
 * can never be part of a cycle and needs no collector.  Every other file
 * (pipes, memfds, regular files, eventfds, other socket families) passes.
 *
 * How many: the files a user has in flight over AF_IPN count against the
 * sender's RLIMIT_NOFILE, per user as af_unix counts them; a message that
 * would take the user past it fails with ETOOMANYREFS unless the sender
 * has CAP_SYS_RESOURCE or CAP_SYS_ADMIN.  The charge is released when the
 * message is received or freed.
 *
 * How they arrive: the control message header and every slot for a file
 * number are written to the receiver's memory before any file is
 * installed, and each number is written before its file is installed
 * (kernels from 6.8 do that in receive_fd(); on older ones, see
 * ipn_receive_fd_user() in ipn_compat.h).  A receiver whose buffer faults therefore gets
 * MSG_CTRUNC and nothing installed behind its back; no file is ever
 * closed by number.  32-bit (MSG_CMSG_COMPAT) receivers get the compat
 * layout.
 *
 * Locking: ipn_inflight_lock, a leaf spinlock (bottom halves off, as
 * files may be released with an skb anywhere), protects the per-user
 * table.  Installation runs under the receiver's iolock (af_ipn.c).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/magic.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <net/compat.h>
#include <net/scm.h>

#include "ipn_compat.h"
#include "ipn_internal.h"

/**
 * struct ipn_inflight_user - files one user has in flight over AF_IPN
 * @node: entry in ipn_inflight_users
 * @uid: the user (real uid of the sender, as af_unix's per-user count)
 * @files: files in queued messages; the entry is freed when it drops to 0
 */
struct ipn_inflight_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned long files;
};

static DEFINE_HASHTABLE(ipn_inflight_users, 6);
static DEFINE_SPINLOCK(ipn_inflight_lock);

static struct ipn_inflight_user *ipn_inflight_find(kuid_t uid)
{
	struct ipn_inflight_user *u;

	lockdep_assert_held(&ipn_inflight_lock);
	hash_for_each_possible(ipn_inflight_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/*
 * Charge the files of @fds to the sending user.  The capability check
 * runs only when the limit is hit, outside the lock, as af_unix does, so
 * that unprivileged senders within their limit never audit a denial.
 */
static int ipn_inflight_charge(struct ipn_fds *fds)
{
	unsigned long limit = rlimit(RLIMIT_NOFILE);
	struct ipn_inflight_user *u, *fresh;
	kuid_t uid = current_uid();
	bool exempt = false;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return -ENOMEM;
	for (;;) {
		spin_lock_bh(&ipn_inflight_lock);
		u = ipn_inflight_find(uid);
		if (exempt || (u ? u->files : 0) + fds->count <= limit)
			break;
		spin_unlock_bh(&ipn_inflight_lock);
		if (!capable(CAP_SYS_RESOURCE) && !capable(CAP_SYS_ADMIN)) {
			kfree(fresh);
			return -ETOOMANYREFS;
		}
		exempt = true;
	}
	if (!u) {
		u = fresh;
		fresh = NULL;
		u->uid = uid;
		hash_add(ipn_inflight_users, &u->node, __kuid_val(uid));
	}
	u->files += fds->count;
	spin_unlock_bh(&ipn_inflight_lock);
	kfree(fresh);
	fds->user = u;
	return 0;
}

static void ipn_inflight_uncharge(struct ipn_fds *fds)
{
	struct ipn_inflight_user *u = fds->user;

	spin_lock_bh(&ipn_inflight_lock);
	u->files -= fds->count;
	if (!u->files)
		hash_del(&u->node);
	else
		u = NULL;
	spin_unlock_bh(&ipn_inflight_lock);
	kfree(u);
}

/**
 * ipn_fds_free - drop the file references of an SCM_RIGHTS list
 * @fds: the list, or NULL
 *
 * Also releases the sender's in-flight charge for them.
 */
void ipn_fds_free(struct ipn_fds *fds)
{
	unsigned int i;

	if (!fds)
		return;
	if (fds->user)
		ipn_inflight_uncharge(fds);
	for (i = 0; i < fds->count; i++)
		fput(fds->fp[i]);
	kfree(fds);
}

/*
 * io_uring instances are anonymous inodes named "[io_uring]"; the kernel
 * does not export io_is_uring_fops(), and no user can name an anonymous
 * inode.
 */
static bool ipn_file_is_io_uring(struct file *file)
{
	return file_inode(file)->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	       !strcmp(file->f_path.dentry->d_name.name, "[io_uring]");
}

/*
 * Android binder holds files in flight in pending transactions.  Its files
 * are recognised by the module that provides them, binder_linux in
 * distribution kernels (a kernel with binder built in is not covered).
 */
static bool ipn_file_is_binder(struct file *file)
{
	struct module *owner = file->f_op->owner;

	return owner && !strcmp(module_name(owner), "binder_linux");
}

/* Can @file hold files in flight (and so close a cycle through IPN)? */
static bool ipn_file_carries_files(struct file *file)
{
	struct socket *sock = sock_from_file(file);

	if (sock)
		return sock->ops->family == AF_UNIX ||
		       sock->ops->family == ipn_family;
	return ipn_file_is_io_uring(file) || ipn_file_is_binder(file);
}

/**
 * ipn_scm_from_msg - take the files of a message's SCM_RIGHTS
 * @msg: the message being sent (control data already in kernel memory)
 * @ret: set to the files, or NULL when the message carries none
 *
 * SCM_RIGHTS is the only control message accepted, at most once.
 *
 * Return: 0; -EINVAL for a malformed or other control message; -EBADF
 * for a bad descriptor; -EOPNOTSUPP for a file that can carry files
 * (AF_UNIX or AF_IPN socket, io_uring, binder); -ETOOMANYREFS past the
 * sender's RLIMIT_NOFILE of files in flight; -ENOMEM.
 */
int ipn_scm_from_msg(struct msghdr *msg, struct ipn_fds **ret)
{
	struct ipn_fds *fds = NULL;
	struct cmsghdr *cmsg;
	int num, i, *fdp, err;

	*ret = NULL;
	if (msg->msg_control_is_user)
		return -EINVAL;
	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg) || cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS || fds) {
			err = -EINVAL;
			goto out_free;
		}
		num = (cmsg->cmsg_len - sizeof(struct cmsghdr)) / sizeof(int);
		if (num <= 0)
			continue;
		if (num > SCM_MAX_FD) {
			err = -EINVAL;
			goto out_free;
		}
		fds = kzalloc(struct_size(fds, fp, num), GFP_KERNEL_ACCOUNT);
		if (!fds)
			return -ENOMEM;
		fdp = (int *)CMSG_DATA(cmsg);
		for (i = 0; i < num; i++) {
			fds->fp[i] = fdp[i] < 0 ? NULL : fget_raw(fdp[i]);
			if (!fds->fp[i]) {
				err = -EBADF;
				goto out_free;
			}
			fds->count++;
			if (ipn_file_carries_files(fds->fp[i])) {
				err = -EOPNOTSUPP;
				goto out_free;
			}
		}
	}
	if (fds) {
		err = ipn_inflight_charge(fds);
		if (err)
			goto out_free;
	}
	*ret = fds;
	return 0;
out_free:
	ipn_fds_free(fds);
	return err;
}

/*
 * Write an SCM_RIGHTS header for @n files at @cm in the native or the
 * compat layout; return the header size (where the numbers start).
 */
static int ipn_put_rights_hdr(void __user *cm, bool compat, int n)
{
	struct compat_cmsghdr __user *cc = cm;
	struct cmsghdr __user *c = cm;

	if (compat) {
		if (put_user(sizeof(*cc) + n * sizeof(int), &cc->cmsg_len) ||
		    put_user(SOL_SOCKET, &cc->cmsg_level) ||
		    put_user(SCM_RIGHTS, &cc->cmsg_type))
			return -EFAULT;
		return sizeof(*cc);
	}
	if (put_user(CMSG_LEN(n * sizeof(int)), &c->cmsg_len) ||
	    put_user(SOL_SOCKET, &c->cmsg_level) ||
	    put_user(SCM_RIGHTS, &c->cmsg_type))
		return -EFAULT;
	return CMSG_ALIGN(sizeof(*c));
}

/* Room a control message for @n files takes in the receiver's buffer. */
static size_t ipn_rights_space(bool compat, int n)
{
	if (compat)
		return sizeof(struct compat_cmsghdr) +
		       ALIGN(n * sizeof(int), sizeof(compat_int_t));
	return CMSG_SPACE(n * sizeof(int));
}

/**
 * ipn_scm_recv - install the files of a received message
 * @msg: the receiver's message; its control buffer gets the SCM_RIGHTS
 * @fds: the files
 * @flags: recvmsg() flags (MSG_CMSG_CLOEXEC)
 *
 * Files that do not fit the control buffer, or that cannot be installed
 * (RLIMIT_NOFILE, a security module), are not delivered and set
 * MSG_CTRUNC.  The caller holds the receiver's iolock and frees @fds
 * unless peeking.
 */
void ipn_scm_recv(struct msghdr *msg, struct ipn_fds *fds, int flags)
{
	bool compat = msg->msg_flags & MSG_CMSG_COMPAT;
	unsigned int o_flags = (flags & MSG_CMSG_CLOEXEC) ? O_CLOEXEC : 0;
	void __user *cm = msg->msg_control_user;
	size_t hdr = compat ? sizeof(struct compat_cmsghdr) :
			      CMSG_ALIGN(sizeof(struct cmsghdr));
	int __user *slots;
	int fdmax = 0, i = 0;
	size_t room;

	if (msg->msg_control_is_user && cm && msg->msg_controllen > hdr)
		fdmax = (msg->msg_controllen - hdr) / sizeof(int);
	fdmax = min_t(int, fdmax, fds->count);
	slots = (int __user *)((char __user *)cm + hdr);
	/* Everything the receiver will read is written before installing. */
	if (fdmax > 0 && (ipn_put_rights_hdr(cm, compat, fdmax) < 0 ||
			  clear_user(slots, fdmax * sizeof(int))))
		fdmax = 0;
	for (i = 0; i < fdmax; i++)
		if (ipn_receive_fd_user(fds->fp[i], slots + i, o_flags) < 0)
			break;
	/* Fewer than announced: shorten the header (it was writable). */
	if (i > 0 && i < fdmax && ipn_put_rights_hdr(cm, compat, i) < 0)
		i = 0;
	if (i > 0) {
		room = min_t(size_t, ipn_rights_space(compat, i),
			     msg->msg_controllen);
		msg->msg_control_user += room;
		msg->msg_controllen -= room;
	}
	if (i < (int)fds->count)
		msg->msg_flags |= MSG_CTRUNC;
}
