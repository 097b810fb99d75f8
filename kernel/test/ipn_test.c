// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_test.c - functional tests of the AF_IPN module (run in the test VM)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ipn_tap.h"

static char dir[64];

static const char *netpath(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
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
	tap(fd < 0 && errno == ESOCKTNOSUPPORT, "SOCK_DGRAM -> ESOCKTNOSUPPORT (%s)",
	    strerror(errno));
	errno = 0;
	fd = socket(ipn_af(), SOCK_RAW, 7);
	tap(fd < 0 && errno == EPROTONOSUPPORT, "protocol 7 -> EPROTONOSUPPORT (%s)",
	    strerror(errno));
}

static void test_basic(void)
{
	struct sockaddr_ipn_member from;
	socklen_t flen = sizeof(from);
	int a, b, c;
	char buf[64];
	ssize_t n;

	a = ipn_open(netpath("basic"), 1);
	tap(a >= 0, "bind creates a network (%s)", strerror(errno));
	b = ipn_open(netpath("basic"), 0);
	c = ipn_open(netpath("basic"), 0);
	tap(b >= 0 && c >= 0, "connect joins it");
	tap(ipn_id(a) == 1 && ipn_id(b) == 2 && ipn_id(c) == 3,
	    "member ids 1, 2, 3 (%llu %llu %llu)", ipn_id(a), ipn_id(b), ipn_id(c));
	n = send(a, "hello", 5, 0);
	tap(n == 5, "broadcast send returns length");
	n = recvfrom(b, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	tap(n == 5 && !memcmp(buf, "hello", 5) && from.sipnm_id == 1 &&
	    from.sipnm_family == ipn_af() && flen == sizeof(from),
	    "member 2 receives it from id 1");
	n = recv(c, buf, sizeof(buf), MSG_DONTWAIT);
	tap(n == 5, "member 3 receives it too");
	n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);
	tap(n < 0 && errno == EAGAIN, "sender does not get its own broadcast");
	close(a);
	close(b);
	close(c);
}

int main(int argc, char **argv)
{
	snprintf(dir, sizeof(dir), "/tmp/ipn-test.%d", getpid());
	mkdir(dir, 0755);
	chmod(dir, 0755);
	diag("AF_IPN family %d", ipn_af());
	test_socket_args();
	test_basic();
	return tap_done();
}
