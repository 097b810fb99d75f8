// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_basic.c - functional tests of AF_IPN, run in the test VM as root:
 * the socket contract of include/uapi/linux/ipn.h on one network: socket()
 * arguments, bind and connect, member ids, broadcast and unicast, the
 * sender's address, truncation, messages up to IPN_MTU_MAX, getsockname
 * of the longest paths.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/stat.h>
#include "ipn_tap.h"
#include "ipn_test_util.h"

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

/* Bind a network at a path of exactly @len bytes (no NUL when 108). */
static int bind_len(size_t len, char *path)
{
	struct sockaddr_ipn a = { .sipn_family = ipn_af() };
	int fd = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);
	size_t n = snprintf(path, IPN_PATH_MAX + 1, "%s/", dir);

	memset(path + n, 'p', len - n);
	path[len] = '\0';
	unlink(path);
	memcpy(a.sipn_path, path, len);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a,
			   offsetof(struct sockaddr_ipn, sipn_path) + len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void test_getsockname_long(void)
{
	char path[IPN_PATH_MAX + 1];
	struct sockaddr_storage ss;
	struct sockaddr_ipn *got = (struct sockaddr_ipn *)&ss;
	socklen_t len;
	size_t want[2] = { IPN_PATH_MAX - 1, IPN_PATH_MAX }, i;
	int fd;

	for (i = 0; i < 2; i++) {
		fd = bind_len(want[i], path);
		memset(&ss, 0xff, sizeof(ss));
		len = sizeof(ss);
		if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
			tap(0, "getsockname: %zu-byte path: %s", want[i],
			    strerror(errno));
			continue;
		}
		tap(len == sizeof(struct sockaddr_ipn) &&
		    !memcmp(got->sipn_path, path, want[i]) &&
		    (want[i] == IPN_PATH_MAX || !got->sipn_path[want[i]]),
		    "getsockname: a %zu-char path comes back whole (addrlen %u, %zu chars match)",
		    want[i], len, strnlen(got->sipn_path, IPN_PATH_MAX) == want[i] ?
		    want[i] : strnlen(got->sipn_path, IPN_PATH_MAX));
		close(fd);
		unlink(path);
	}
}

int main(int argc, char **argv)
{
	tests_begin("ipn-basic", 300, 0755);
	test_socket_args();
	test_basic();
	test_unicast();
	test_big();
	test_getsockname_long();
	return tests_end();
}
