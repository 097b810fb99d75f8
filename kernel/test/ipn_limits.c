// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_limits.c - adversarial tests of AF_IPN's resource bounds and
 * policies, run in the test VM as root: what one local user (uid 65534)
 * can make the module queue, hold or block for another.  Each test
 * measures the victim's side (queued memory, time blocked, counts) and
 * prints the figures as diagnostics.
 *
 * ipn_limits --churn PATH N: join and leave the network at PATH N times
 * (the bus's overrun test floods a member's queue with events this way).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <linux/sock_diag.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ipn_tap.h"

#define NOBODY 65534

static char dir[64];

static const char *netpath(const char *name)
{
	static char buf[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Create a network: mode and flags before bind(), -1 = default. */
static int net_create(const char *path, int mode, int flags)
{
	struct sockaddr_ipn a;
	socklen_t len = ipn_addr(&a, path);
	int fd = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);

	if (fd < 0)
		return -1;
	if ((mode >= 0 && ipn_setint(fd, IPN_SO_MODE, mode) < 0) ||
	    (flags >= 0 && ipn_setint(fd, IPN_SO_FLAGS, flags) < 0) ||
	    bind(fd, (struct sockaddr *)&a, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Memory queued on @fd and its SO_RCVBUF (the kernel's own figures). */
static void rx_mem(int fd, unsigned int *rmem, unsigned int *rcvbuf)
{
	uint32_t mi[SK_MEMINFO_VARS] = { 0 };
	socklen_t len = sizeof(mi);

	getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len);
	*rmem = mi[SK_MEMINFO_RMEM_ALLOC];
	*rcvbuf = mi[SK_MEMINFO_RCVBUF];
}

/* SUnreclaim from /proc/meminfo, in KiB. */
static long sunreclaim_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SUnreclaim: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* One received message, reduced to what these tests look at. */
struct lmsg {
	ssize_t n;
	unsigned long long from;
	unsigned int event;		/* IPN_EVENT_*, 0 for data */
	unsigned int events_lost;	/* IPN_CMSG_EVENTS_LOST */
	unsigned int dropped;		/* IPN_CMSG_DROPPED */
};

static ssize_t lmsg_recv(int fd, struct lmsg *m, int flags)
{
	struct sockaddr_ipn_member from = { 0 };
	char data[256], cbuf[256];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr h = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct ipn_member_event ev;
	struct cmsghdr *c;

	memset(m, 0, sizeof(*m));
	m->n = recvmsg(fd, &h, flags);
	if (m->n < 0)
		return -1;
	m->from = from.sipnm_id;
	for (c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
		if (c->cmsg_level != SOL_IPN)
			continue;
		if (c->cmsg_type == IPN_CMSG_MEMBER_EVENT) {
			memcpy(&ev, CMSG_DATA(c), sizeof(ev));
			m->event = ev.event;
		} else if (c->cmsg_type == IPN_CMSG_EVENTS_LOST) {
			memcpy(&m->events_lost, CMSG_DATA(c), sizeof(unsigned int));
		} else if (c->cmsg_type == IPN_CMSG_DROPPED) {
			memcpy(&m->dropped, CMSG_DATA(c), sizeof(unsigned int));
		}
	}
	return m->n;
}

/* Run @fn(@arg) in a child as uid/gid 65534; its exit status, or 200. */
static int as_nobody(int (*fn)(void *), void *arg)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		_exit(fn(arg));
	}
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

struct churn {
	const char *path;
	int cycles;
};

/* connect + close, @cycles times: each is a JOIN and a LEAVE for others. */
static int churn_members(void *p)
{
	struct churn *c = p;
	int i, fd;

	for (i = 0; i < c->cycles; i++) {
		fd = ipn_open(c->path, 0);
		if (fd < 0)
			return 1;
		close(fd);
	}
	return 0;
}

/* Events received, and lost as reported by overrun notices, on @fd. */
struct ev_count {
	unsigned long events, notices, lost, other;
};

static void count_events(int fd, struct ev_count *n)
{
	struct lmsg m;

	memset(n, 0, sizeof(*n));
	while (lmsg_recv(fd, &m, MSG_DONTWAIT) >= 0) {
		if (m.event == IPN_EVENT_JOIN || m.event == IPN_EVENT_LEAVE) {
			n->events++;
		} else if (m.event == IPN_EVENT_OVERRUN) {
			n->notices++;
			n->lost += m.events_lost;
		} else {
			n->other++;
		}
	}
}

/*
 * Issue 15 item 4: another uid joins and leaves 30,000 times while the
 * victim, with events on, does not read.  Its queue must stay within its
 * SO_RCVBUF (plus one event and one notice), and every event must be
 * either delivered or counted in an overrun notice.
 */
static void test_event_flood(void)
{
	const char *path = netpath("flood");
	struct churn c = { path, 30000 };
	int a = net_create(path, 0777, -1);
	int v = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);
	int bufsz = 512 * 1024, st;
	unsigned int rmem, rcvbuf;
	struct sockaddr_ipn addr;
	struct ev_count n;
	struct lmsg m;
	long su0, su1;
	double t0;

	setsockopt(v, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
	ipn_setint(v, IPN_SO_MEMBER_EVENTS, 1);
	if (a < 0 || v < 0 ||
	    connect(v, (struct sockaddr *)&addr, ipn_addr(&addr, path)) < 0) {
		tap(0, "event flood: set-up failed: %s", strerror(errno));
		return;
	}
	lmsg_recv(v, &m, MSG_DONTWAIT);	/* the snapshot: creator's JOIN */
	su0 = sunreclaim_kib();
	t0 = now_s();
	st = as_nobody(churn_members, &c);
	rx_mem(v, &rmem, &rcvbuf);
	su1 = sunreclaim_kib();
	diag("event flood: %d connect+close cycles as uid %d in %.1f s: victim queue %u bytes, SO_RCVBUF %u, SUnreclaim %+ld KiB",
	     c.cycles, NOBODY, now_s() - t0, rmem, rcvbuf, su1 - su0);
	tap(st == 0, "event flood: uid %d churned %d members", NOBODY, c.cycles);
	tap(rmem <= rcvbuf + 4096,
	    "event flood: victim's queue %u bytes stays within SO_RCVBUF %u",
	    rmem, rcvbuf);
	count_events(v, &n);
	diag("event flood: %lu events read, %lu overrun notices counting %lu lost",
	     n.events, n.notices, n.lost);
	tap(n.notices >= 1 && n.lost > 0,
	    "event flood: the victim reads an overrun notice counting %lu lost events",
	    n.lost);
	tap(n.events + n.lost == 2UL * c.cycles && n.other == 0,
	    "event flood: delivered %lu + lost %lu = every one of %d events",
	    n.events, n.lost, 2 * c.cycles);
	/* once read, events flow again, and the count starts afresh */
	close(ipn_open(path, 0));
	count_events(v, &n);
	tap(n.events == 2 && n.notices == 0,
	    "event flood: after reading, the next JOIN and LEAVE arrive (%lu events, %lu notices)",
	    n.events, n.notices);
	close(v);
	close(a);
	unlink(path);
}

/*
 * Toggling IPN_SO_MEMBER_EVENTS queues a snapshot each time it goes on:
 * 60,000 toggles must not queue more than the buffer.
 */
static void test_event_toggle(void)
{
	const char *path = netpath("toggle");
	int a = net_create(path, 0777, -1);
	int v = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);
	int bufsz = 512 * 1024, i, toggles = 60000;
	unsigned int rmem, rcvbuf;
	struct sockaddr_ipn addr;
	struct ev_count n;
	long su0, su1;

	setsockopt(v, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
	if (a < 0 || v < 0 ||
	    connect(v, (struct sockaddr *)&addr, ipn_addr(&addr, path)) < 0) {
		tap(0, "event toggle: set-up failed: %s", strerror(errno));
		return;
	}
	su0 = sunreclaim_kib();
	for (i = 0; i < toggles; i++) {
		ipn_setint(v, IPN_SO_MEMBER_EVENTS, 1);
		ipn_setint(v, IPN_SO_MEMBER_EVENTS, 0);
	}
	rx_mem(v, &rmem, &rcvbuf);
	su1 = sunreclaim_kib();
	diag("event toggle: %d toggles: queue %u bytes, SO_RCVBUF %u, SUnreclaim %+ld KiB",
	     toggles, rmem, rcvbuf, su1 - su0);
	tap(rmem <= rcvbuf + 4096,
	    "event toggle: %d toggles queue %u bytes, within SO_RCVBUF %u",
	    toggles, rmem, rcvbuf);
	count_events(v, &n);
	tap(n.notices >= 1 && n.events + n.lost == (unsigned long)toggles,
	    "event toggle: delivered %lu + lost %lu = %d snapshot JOINs",
	    n.events, n.lost, toggles);
	close(v);
	close(a);
	unlink(path);
}

static void on_alarm(int sig)
{
	tap(0, "TIMEOUT: test %d hung", tap_n + 1);
	_exit(tap_done() + 2);
}

int main(int argc, char **argv)
{
	/* a tool for the bus tests: flood a network's members with events */
	if (argc == 4 && !strcmp(argv[1], "--churn")) {
		struct churn c = { argv[2], atoi(argv[3]) };

		return churn_members(&c);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(600);
	umask(0);
	snprintf(dir, sizeof(dir), "/tmp/ipn-limits.%d", getpid());
	mkdir(dir, 0755);
	diag("AF_IPN family %d", ipn_af());
	test_event_flood();
	test_event_toggle();
	rmdir(dir);
	return tap_done();
}
