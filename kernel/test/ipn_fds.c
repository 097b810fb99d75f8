// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_fds.c - adversarial tests of AF_IPN's SCM_RIGHTS handling, run in the
 * test VM as root (some parts drop to uid 65534): concurrent readers of
 * one socket, how received files are installed, the per-user limit on
 * files in flight, and files that could make unreclaimable cycles.
 *
 * Run it with slub_debug=FZP on the guest's command line: a reader that
 * touches a freed file list then faults on the 0x6b poison instead of
 * passing silently.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "ipn_tap.h"

static char dir[64];

static const char *netpath(const char *name)
{
	static char buf[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Open descriptors of this process. */
static int count_fds(void)
{
	char path[32];
	int fd, n = 0;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (!access(path, F_OK))
			n++;
	}
	return n;
}

/* Send @len bytes to member @id with @nfds descriptors, all equal to @fd. */
static ssize_t send_fds(int sock, unsigned long long id, int fd, int nfds,
			int flags)
{
	struct sockaddr_ipn_member to = {
		.sipnm_family = ipn_af(), .sipnm_id = id,
	};
	char cbuf[CMSG_SPACE(sizeof(int) * 253)];
	struct iovec iov = { "fds", 3 };
	struct msghdr h = {
		.msg_name = &to, .msg_namelen = sizeof(to),
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	struct cmsghdr *c;
	int i;

	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		h.msg_control = cbuf;
		h.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		for (i = 0; i < nfds; i++)
			((int *)CMSG_DATA(c))[i] = fd;
	}
	return sendmsg(sock, &h, flags);
}

/* Close every descriptor of every SCM_RIGHTS message in @h; their count. */
static int close_received(struct msghdr *h)
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

/* True once reading @fd (made non-blocking) gives EOF within @ms. */
static int eof_within(int fd, int ms)
{
	double end = now() + ms / 1000.0;
	char c;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	do {
		if (read(fd, &c, 1) == 0)
			return 1;
		poll(NULL, 0, 10);
	} while (now() < end);
	return 0;
}

/* ------------------------------------------------------------------ race */

#define RACE_FDS	200	/* a 1.6 KiB file list: a kmalloc-2k object */

struct race {
	int sock;		/* the receiving member both threads read */
	atomic_int stop;
	long peeked, peeked_fds;
	atomic_long read;
};

/* Peeks every message with room for all its files, closes what it got. */
static void *race_peeker(void *arg)
{
	struct race *r = arg;
	static char cbuf[CMSG_SPACE(sizeof(int) * RACE_FDS)];
	struct pollfd p = { .fd = r->sock, .events = POLLIN };
	char data[8];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr h;

	while (!atomic_load(&r->stop)) {
		if (poll(&p, 1, 50) != 1)
			continue;
		memset(&h, 0, sizeof(h));
		h.msg_iov = &iov;
		h.msg_iovlen = 1;
		h.msg_control = cbuf;
		h.msg_controllen = sizeof(cbuf);
		if (recvmsg(r->sock, &h, MSG_PEEK | MSG_DONTWAIT) < 0)
			continue;
		r->peeked++;
		r->peeked_fds += close_received(&h);
	}
	return NULL;
}

/* Reads every message without a control buffer: its files are dropped. */
static void *race_reader(void *arg)
{
	struct race *r = arg;
	struct pollfd p = { .fd = r->sock, .events = POLLIN };
	char data[8];

	while (!atomic_load(&r->stop)) {
		if (poll(&p, 1, 50) != 1)
			continue;
		if (recv(r->sock, data, sizeof(data), MSG_DONTWAIT) >= 0)
			atomic_fetch_add(&r->read, 1);
	}
	return NULL;
}

/*
 * Issue 15 item 1: a MSG_PEEK reader installing the files of a message
 * while another reader of the same socket dequeues it and frees the list.
 */
static void test_peek_read_race(void)
{
	const int msgs = 2000;
	struct rlimit rl = { 8192, 8192 };
	int a = ipn_open(netpath("race"), 1);
	int b = ipn_open(netpath("race"), 0);
	unsigned long long bid = ipn_id(b);
	struct race r = { .sock = b };
	pthread_t tp, tr;
	int p[2], i, sent = 0;
	double t0 = now();

	setrlimit(RLIMIT_NOFILE, &rl);
	if (a < 0 || b < 0 || pipe(p)) {
		tap(0, "race setup: %s", strerror(errno));
		return;
	}
	pthread_create(&tp, NULL, race_peeker, &r);
	pthread_create(&tr, NULL, race_reader, &r);
	for (i = 0; i < msgs && now() - t0 < 120; i++) {
		/* keep a few messages queued: the readers fight over each */
		while (sent - atomic_load(&r.read) > 4 && now() - t0 < 120)
			sched_yield();
		if (send_fds(a, bid, p[1], RACE_FDS, 0) == 3)
			sent++;
	}
	while (atomic_load(&r.read) < sent && now() - t0 < 120)
		poll(NULL, 0, 10);
	atomic_store(&r.stop, 1);
	pthread_join(tp, NULL);
	pthread_join(tr, NULL);
	diag("race: %d messages of %d fds sent in %.1f s; %ld read, %ld "
	     "peeked (%ld fds installed by peeks)", sent, RACE_FDS,
	     now() - t0, r.read, r.peeked, r.peeked_fds);
	tap(sent == msgs && r.read == msgs,
	    "peek/read race: every message read once (%ld of %d)", r.read,
	    msgs);
	close(p[1]);
	tap(eof_within(p[0], 5000),
	    "peek/read race: every in-flight file reference was released");
	close(p[0]);
	close(a);
	close(b);
	unlink(netpath("race"));
}

static void on_alarm(int sig)
{
	tap(0, "TIMEOUT: test %d hung", tap_n + 1);
	_exit(tap_done() + 2);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(600);
	umask(0);
	snprintf(dir, sizeof(dir), "/tmp/ipn-fds.%d", getpid());
	mkdir(dir, 0777);
	chmod(dir, 01777);
	diag("AF_IPN family %d", ipn_af());
	test_peek_read_race();
	rmdir(dir);
	return tap_done();
}
