/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipn_compat.h - AF_IPN: every kernel-version difference in one place
 *
 * The module's sources call the ipn_ names below and never test
 * LINUX_VERSION_CODE themselves, so supporting a new kernel means editing
 * this file alone.  Each entry names the kernel that changed the API.
 *
 * Built with W=1 against Debian's 6.1 and 6.12 (scripts/vm/build-matrix.sh)
 * and 7.3 (scripts/vm/build-newest.sh); the versions in between are not
 * built here, so their boundaries (6.17, 6.19) come from the upstream
 * changes, not from a build.
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

/*
 * sk_filter_trim_cap(): 6.17 added a drop-reason out-parameter; 6.19 took
 * it away again and returns the reason (0: keep the packet) instead.  The
 * wrapper keeps the old contract: 0 to keep, negative to drop.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
static inline int ipn_sk_filter_trim_cap(struct sock *sk, struct sk_buff *skb,
					 unsigned int cap)
{
	return sk_filter_trim_cap(sk, skb, cap) ? -EPERM : 0;
}
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 17, 0)
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

/*
 * Creating the node of a network.  6.19 renamed kern_path_create() and
 * done_path_create() to start_creating_path() and end_creating_path(), and
 * gave vfs_mknod() a delegated_inode argument: NULL, so that a directory
 * delegation held by an NFS client makes bind() fail with EWOULDBLOCK
 * rather than wait for the client.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#define ipn_start_creating_path(dfd, name, parent, flags) \
	start_creating_path(dfd, name, parent, flags)
#define ipn_end_creating_path(parent, dentry)	end_creating_path(parent, dentry)
#define ipn_vfs_mknod(idmap, dir, dentry, mode, dev) \
	vfs_mknod(idmap, dir, dentry, mode, dev, NULL)
#else
#define ipn_start_creating_path(dfd, name, parent, flags) \
	kern_path_create(dfd, name, parent, flags)
#define ipn_end_creating_path(parent, dentry)	done_path_create(parent, dentry)
#define ipn_vfs_mknod(idmap, dir, dentry, mode, dev) \
	vfs_mknod(idmap, dir, dentry, mode, dev)
#endif

/*
 * The address type of proto_ops->bind and ->connect, used as
 * "struct ipn_sockaddr_arg": 6.19 made it struct sockaddr_unsized.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#define ipn_sockaddr_arg	sockaddr_unsized
#else
#define ipn_sockaddr_arg	sockaddr
#endif

#endif /* _IPN_COMPAT_H */
