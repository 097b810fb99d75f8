/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipn_compat.h - AF_IPN: every kernel-version difference in one place
 *
 * The module's sources call the ipn_ names below and never test
 * LINUX_VERSION_CODE themselves, so supporting a new kernel means editing
 * this file alone.  Each entry names the kernel that changed the API.
 */
#ifndef _IPN_COMPAT_H
#define _IPN_COMPAT_H

#include <linux/file.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/timer.h>
#include <linux/uaccess.h>
#include <linux/version.h>

/* 6.3: idmapped mounts pass a struct mnt_idmap instead of a user_ns. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define ipn_mnt_idmap(mnt)	mnt_idmap(mnt)
#else
#define ipn_mnt_idmap(mnt)	mnt_user_ns(mnt)
#endif

/*
 * 6.8: receive_fd() takes the user pointer to write the number to, and
 * writes it before installing the file: nothing is left on a fault.
 *
 * Before 6.8 the only exported way to install a received file with its
 * security check is receive_fd(file, flags), which installs before the
 * caller can write the number.  ipn_scm_recv() writes every slot just
 * before, so only another thread of the receiver unmapping its own buffer
 * in between makes put_user() fail; the file then stays installed (as
 * af_unix leaves files whose header it cannot write) and is never closed
 * by number, which could close a file another thread opened meanwhile.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
static inline int ipn_receive_fd_user(struct file *file, int __user *ufd,
				      unsigned int o_flags)
{
	return receive_fd(file, ufd, o_flags);
}
#else
static inline int ipn_receive_fd_user(struct file *file, int __user *ufd,
				      unsigned int o_flags)
{
	int fd = receive_fd(file, o_flags);

	if (fd < 0)
		return fd;
	if (put_user(fd, ufd))
		return -EFAULT;
	return fd;
}
#endif

/* 6.17: sk_filter_trim_cap() reports why it dropped a packet. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 17, 0)
static inline int ipn_sk_filter_trim_cap(struct sock *sk, struct sk_buff *skb,
					 unsigned int cap)
{
	enum skb_drop_reason reason;

	return sk_filter_trim_cap(sk, skb, cap, &reason);
}
#else
#define ipn_sk_filter_trim_cap(sk, skb, cap)	sk_filter_trim_cap(sk, skb, cap)
#endif

/* 6.16: from_timer() is renamed timer_container_of(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 16, 0)
#define ipn_from_timer(var, t, field)	timer_container_of(var, t, field)
#else
#define ipn_from_timer(var, t, field)	from_timer(var, t, field)
#endif

/* Creating the node of a network: look up the parent, make the dentry. */
#define ipn_start_creating_path(dfd, name, parent, flags) \
	kern_path_create(dfd, name, parent, flags)
#define ipn_end_creating_path(parent, dentry)	done_path_create(parent, dentry)
#define ipn_vfs_mknod(idmap, dir, dentry, mode, dev) \
	vfs_mknod(idmap, dir, dentry, mode, dev)

/*
 * The address type of proto_ops->bind and ->connect; use it as
 * "struct ipn_sockaddr_arg".
 */
#define ipn_sockaddr_arg	sockaddr

#endif /* _IPN_COMPAT_H */
