/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipn_test_util.h - helpers the AF_IPN C tests share: their start
 * (timeout, private directory), paths of networks inside that directory,
 * running a function as uid 65534, small sysfs/sysctl reads, creating a
 * network with its options, sending (with files, to a member) and
 * receiving with the metadata (credentials, events, drops, files), and the
 * clock.  Static inline: a test that does not use one gets no
 * unused-function warning.
 */
#ifndef IPN_TEST_UTIL_H
#define IPN_TEST_UTIL_H

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ipn_tap.h"

/* The test's private directory (named by tests_begin). */
static char dir[64];

/* "<dir>/<name>" in one of eight rotating buffers (several per call). */
static inline const char *netpath(const char *name)
{
	static char buf[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

#define NOBODY 65534

/*
 * Run @fn(@arg) in a child as uid/gid 65534; its exit status, 100 if the
 * ids could not be dropped, 200 if it did not exit normally.
 */
static pid_t nobody_child;

static inline int as_nobody(int (*fn)(void *), void *arg)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		_exit(fn(arg));
	}
	nobody_child = p;
	waitpid(p, &st, 0);
	nobody_child = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

/* The first number in the file @path (sysctl, sysfs), or -1. */
static inline long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* /sys/module/ipn/refcnt, or -1 when the module is not loaded. */
static inline int module_refcnt(void)
{
	return (int)read_long("/sys/module/ipn/refcnt");
}

/*
 * A child of as_nobody() still at work would keep its sockets, and so the
 * module, busy after we are gone (rmmod then fails for a reason that is
 * not the module's): it goes first.
 */
static inline void tests_timed_out(int sig)
{
	if (nobody_child > 0)
		kill(nobody_child, SIGKILL);
	tap(0, "TIMEOUT: test %d hung", tap_n + 1);
	_exit(tap_done() + 2);
}

/*
 * The common start of a test program: SIGPIPE ignored, a hung test ends
 * the run after @timeout_s seconds with what passed so far, umask 0, and
 * dir /tmp/<@prog>.<pid> created with @dir_mode (01777 when uid 65534
 * makes networks in it); the family in use is printed.
 */
static inline void tests_begin(const char *prog, unsigned int timeout_s,
			       mode_t dir_mode)
{
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, tests_timed_out);
	alarm(timeout_s);
	umask(0);
	snprintf(dir, sizeof(dir), "/tmp/%s.%d", prog, getpid());
	mkdir(dir, dir_mode & 0777);
	chmod(dir, dir_mode);
	diag("AF_IPN family %d", ipn_af());
}

/* The common end: the directory removed, the summary line, the status. */
static inline int tests_end(void)
{
	rmdir(dir);
	return tap_done();
}

/* Networks, and messages with their metadata. */

/* Create a network with the given properties (mode, flags, mtu; -1 = default). */
static inline int ipn_create(const char *path, int mode, int flags, int mtu)
{
	struct sockaddr_ipn a;
	socklen_t len = ipn_addr(&a, path);
	int fd = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);

	if (fd < 0)
		return -1;
	if ((mode >= 0 && ipn_setint(fd, IPN_SO_MODE, mode) < 0) ||
	    (flags >= 0 && ipn_setint(fd, IPN_SO_FLAGS, flags) < 0) ||
	    (mtu >= 0 && ipn_setint(fd, IPN_SO_MTU, mtu) < 0) ||
	    bind(fd, (struct sockaddr *)&a, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Does @fd have a message to read within @ms milliseconds? */
static inline int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Is a message queued on @fd?  (It stays there.) */
static inline int pending(int fd)
{
	char buf[8];

	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC) >= 0;
}

/* Received message with its metadata. */
struct rmsg {
	ssize_t n;
	int flags;
	unsigned long long from;
	int have_creds, have_event;
	unsigned int dropped;		/* IPN_CMSG_DROPPED */
	unsigned int events_lost;	/* IPN_CMSG_EVENTS_LOST */
	struct ipn_creds creds;
	struct ipn_member_event ev;
	int fds[4], nfds;
	char data[256];
};

/* recvmsg() into @m with its control messages parsed: the length, or -1. */
static inline ssize_t rmsg_recv(int fd, struct rmsg *m, int flags)
{
	struct sockaddr_ipn_member from;
	char cbuf[512];
	struct iovec iov = { m->data, sizeof(m->data) };
	struct msghdr h = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;

	memset(m, 0, sizeof(*m));
	memset(&from, 0, sizeof(from));
	m->n = recvmsg(fd, &h, flags);
	if (m->n < 0)
		return -1;
	m->flags = h.msg_flags;
	m->from = from.sipnm_id;
	for (c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
		if (c->cmsg_level == SOL_IPN && c->cmsg_type == IPN_CMSG_CREDS) {
			memcpy(&m->creds, CMSG_DATA(c), sizeof(m->creds));
			m->have_creds = 1;
		} else if (c->cmsg_level == SOL_IPN &&
			   c->cmsg_type == IPN_CMSG_MEMBER_EVENT) {
			memcpy(&m->ev, CMSG_DATA(c), sizeof(m->ev));
			m->have_event = 1;
		} else if (c->cmsg_level == SOL_IPN &&
			   c->cmsg_type == IPN_CMSG_DROPPED) {
			memcpy(&m->dropped, CMSG_DATA(c), sizeof(m->dropped));
		} else if (c->cmsg_level == SOL_IPN &&
			   c->cmsg_type == IPN_CMSG_EVENTS_LOST) {
			memcpy(&m->events_lost, CMSG_DATA(c),
			       sizeof(m->events_lost));
		} else if (c->cmsg_level == SOL_SOCKET &&
			   c->cmsg_type == SCM_RIGHTS) {
			m->nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(m->fds, CMSG_DATA(c), m->nfds * sizeof(int));
		}
	}
	return m->n;
}

/* The most files one SCM_RIGHTS message may carry (the kernel's SCM_MAX_FD). */
#define MAX_FDS_PER_MSG	253

/*
 * Send @len bytes of @buf to member @id (0: no address, so a broadcast,
 * or the peer of a connected AF_UNIX socket) with the @nfds files of @fds
 * in SCM_RIGHTS: the length, or -1 with errno.
 */
static inline ssize_t send_files(int sock, unsigned long long id,
				 const void *buf, size_t len, const int *fds,
				 int nfds, int flags)
{
	struct sockaddr_ipn_member to = {
		.sipnm_family = ipn_af(), .sipnm_id = id,
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MSG)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr h = {
		.msg_name = id ? &to : NULL, .msg_namelen = id ? sizeof(to) : 0,
		.msg_iov = &iov, .msg_iovlen = 1,
	};

	if (nfds) {
		struct cmsghdr *c;

		memset(u.buf, 0, sizeof(u.buf));
		h.msg_control = u.buf;
		h.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &h, flags);
}

/* send_files() that never waits. */
static inline ssize_t send_to(int fd, unsigned long long id,
			      const void *buf, size_t len, int *fds, int nfds)
{
	return send_files(fd, id, buf, len, fds, nfds, MSG_DONTWAIT);
}

/* "fds" with the @nfds files of @fds to member @id, never waiting. */
static inline ssize_t send_many(int sock, unsigned long long id,
				const int *fds, int nfds)
{
	return send_files(sock, id, "fds", 3, fds, nfds, MSG_DONTWAIT);
}

/* Close every descriptor of every SCM_RIGHTS message in @h; their count. */
static inline int close_received(struct msghdr *h)
{
	struct cmsghdr *c;
	int i, n, total = 0;

	for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++)
			close(((int *)CMSG_DATA(c))[i]);
		total += n;
	}
	return total;
}

/* IPN_SO_DROPS of @fd (~0 if it cannot be read). */
static inline unsigned long long drops_of(int fd)
{
	unsigned long long d = ~0ULL;
	socklen_t len = sizeof(d);

	getsockopt(fd, SOL_IPN, IPN_SO_DROPS, &d, &len);
	return d;
}

/* Lines of /proc/net/ipn (as the caller sees it) that contain @needle. */
static inline int proc_lines(const char *needle, int *header)
{
	FILE *f = fopen("/proc/net/ipn", "r");
	char line[512];
	int n = 0;

	if (header)
		*header = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (header && !strncmp(line, "Path Id Pid Uid", 15))
			*header = 1;
		n += strstr(line, needle) != NULL;
	}
	fclose(f);
	return n;
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Join the network at @path: 0 if joined, 1 if refused with EACCES, else 2. */
static inline int try_join(void *path)
{
	int fd = ipn_open(path, 0);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EACCES ? 1 : 2;
}

#endif /* IPN_TEST_UTIL_H */
