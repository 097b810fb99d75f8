// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_test.c - functional tests of the AF_IPN module, run in the test VM
 * as root: every contract point of include/uapi/linux/ipn.h, errors
 * included.  The module unload/reload test runs last (needs IPNBUS_KO).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "ipn_tap.h"
#include "ipn_test_util.h"

/* Create a network with the given properties (mode, flags, mtu; -1 = default). */
static int ipn_create(const char *path, int mode, int flags, int mtu)
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

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static int pending(int fd)
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
	unsigned int dropped;
	struct ipn_creds creds;
	struct ipn_member_event ev;
	int fds[4], nfds;
	char data[256];
};

static ssize_t rmsg_recv(int fd, struct rmsg *m, int flags)
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
		} else if (c->cmsg_level == SOL_SOCKET &&
			   c->cmsg_type == SCM_RIGHTS) {
			m->nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(m->fds, CMSG_DATA(c), m->nfds * sizeof(int));
		}
	}
	return m->n;
}

static ssize_t send_to(int fd, unsigned long long id, const void *buf,
		       size_t len, int *fds, int nfds)
{
	struct sockaddr_ipn_member to = { .sipnm_family = ipn_af(), .sipnm_id = id };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr h = {
		.msg_name = id ? &to : NULL, .msg_namelen = id ? sizeof(to) : 0,
		.msg_iov = &iov, .msg_iovlen = 1,
	};

	if (nfds) {
		struct cmsghdr *c;

		h.msg_control = u.buf;
		h.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &h, MSG_DONTWAIT);
}

static unsigned long long drops_of(int fd)
{
	unsigned long long d = ~0ULL;
	socklen_t len = sizeof(d);

	getsockopt(fd, SOL_IPN, IPN_SO_DROPS, &d, &len);
	return d;
}

static void test_socket_args(void)
{
	int fd;

	fd = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);
	tap(fd >= 0, "socket(AF_IPN, SOCK_RAW, IPN_BROADCAST)");
	close(fd);
	fd = socket(ipn_af(), SOCK_RAW, IPN_ANY);
	tap(fd >= 0, "socket(AF_IPN, SOCK_RAW, IPN_ANY)");
	close(fd);
	errno = 0;
	fd = socket(ipn_af(), SOCK_DGRAM, IPN_BROADCAST);
	tap(fd < 0 && errno == ESOCKTNOSUPPORT,
	    "SOCK_DGRAM -> ESOCKTNOSUPPORT (%s)", strerror(errno));
	errno = 0;
	fd = socket(ipn_af(), SOCK_STREAM, 0);
	tap(fd < 0 && errno == ESOCKTNOSUPPORT, "SOCK_STREAM -> ESOCKTNOSUPPORT");
	errno = 0;
	fd = socket(ipn_af(), SOCK_RAW, 7);
	tap(fd < 0 && errno == EPROTONOSUPPORT,
	    "protocol 7 -> EPROTONOSUPPORT (%s)", strerror(errno));
}

static void test_basic(void)
{
	struct sockaddr_ipn_member from;
	socklen_t flen = sizeof(from);
	struct ipn_netinfo ni;
	socklen_t len = sizeof(ni);
	struct sockaddr_ipn me;
	socklen_t mlen = sizeof(me);
	int a, b, c, d;
	char buf[64];
	struct stat st;
	ssize_t n;

	a = ipn_create(netpath("basic"), 0750, -1, -1);
	tap(a >= 0, "bind creates a network (%s)", strerror(errno));
	tap(stat(netpath("basic"), &st) == 0 && S_ISSOCK(st.st_mode) &&
	    (st.st_mode & 0777) == 0750, "network node is a socket, mode 0750");
	b = ipn_open(netpath("basic"), 0);
	c = ipn_open(netpath("basic"), 0);
	tap(b >= 0 && c >= 0, "connect joins it");
	tap(ipn_id(a) == 1 && ipn_id(b) == 2 && ipn_id(c) == 3,
	    "member ids 1, 2, 3 (%llu %llu %llu)", ipn_id(a), ipn_id(b), ipn_id(c));
	tap(getsockopt(b, SOL_IPN, IPN_SO_NETINFO, &ni, &len) == 0 &&
	    ni.members == 3 && ni.mtu == IPN_MTU_DEFAULT && ni.flags == 0 &&
	    ni.protocol == IPN_BROADCAST && ni.mode == 0750,
	    "IPN_SO_NETINFO: 3 members, default mtu, mode 0750");
	{
		int rb = 0, small = 4096, s2, want = 8 * IPN_MTU_DEFAULT;
		socklen_t rl = sizeof(rb);
		struct sockaddr_ipn ad;
		socklen_t al = ipn_addr(&ad, netpath("basic"));
		FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
		int rmem_max = 0;

		if (f) {
			if (fscanf(f, "%d", &rmem_max) != 1)
				rmem_max = 0;
			fclose(f);
		}
		if (rmem_max < want)
			want = rmem_max;
		tap(getsockopt(b, SOL_SOCKET, SO_RCVBUF, &rb, &rl) == 0 &&
		    rb == want,
		    "default receive room after joining: 8 x MTU, at most rmem_max (%d)",
		    rb);
		s2 = socket(ipn_af(), SOCK_RAW, IPN_ANY);
		setsockopt(s2, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		connect(s2, (struct sockaddr *)&ad, al);
		tap(getsockopt(s2, SOL_SOCKET, SO_RCVBUF, &rb, &rl) == 0 &&
		    rb == 2 * small, "an explicit SO_RCVBUF is kept (%d)", rb);
		close(s2);
	}
	tap(getsockname(b, (struct sockaddr *)&me, &mlen) == 0 &&
	    !strcmp(me.sipn_path, netpath("basic")), "getsockname gives the path");
	n = send(a, "hello", 5, 0);
	tap(n == 5, "broadcast send returns length");
	n = recvfrom(b, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	tap(n == 5 && !memcmp(buf, "hello", 5) && from.sipnm_id == 1 &&
	    from.sipnm_family == ipn_af() && flen == sizeof(from),
	    "member 2 receives it, msg_name = id 1");
	n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
	tap(n == 5, "member 3 receives it too");
	n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);
	tap(n < 0 && errno == EAGAIN, "sender does not get its own broadcast");

	tap(ipn_setint(a, IPN_SO_LOOPBACK, 1) == 0 && send(a, "x", 1, 0) == 1 &&
	    recvfrom(a, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
		     &flen) == 1 && from.sipnm_id == 1,
	    "IPN_SO_LOOPBACK: own broadcast comes back");
	recv(b, buf, sizeof(buf), MSG_DONTWAIT);
	recv(c, buf, sizeof(buf), MSG_DONTWAIT);

	send(a, "0123456789", 10, 0);
	n = recv(b, buf, 4, MSG_DONTWAIT | MSG_TRUNC);
	tap(n == 10, "MSG_TRUNC recv returns the full length (%zd)", n);
	{
		struct rmsg m;
		struct iovec iov = { buf, 4 };
		struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };

		n = recvmsg(c, &h, MSG_DONTWAIT);
		tap(n == 4 && (h.msg_flags & MSG_TRUNC) && !pending(c),
		    "short read: 4 bytes, MSG_TRUNC set, rest discarded");
		(void)m;
	}
	recv(a, buf, sizeof(buf), MSG_DONTWAIT);

	close(c);
	d = ipn_open(netpath("basic"), 0);
	tap(ipn_id(d) == 5, "ids are never reused (after 4 joins and 2 leaves: %llu)",
	    ipn_id(d));

	errno = 0;
	tap(ipn_create(netpath("basic"), -1, -1, -1) < 0 && errno == EADDRINUSE,
	    "bind on an existing path -> EADDRINUSE");
	errno = 0;
	tap(bind(b, (struct sockaddr *)&me, mlen) < 0 && errno == EISCONN,
	    "bind of a member -> EISCONN");
	errno = 0;
	tap(ipn_setint(b, IPN_SO_MTU, 1000) < 0 && errno == EISCONN,
	    "IPN_SO_MTU after joining -> EISCONN");
	close(a);
	close(b);
	close(d);
	errno = 0;
	tap(ipn_open(netpath("basic"), 0) < 0 && errno == ECONNREFUSED,
	    "connect to a node whose network is gone -> ECONNREFUSED");
	unlink(netpath("basic"));
	a = ipn_create(netpath("basic"), -1, -1, -1);
	tap(a >= 0 && ipn_id(a) == 1, "rebinding after unlink makes a new network");
	close(a);
	unlink(netpath("basic"));
}

static void test_errors(void)
{
	int fd, a, f;
	char buf[8];
	struct sockaddr_ipn_member to = { .sipnm_family = 1, .sipnm_id = 1 };

	fd = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);
	errno = 0;
	tap(send(fd, "x", 1, 0) < 0 && errno == ENOTCONN, "send unconnected -> ENOTCONN");
	errno = 0;
	tap(recv(fd, buf, 1, MSG_DONTWAIT) < 0 && errno == ENOTCONN,
	    "recv unconnected -> ENOTCONN");
	errno = 0;
	tap(ipn_setint(fd, IPN_SO_MODE, 01777) < 0 && errno == EINVAL,
	    "IPN_SO_MODE 01777 -> EINVAL");
	errno = 0;
	tap(ipn_setint(fd, IPN_SO_FLAGS, 0x100) < 0 && errno == EINVAL,
	    "IPN_SO_FLAGS unknown bit -> EINVAL");
	errno = 0;
	tap(ipn_setint(fd, IPN_SO_MTU, IPN_MTU_MAX + 1) < 0 && errno == EINVAL,
	    "IPN_SO_MTU > IPN_MTU_MAX -> EINVAL");
	errno = 0;
	tap(ipn_setint(fd, 99, 1) < 0 && errno == ENOPROTOOPT,
	    "unknown option -> ENOPROTOOPT");
	errno = 0;
	tap(ipn_id(fd) == 0 && errno == ENOTCONN, "IPN_SO_MEMBER_ID unconnected -> ENOTCONN");
	errno = 0;
	{
		struct sockaddr_ipn a2;

		ipn_addr(&a2, netpath("nothere"));
		tap(connect(fd, (struct sockaddr *)&a2, sizeof(a2)) < 0 &&
		    errno == ENOENT, "connect to a missing path -> ENOENT");
		f = open(netpath("plain"), O_CREAT | O_WRONLY, 0666);
		close(f);
		ipn_addr(&a2, netpath("plain"));
		errno = 0;
		tap(connect(fd, (struct sockaddr *)&a2, sizeof(a2)) < 0 &&
		    errno == ECONNREFUSED, "connect to a regular file -> ECONNREFUSED");
		unlink(netpath("plain"));
		a2.sipn_family = 1;
		errno = 0;
		tap(connect(fd, (struct sockaddr *)&a2, sizeof(a2)) < 0 &&
		    errno == EAFNOSUPPORT, "connect with AF_UNIX address -> EAFNOSUPPORT");
		errno = 0;
		tap(connect(fd, (struct sockaddr *)&a2, 1) < 0 && errno == EINVAL,
		    "connect with a 1-byte address -> EINVAL");
	}
	close(fd);

	a = ipn_create(netpath("err"), -1, -1, -1);
	errno = 0;
	tap(sendto(a, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) < 0 &&
	    errno == EAFNOSUPPORT, "unicast with a wrong family -> EAFNOSUPPORT");
	errno = 0;
	tap(sendto(a, "x", 1, 0, (struct sockaddr *)&to, 4) < 0 && errno == EINVAL,
	    "unicast with a short address -> EINVAL");
	close(a);
	unlink(netpath("err"));
}

static void test_unicast(void)
{
	int a = ipn_create(netpath("uni"), -1, -1, -1);
	int b = ipn_open(netpath("uni"), 0);
	int c = ipn_open(netpath("uni"), 0);
	unsigned long long idc = ipn_id(c);
	struct rmsg m;

	tap(send_to(a, ipn_id(b), "to-b", 4, NULL, 0) == 4, "unicast to member 2");
	tap(rmsg_recv(b, &m, MSG_DONTWAIT) == 4 && m.from == 1 &&
	    !memcmp(m.data, "to-b", 4), "member 2 gets it from 1");
	tap(!pending(c) && !pending(a), "nobody else does");
	tap(send_to(a, ipn_id(a), "self", 4, NULL, 0) == 4 &&
	    rmsg_recv(a, &m, MSG_DONTWAIT) == 4 && m.from == 1,
	    "unicast to one's own id is delivered to oneself");
	close(c);
	errno = 0;
	tap(send_to(a, idc, "x", 1, NULL, 0) < 0 && errno == EHOSTUNREACH,
	    "unicast to a member that left -> EHOSTUNREACH");
	errno = 0;
	tap(send_to(a, 999, "x", 1, NULL, 0) < 0 && errno == EHOSTUNREACH,
	    "unicast to an unknown id -> EHOSTUNREACH");
	close(a);
	close(b);
	unlink(netpath("uni"));
}

static int try_connect(void *path)
{
	int fd = ipn_open(path, 0);

	if (fd >= 0)
		return 0;
	return errno == EACCES ? 1 : 2;
}

struct ro_args {
	const char *path;
	int pipe_w;
	int expect_data;	/* 1: must receive, 0: must not */
};

static int ro_member(void *p)
{
	struct ro_args *a = p;
	char buf[16];
	int fd = ipn_open(a->path, 0), r = 0;

	if (fd < 0)
		return 3;
	if (a->expect_data) {
		if (send(fd, "x", 1, 0) >= 0 || errno != EACCES)
			r |= 4;
	} else {
		if (send(fd, "w", 1, 0) != 1)
			r |= 4;
	}
	if (write(a->pipe_w, "j", 1) != 1)
		return 5;
	if (a->expect_data) {
		if (!readable(fd, 5000) || recv(fd, buf, sizeof(buf), 0) != 4 ||
		    memcmp(buf, "data", 4))
			r |= 8;
	} else {
		if (readable(fd, 300))
			r |= 8;
	}
	close(fd);
	return r;
}

static void test_permissions(void)
{
	int a, p[2], st;
	char c;
	struct ro_args args;

	a = ipn_create(netpath("priv"), 0700, -1, -1);
	st = as_nobody(try_connect, (void *)netpath("priv"));
	tap(st == 1, "nobody connecting to a 0700 network -> EACCES (%d)", st);
	close(a);
	unlink(netpath("priv"));

	a = ipn_create(netpath("ro"), 0744, -1, -1);
	if (pipe(p))
		return;
	args = (struct ro_args){ netpath("ro"), p[1], 1 };
	{
		pid_t pid = fork();

		if (pid == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(100);
			_exit(ro_member(&args));
		}
		tap(read(p[0], &c, 1) == 1, "nobody joined the 0744 network");
		tap(send(a, "data", 4, 0) == 4, "owner broadcasts");
		waitpid(pid, &st, 0);
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 200;
		tap(st == 0, "0744: other uid receives, but its send -> EACCES (%d)", st);
	}
	close(a);
	unlink(netpath("ro"));

	a = ipn_create(netpath("wo"), 0722, -1, -1);
	args = (struct ro_args){ netpath("wo"), p[1], 0 };
	{
		pid_t pid = fork();
		struct rmsg m;

		if (pid == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(100);
			_exit(ro_member(&args));
		}
		tap(read(p[0], &c, 1) == 1, "nobody joined the 0722 network");
		tap(rmsg_recv(a, &m, 0) == 1 && m.data[0] == 'w' && m.from == 2,
		    "0722: write-only member can send");
		send(a, "data", 4, 0);
		waitpid(pid, &st, 0);
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 200;
		tap(st == 0, "0722: write-only member receives nothing (%d)", st);
	}
	close(a);
	close(p[0]);
	close(p[1]);
	unlink(netpath("wo"));
}

static void fill(char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)((i * 31 + seed) >> 3);
}

static void test_big(void)
{
	size_t big = 4 * 1024 * 1024;
	char *out = malloc(big), *in = malloc(big + 1);
	int a, b, ok;
	ssize_t n;

	a = ipn_create(netpath("big"), -1, -1, -1);
	b = ipn_open(netpath("big"), 0);
	fill(out, IPN_MTU_DEFAULT, 1);
	tap(send(a, out, IPN_MTU_DEFAULT, 0) == IPN_MTU_DEFAULT,
	    "send of exactly the default MTU (128 KiB)");
	n = recv(b, in, big, MSG_DONTWAIT);
	tap(n == IPN_MTU_DEFAULT && !memcmp(in, out, n), "128 KiB received intact");
	errno = 0;
	tap(send(a, out, IPN_MTU_DEFAULT + 1, 0) < 0 && errno == EMSGSIZE,
	    "MTU + 1 -> EMSGSIZE");
	close(a);
	close(b);
	unlink(netpath("big"));

	a = ipn_create(netpath("big4"), -1, -1, IPN_MTU_MAX);
	b = ipn_open(netpath("big4"), 0);
	ok = 1;
	for (size_t len = 100000; len <= big; len = len * 3 + 7) {
		fill(out, len, (unsigned int)len);
		if (send(a, out, len, 0) != (ssize_t)len) {
			ok = 0;
			break;
		}
		n = recv(b, in, big + 1, MSG_DONTWAIT);
		if (n != (ssize_t)len || memcmp(in, out, len)) {
			ok = 0;
			break;
		}
	}
	fill(out, big, 9);
	ok = ok && send(a, out, big, 0) == (ssize_t)big &&
	     recv(b, in, big + 1, MSG_DONTWAIT) == (ssize_t)big &&
	     !memcmp(in, out, big);
	tap(ok, "messages of 100 KB .. 4 MiB (paged) received intact");
	close(a);
	close(b);
	unlink(netpath("big4"));
	free(out);
	free(in);
}

static void test_lossy(void)
{
	int a, slow, fast, rcv = 4096, i, sent = 0;
	unsigned long long drops, sum = 0, got = 0, fgot = 0;
	char buf[1000];
	struct rmsg m;

	a = ipn_create(netpath("lossy"), -1, -1, -1);
	slow = ipn_open(netpath("lossy"), 0);
	fast = ipn_open(netpath("lossy"), 0);
	setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	rcv = 4 * 1024 * 1024;
	setsockopt(fast, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
	memset(buf, 'L', sizeof(buf));
	for (i = 0; i < 200; i++)
		sent += send(a, buf, sizeof(buf), MSG_DONTWAIT) == sizeof(buf);
	tap(sent == 200, "lossy sender is never blocked (%d/200 sent)", sent);
	drops = drops_of(slow);
	tap(drops > 0 && drops < 200, "full receiver lost messages (IPN_SO_DROPS %llu)",
	    drops);
	tap(drops_of(fast) == 0, "roomy receiver lost none");
	while (rmsg_recv(slow, &m, MSG_DONTWAIT) >= 0) {
		got++;
		sum += m.dropped;
	}
	send(a, "last", 4, 0);
	if (rmsg_recv(slow, &m, MSG_DONTWAIT) == 4) {
		got++;
		sum += m.dropped;
	}
	tap(got + drops == 201 && sum == drops,
	    "received %llu + dropped %llu == 201, IPN_CMSG_DROPPED total %llu",
	    got, drops, sum);
	while (recv(fast, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		fgot++;
	tap(fgot == 201, "roomy receiver got all 201 (%llu)", fgot);
	close(a);
	close(slow);
	close(fast);
	unlink(netpath("lossy"));
}

static void test_lossless(void)
{
	int a, r, rcv = 4096, k = 0, i, ok;
	char buf[1000];
	struct pollfd p;
	struct timeval tv = { 0, 200000 };
	struct timespec t0, t1;
	pid_t pid;
	int st;

	a = ipn_create(netpath("lossless"), -1, IPN_FLAG_LOSSLESS, -1);
	r = ipn_open(netpath("lossless"), 0);
	setsockopt(r, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	memset(buf, 'S', sizeof(buf));
	while (send(a, buf, sizeof(buf), MSG_DONTWAIT) == sizeof(buf) && k < 10000)
		k++;
	tap(k > 0 && k < 10000 && errno == EAGAIN,
	    "lossless: MSG_DONTWAIT -> EAGAIN once the receiver is full (after %d)", k);
	p = (struct pollfd){ .fd = a, .events = POLLOUT };
	tap(poll(&p, 1, 0) == 0, "poll: no POLLOUT while a receiver is full");
	recv(r, buf, sizeof(buf), 0);
	p.revents = 0;
	tap(poll(&p, 1, 0) == 0 && send(a, buf, sizeof(buf), MSG_DONTWAIT) < 0 &&
	    errno == EAGAIN, "one read is not enough: still congested until half empty");
	if (fork() == 0) {
		usleep(200000);
		for (i = 0; i < k / 2 + 1; i++)
			recv(r, buf, sizeof(buf), 0);
		_exit(0);
	}
	tap(poll(&p, 1, 5000) == 1 && (p.revents & POLLOUT),
	    "poll wakes with POLLOUT when the receiver has read half its queue");
	wait(NULL);
	tap(drops_of(r) == 0, "no drops in lossless mode");
	setsockopt(a, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (send(a, buf, sizeof(buf), MSG_DONTWAIT) == sizeof(buf))
		k++;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	i = send(a, buf, sizeof(buf), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;

		tap(i < 0 && errno == EAGAIN && ms >= 150,
		    "blocking send honours SO_SNDTIMEO (EAGAIN after %ld ms)", ms);
	}
	/* drain what is queued, then a blocking sender vs a slow reader */
	while (recv(r, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	setsockopt(a, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 300; i++) {
			memcpy(buf, &i, sizeof(i));
			if (send(a, buf, sizeof(buf), 0) != sizeof(buf))
				_exit(1);
		}
		_exit(0);
	}
	ok = 1;
	for (i = 0; i < 300; i++) {
		int v = -1;

		if (i % 50 == 0)
			usleep(20000);
		if (recv(r, buf, sizeof(buf), 0) != sizeof(buf))
			ok = 0;
		memcpy(&v, buf, sizeof(v));
		if (v != i)
			ok = 0;
	}
	waitpid(pid, &st, 0);
	tap(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0 && drops_of(r) == 0,
	    "blocked sender: 300 messages all delivered in order, no drops");

	/* a full receiver leaving frees a blocked sender */
	close(r);
	{
		int pp[2];
		char ch;

		if (pipe(pp))
			return;
		pid = fork();
		if (pid == 0) {
			int fd = ipn_open(netpath("lossless"), 0);

			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
			if (write(pp[1], "j", 1) != 1)
				_exit(1);
			usleep(300000);
			_exit(0);
		}
		ok = read(pp[0], &ch, 1) == 1;
		while (send(a, buf, sizeof(buf), MSG_DONTWAIT) == sizeof(buf))
			;
		tv.tv_sec = 10;
		setsockopt(a, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		i = send(a, buf, sizeof(buf), 0);
		waitpid(pid, &st, 0);
		tap(ok && i == sizeof(buf),
		    "a full receiver exiting releases the blocked sender");
		close(pp[0]);
		close(pp[1]);
	}
	close(a);
	unlink(netpath("lossless"));
}

static void test_creds(void)
{
	int a = ipn_create(netpath("creds"), 0777, -1, -1);
	int r = ipn_open(netpath("creds"), 0);
	struct rmsg m;
	pid_t pid;
	int p[2], st;

	tap(ipn_setint(r, IPN_SO_PASSCRED, 1) == 0, "IPN_SO_PASSCRED on");
	send(a, "me", 2, 0);
	st = rmsg_recv(r, &m, MSG_DONTWAIT) == 2 && m.have_creds &&
	     m.creds.pid == (unsigned)getpid() && m.creds.uid == 0 &&
	     m.creds.gid == 0;
	tap(st, "IPN_CMSG_CREDS: pid %u uid %u gid %u", m.creds.pid,
	    m.creds.uid, m.creds.gid);
	if (pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		int fd;
		char c;

		if (setgid(65534) || setuid(65534))
			_exit(100);
		fd = ipn_open(netpath("creds"), 0);
		send(fd, "nb", 2, 0);
		if (read(p[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	st = readable(r, 5000) && rmsg_recv(r, &m, 0) == 2 && m.have_creds &&
	     m.creds.pid == (unsigned)pid && m.creds.uid == 65534 &&
	     m.creds.gid == 65534;
	tap(st, "creds of another process: pid %u uid %u", m.creds.pid,
	    m.creds.uid);
	if (write(p[1], "x", 1) != 1)
		diag("pipe");
	waitpid(pid, &st, 0);
	ipn_setint(r, IPN_SO_PASSCRED, 0);
	send(a, "no", 2, 0);
	tap(rmsg_recv(r, &m, MSG_DONTWAIT) == 2 && !m.have_creds,
	    "no IPN_CMSG_CREDS once switched off");
	/* The pid is referenced at queue time only for receivers that ask. */
	send(a, "ea", 2, 0);
	ipn_setint(r, IPN_SO_PASSCRED, 1);
	st = rmsg_recv(r, &m, MSG_DONTWAIT) == 2 && m.have_creds &&
	     m.creds.pid == 0 && m.creds.uid == 0;
	tap(st, "queued before IPN_SO_PASSCRED: creds with pid %u (0)",
	    m.creds.pid);
	ipn_setint(r, IPN_SO_PASSCRED, 0);
	close(p[0]);
	close(p[1]);
	close(a);
	close(r);
	unlink(netpath("creds"));
}

/* Receive one message with credentials (in a new pid namespace). */
static int ns_receiver(const char *path, int pipe_w, struct ipn_creds *out)
{
	int fd = ipn_open(path, 0);
	struct rmsg m;

	if (fd < 0 || ipn_setint(fd, IPN_SO_PASSCRED, 1))
		return 1;
	if (write(pipe_w, "j", 1) != 1 || !readable(fd, 5000) ||
	    rmsg_recv(fd, &m, 0) != 2 || !m.have_creds)
		return 2;
	*out = m.creds;
	return 0;
}

static void test_namespaces(void)
{
	int a = ipn_create(netpath("ns"), 0777, -1, -1);
	int p[2], q[2], st;
	struct ipn_creds cr;
	char ch;
	pid_t pid;

	if (pipe(p) || pipe(q))
		return;
	/* pid namespace: the sender is not visible there, so pid 0 */
	pid = fork();
	if (pid == 0) {
		pid_t inner;

		if (unshare(CLONE_NEWPID)) {
			if (write(p[1], "x", 1) != 1)
				_exit(11);
			_exit(10);
		}
		inner = fork();
		if (inner == 0) {
			int r = ns_receiver(netpath("ns"), p[1], &cr);

			if (write(q[1], &cr, sizeof(cr)) != sizeof(cr))
				r = 3;
			_exit(r | (getpid() == 1 ? 0 : 4));
		}
		waitpid(inner, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 20);
	}
	memset(&cr, 0xff, sizeof(cr));
	if (read(p[0], &ch, 1) == 1 && ch == 'j')
		send(a, "ns", 2, 0);
	waitpid(pid, &st, 0);
	st = WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	     read(q[0], &cr, sizeof(cr)) == sizeof(cr) && cr.pid == 0 &&
	     cr.uid == 0;
	tap(st, "creds in a child pid namespace: sender's pid not visible -> 0 (%u)",
	    cr.pid);

	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(a);
	unlink(netpath("ns"));
}

static void test_events(void)
{
	int a = ipn_create(netpath("ev"), -1, -1, -1);
	int b = ipn_open(netpath("ev"), 0);
	int c = socket(ipn_af(), SOCK_RAW, IPN_ANY), d, i, ok, p[2];
	struct sockaddr_ipn addr;
	socklen_t len = ipn_addr(&addr, netpath("ev"));
	struct rmsg m;
	pid_t pid;
	char ch;

	ipn_setint(c, IPN_SO_MEMBER_EVENTS, 1);
	connect(c, (struct sockaddr *)&addr, len);
	ok = 1;
	for (i = 1; i <= 2; i++) {
		if (rmsg_recv(c, &m, MSG_DONTWAIT) != 0 || !m.have_event ||
		    m.ev.event != IPN_EVENT_JOIN || m.ev.id != (unsigned)i ||
		    m.from != (unsigned)i || m.ev.pid != (unsigned)getpid())
			ok = 0;
	}
	tap(ok && !pending(c), "snapshot: one JOIN each for members 1 and 2");
	d = ipn_open(netpath("ev"), 0);
	tap(rmsg_recv(c, &m, MSG_DONTWAIT) == 0 && m.have_event &&
	    m.ev.event == IPN_EVENT_JOIN && m.ev.id == 4, "live JOIN of member 4");
	tap(!pending(a) && !pending(b), "members without events get none");
	send(a, "data", 4, 0);
	close(d);
	tap(rmsg_recv(c, &m, MSG_DONTWAIT) == 4 && !m.have_event &&
	    rmsg_recv(c, &m, MSG_DONTWAIT) == 0 && m.ev.event == IPN_EVENT_LEAVE &&
	    m.ev.id == 4, "events are ordered with data: data, then LEAVE of 4");
	recv(b, &ch, 1, MSG_DONTWAIT);

	/* enabling later sends the snapshot then */
	ipn_setint(b, IPN_SO_MEMBER_EVENTS, 1);
	ok = 1;
	for (i = 0; i < 2; i++)
		if (rmsg_recv(b, &m, MSG_DONTWAIT) != 0 || m.ev.event != IPN_EVENT_JOIN)
			ok = 0;
	tap(ok && !pending(b), "setting IPN_SO_MEMBER_EVENTS later: snapshot of 2 others");

	/* SIGKILL of a member while others keep sending */
	if (pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		int fd = ipn_open(netpath("ev"), 0);

		if (write(p[1], "j", 1) != 1)
			_exit(1);
		pause();
		_exit(fd < 0);
	}
	tap(read(p[0], &ch, 1) == 1 && rmsg_recv(c, &m, 0) == 0 &&
	    m.ev.event == IPN_EVENT_JOIN && m.ev.pid == (unsigned)pid,
	    "JOIN of a child (pid %d, id %llu)", pid, (unsigned long long)m.ev.id);
	{
		unsigned long long cid = m.ev.id;
		int sent = 0, left = 0, data = 0;

		for (i = 0; i < 2000; i++) {
			char buf[100] = "k";

			sent += send(a, buf, sizeof(buf), MSG_DONTWAIT) > 0;
			if (i == 50)
				kill(pid, SIGKILL);
			while (rmsg_recv(c, &m, MSG_DONTWAIT) >= 0) {
				if (m.have_event && m.ev.event == IPN_EVENT_LEAVE &&
				    m.ev.id == cid && m.ev.pid == (unsigned)pid)
					left = 1;
				else if (!m.have_event)
					data++;
			}
			if (left)
				break;
			if (i > 50)
				usleep(1000);
		}
		waitpid(pid, NULL, 0);
		tap(left, "LEAVE seen for the SIGKILLed child after %d sends", sent);
		errno = 0;
		tap(send_to(a, cid, "x", 1, NULL, 0) < 0 && errno == EHOSTUNREACH,
		    "the killed member's id is unreachable");
	}
	close(p[0]);
	close(p[1]);
	close(a);
	close(b);
	close(c);
	unlink(netpath("ev"));
}

static void test_fds(void)
{
	int a = ipn_create(netpath("fds"), -1, -1, -1);
	int b = ipn_open(netpath("fds"), 0);
	int c = ipn_open(netpath("fds"), 0);
	int p[2], q[2], other;
	struct rmsg m;
	char buf[8];

	if (pipe(p) || pipe(q))
		return;
	tap(send_to(a, ipn_id(b), "fd", 2, &p[1], 1) == 2, "unicast with SCM_RIGHTS");
	tap(rmsg_recv(b, &m, MSG_DONTWAIT) == 2 && m.nfds == 1 && m.fds[0] >= 0,
	    "receiver gets one fd");
	tap(m.nfds == 1 && write(m.fds[0], "via", 3) == 3 && read(p[0], buf, 3) == 3 &&
	    !memcmp(buf, "via", 3), "the passed fd is the pipe's write end");
	if (m.nfds == 1)
		close(m.fds[0]);
	errno = 0;
	tap(send_to(a, 0, "fd", 2, &p[1], 1) < 0 && errno == EINVAL,
	    "broadcast with SCM_RIGHTS -> EINVAL");
	errno = 0;
	other = ipn_open(netpath("fds"), 0);
	tap(send_to(a, ipn_id(b), "s", 1, &other, 1) < 0 && errno == EOPNOTSUPP,
	    "passing an AF_IPN socket -> EOPNOTSUPP");
	close(other);
	tap(!pending(b), "nothing was delivered by the refused sends");

	/* files in unread messages are released when the receiver closes */
	tap(send_to(a, ipn_id(c), "fd", 2, &q[1], 1) == 2, "fd sent to a member that never reads");
	close(q[1]);
	close(c);
	{
		int fl = fcntl(q[0], F_GETFL);

		fcntl(q[0], F_SETFL, fl | O_NONBLOCK);
		tap(read(q[0], buf, 1) == 0,
		    "closing the receiver released the in-flight fd (EOF on the pipe)");
	}
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(a);
	close(b);
	unlink(netpath("fds"));
}

static int bpf_load_only_b(void)
{
	/* eBPF: accept messages whose first byte is 'B', drop the rest */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 6, .src_reg = 1 },
		{ .code = BPF_LD | BPF_ABS | BPF_B, .imm = 0 },
		{ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = 0, .off = 2, .imm = 'B' },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0x7fffffff },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (uintptr_t)"GPL";
	return syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

static void test_filters(void)
{
	int a = ipn_create(netpath("filt"), -1, -1, -1);
	int r = ipn_open(netpath("filt"), 0);
	int e = ipn_open(netpath("filt"), 0);
	int l = ipn_create(netpath("filtl"), -1, IPN_FLAG_LOSSLESS, -1);
	int lr = ipn_open(netpath("filtl"), 0);
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 'A', 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { 4, code };
	char big[200000], buf[256];
	int prog_fd, rcv = 4096, i, k = 0;
	ssize_t n;

	tap(setsockopt(r, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0,
	    "SO_ATTACH_FILTER (first byte == 'A')");
	send(a, "Bxx", 3, 0);
	tap(!readable(r, 200), "filtered receiver is not woken by 'B...'");
	tap(drops_of(r) == 0, "a filtered message is not a drop");
	send(a, "Ayy", 3, 0);
	tap(readable(r, 1000) && recv(r, buf, sizeof(buf), 0) == 3 && buf[0] == 'A' &&
	    !pending(r), "it gets 'A...' (and only that)");
	memset(big, 'A', sizeof(big));
	/* raise the MTU-limited size: 128 KiB default */
	n = send(a, big, IPN_MTU_DEFAULT, 0);
	tap(n == IPN_MTU_DEFAULT && recv(r, big, sizeof(big), MSG_DONTWAIT) ==
	    IPN_MTU_DEFAULT, "filter's return value does not truncate a datagram");

	prog_fd = bpf_load_only_b();
	tap(prog_fd >= 0 && setsockopt(e, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd,
					sizeof(prog_fd)) == 0,
	    "SO_ATTACH_BPF eBPF socket filter (first byte == 'B')");
	while (recv(e, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
	send(a, "Azz", 3, 0);
	send(a, "Bzz", 3, 0);
	tap(recv(e, buf, sizeof(buf), MSG_DONTWAIT) == 3 && buf[0] == 'B' && !pending(e),
	    "eBPF-filtered receiver gets only 'B...'");
	if (prog_fd >= 0)
		close(prog_fd);

	/* lossless: a full receiver that filters the message out does not block */
	setsockopt(lr, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	memset(buf, 'A', sizeof(buf));
	while (send(l, buf, sizeof(buf), MSG_DONTWAIT) > 0 && k < 10000)
		k++;
	setsockopt(lr, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	buf[0] = 'Z';
	i = send(l, buf, sizeof(buf), MSG_DONTWAIT);
	tap(k < 10000 && i == sizeof(buf),
	    "lossless: a full receiver whose filter rejects does not block the sender");
	buf[0] = 'A';
	errno = 0;
	i = send(l, buf, sizeof(buf), MSG_DONTWAIT);
	tap(i < 0 && errno == EAGAIN, "... but one it accepts does (EAGAIN)");
	close(l);
	close(lr);
	close(a);
	close(r);
	close(e);
	unlink(netpath("filt"));
	unlink(netpath("filtl"));
}

static void test_proc(void)
{
	int a = ipn_create(netpath("proc net"), -1, -1, -1);
	int b = ipn_open(netpath("proc net"), 0);
	FILE *f;
	char line[512], path[256], want[256];
	unsigned long long id, drops;
	int pid, uid, rxq, found = 0, rx_ok = 0, header = 0;

	send(a, "queued", 6, 0);
	/* the path is escaped: the space becomes \040 */
	snprintf(want, sizeof(want), "%s/proc\\040net", dir);
	f = fopen("/proc/net/ipn", "r");
	tap(f != NULL, "/proc/net/ipn exists");
	if (!f)
		goto out;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Path Id Pid Uid RxQueue Drops", 29)) {
			header = 1;
			continue;
		}
		if (sscanf(line, "%255s %llu %d %d %d %llu", path, &id, &pid, &uid,
			   &rxq, &drops) != 6 || strcmp(path, want))
			continue;
		if (pid == getpid() && uid == 0 && drops == 0 && (id == 1 || id == 2))
			found++;
		if (id == 2 && rxq > 0)
			rx_ok = 1;
	}
	fclose(f);
	tap(header && found == 2, "/proc/net/ipn lists both members (path, id, pid, uid, drops)");
	tap(rx_ok, "/proc/net/ipn shows member 2's queued bytes");
out:
	close(a);
	close(b);
	f = fopen("/proc/net/ipn", "r");
	found = 0;
	while (f && fgets(line, sizeof(line), f))
		found += strstr(line, "proc\\040net") != NULL;
	if (f)
		fclose(f);
	tap(found == 0, "closed members disappear from /proc/net/ipn");
	unlink(netpath("proc net"));
}

static void test_bad_input(void)
{
	int a = ipn_create(netpath("bad"), -1, -1, -1);
	int b = ipn_open(netpath("bad"), 0);
	unsigned long long id;
	socklen_t len;
	int v = 1, i, p[2], q[2], crashed = 0;
	char buf[64];
	struct sockaddr_ipn big;

	errno = 0;
	tap(setsockopt(a, SOL_IPN, IPN_SO_LOOPBACK, &v, 0) < 0 && errno == EINVAL,
	    "setsockopt with optlen 0 -> EINVAL");
	errno = 0;
	tap(setsockopt(a, SOL_IPN, IPN_SO_LOOPBACK, NULL, sizeof(int)) < 0 &&
	    errno == EFAULT, "setsockopt with NULL optval -> EFAULT");
	len = 4;
	errno = 0;
	tap(getsockopt(a, SOL_IPN, IPN_SO_MEMBER_ID, &id, &len) < 0 && errno == EINVAL,
	    "getsockopt of a u64 into 4 bytes -> EINVAL");
	len = sizeof(id);
	errno = 0;
	tap(getsockopt(a, SOL_IPN, IPN_SO_MEMBER_ID, NULL, &len) < 0 && errno == EFAULT,
	    "getsockopt with NULL optval -> EFAULT");
	errno = 0;
	tap(ipn_setint(a, IPN_SO_DROPS, 1) < 0 && errno == EPERM,
	    "setting a read-only option -> EPERM");
	memset(&big, 'x', sizeof(big));
	big.sipn_family = ipn_af();
	v = socket(ipn_af(), SOCK_RAW, 0);
	errno = 0;
	tap(connect(v, (struct sockaddr *)&big, sizeof(big)) < 0 && errno == ENOENT,
	    "a 108-byte path with no NUL is taken as 108 bytes (ENOENT)");
	close(v);
	{
		struct {
			struct cmsghdr h;
			int creds[3];
		} c = { { sizeof(c), SOL_SOCKET, SCM_CREDENTIALS }, { 0, 0, 0 } };
		struct iovec iov = { buf, 1 };
		struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = &c, .msg_controllen = sizeof(c) };

		errno = 0;
		tap(sendmsg(a, &h, MSG_DONTWAIT) < 0 && errno == EINVAL,
		    "SCM_CREDENTIALS on send -> EINVAL");
		c.h.cmsg_len = 4096;
		errno = 0;
		tap(sendmsg(a, &h, MSG_DONTWAIT) < 0 && errno == EINVAL,
		    "a control message longer than its buffer -> EINVAL");
	}
	/* fds with no room for them: MSG_CTRUNC, and the files are not kept */
	if (pipe(p) || pipe(q))
		return;
	send_to(a, ipn_id(b), "f", 1, &q[1], 1);
	close(q[1]);
	{
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };
		int fl;

		tap(recvmsg(b, &h, MSG_DONTWAIT) == 1 && (h.msg_flags & MSG_CTRUNC),
		    "fds without a control buffer: MSG_CTRUNC");
		fl = fcntl(q[0], F_GETFL);
		fcntl(q[0], F_SETFL, fl | O_NONBLOCK);
		tap(read(q[0], buf, 1) == 0, "... and the dropped fds are released");
	}
	close(p[0]);
	close(p[1]);
	close(q[0]);

	/* random calls: whatever they return, the kernel must stay clean */
	srand(42);
	for (i = 0; i < 3000; i++) {
		int fd = rand() % 2 ? a : b, opt = rand() % 12, val = rand() - RAND_MAX / 2;
		unsigned char junk[160];
		socklen_t jl = rand() % sizeof(junk);
		struct sockaddr_ipn_member to = { ipn_af(), { 0 }, rand() % 5 };

		for (v = 0; v < (int)sizeof(junk); v++)
			junk[v] = rand();
		switch (rand() % 8) {
		case 0:
			setsockopt(fd, rand() % 2 ? SOL_IPN : SOL_SOCKET, opt, &val,
				   rand() % 9);
			break;
		case 1:
			getsockopt(fd, SOL_IPN, opt, junk, &jl);
			break;
		case 2:
			sendto(fd, junk, rand() % sizeof(junk), MSG_DONTWAIT,
			       (struct sockaddr *)junk, jl);
			break;
		case 3:
			sendto(fd, junk, rand() % sizeof(junk), MSG_DONTWAIT,
			       (struct sockaddr *)&to, sizeof(to));
			break;
		case 4:
			recv(fd, junk, rand() % sizeof(junk),
			     MSG_DONTWAIT | (rand() % 2 ? MSG_PEEK : 0) |
			     (rand() % 2 ? MSG_TRUNC : 0));
			break;
		case 5:
			connect(fd, (struct sockaddr *)junk, jl);
			break;
		case 6:
			bind(fd, (struct sockaddr *)junk, jl);
			break;
		default:
			ioctl(fd, rand() % 2 ? FIONREAD : TIOCOUTQ, &val);
		}
	}
	tap(!crashed && send(a, "ok", 2, 0) == 2,
	    "3000 random calls with junk arguments: sockets still work");
	close(a);
	close(b);
	unlink(netpath("bad"));
}

static void test_family_param(void)
{
	FILE *f = fopen(IPN_FAMILY_SYSFS, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	tap(v > 0, "%s readable (%d)", IPN_FAMILY_SYSFS, v);
}

static int load_ipn(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = syscall(SYS_finit_module, fd, params, 0);
	close(fd);
	return r;
}

static void test_unload(void)
{
	const char *ko = getenv("IPNBUS_KO");
	int fam = ipn_af(), fd, r, alt = -1;
	char params[32];
	static const int candidates[] = { 19, 23, 25, 18, 31 };
	size_t i;

	if (!ko) {
		tap(0, "module unload test needs IPNBUS_KO (run via scripts/vm/run.sh)");
		return;
	}
	fd = ipn_open(netpath("unload"), 1);
	tap(module_refcnt() > 0, "module refcount held by open sockets (%d)",
	    module_refcnt());
	errno = 0;
	r = syscall(SYS_delete_module, "ipn", O_NONBLOCK);
	tap(r < 0 && (errno == EWOULDBLOCK || errno == EBUSY),
	    "unload refused while a socket is open (%s)", strerror(errno));
	close(fd);
	unlink(netpath("unload"));
	tap(module_refcnt() == 0, "refcount back to 0 after close (no leaked socket)");
	r = syscall(SYS_delete_module, "ipn", O_NONBLOCK);
	tap(r == 0, "unload succeeds after close (%s)", r ? strerror(errno) : "ok");

	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		snprintf(params, sizeof(params), "family=%d", candidates[i]);
		if (load_ipn(ko, params) == 0) {
			alt = candidates[i];
			break;
		}
	}
	tap(alt > 0 && ipn_af() == alt, "reload with family=%d (sysfs says %d)", alt,
	    ipn_af());
	fd = ipn_open(netpath("alt"), 1);
	tap(fd >= 0 && send(fd, "x", 1, 0) == 1, "sockets work in family %d", alt);
	close(fd);
	unlink(netpath("alt"));
	tap(syscall(SYS_delete_module, "ipn", O_NONBLOCK) == 0, "unload again");
	snprintf(params, sizeof(params), "family=%d", fam);
	tap(load_ipn(ko, params) == 0 && ipn_af() == fam,
	    "reload with the original family=%d", fam);
}

int main(int argc, char **argv)
{
	tests_begin("ipn-test", 300);
	mkdir(dir, 0755);
	diag("AF_IPN family %d", ipn_af());
	test_family_param();
	test_socket_args();
	test_basic();
	test_errors();
	test_unicast();
	test_permissions();
	test_big();
	test_lossy();
	test_lossless();
	test_creds();
	test_namespaces();
	test_events();
	test_fds();
	test_filters();
	test_proc();
	test_bad_input();
	test_unload();
	rmdir(dir);
	return tap_done();
}
