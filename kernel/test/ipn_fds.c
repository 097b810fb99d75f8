// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_fds.c - tests of passing files with SCM_RIGHTS over AF_IPN and of
 * receiving them, run in the test VM as root: the contract (unicast only,
 * files of unread messages released), then adversarial receivers:
 * concurrent readers of one socket (peek against read), a control buffer
 * the kernel cannot write, one too short, a 32-bit receiver.  Which files
 * may travel and how many: ipn_inflight.c.
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
#include "ipn_test_util.h"

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

/* "fds" to member @id with @nfds files, all of them @fd. */
static ssize_t send_fds(int sock, unsigned long long id, int fd, int nfds,
			int flags)
{
	int fds[MAX_FDS_PER_MSG], i;

	for (i = 0; i < nfds; i++)
		fds[i] = fd;
	return send_files(sock, id, "fds", 3, fds, nfds, flags);
}

/* True once reading @fd (made non-blocking) gives EOF within @ms. */
static int eof_within(int fd, int ms)
{
	double end = now_s() + ms / 1000.0;
	char c;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	do {
		if (read(fd, &c, 1) == 0)
			return 1;
		poll(NULL, 0, 10);
	} while (now_s() < end);
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
	double t0 = now_s();

	setrlimit(RLIMIT_NOFILE, &rl);
	if (a < 0 || b < 0 || pipe(p)) {
		tap(0, "race setup: %s", strerror(errno));
		return;
	}
	pthread_create(&tp, NULL, race_peeker, &r);
	pthread_create(&tr, NULL, race_reader, &r);
	for (i = 0; i < msgs && now_s() - t0 < 120; i++) {
		/* keep a few messages queued: the readers fight over each */
		while (sent - atomic_load(&r.read) > 4 && now_s() - t0 < 120)
			sched_yield();
		if (send_fds(a, bid, p[1], RACE_FDS, 0) == 3)
			sent++;
	}
	while (atomic_load(&r.read) < sent && now_s() - t0 < 120)
		poll(NULL, 0, 10);
	atomic_store(&r.stop, 1);
	pthread_join(tp, NULL);
	pthread_join(tr, NULL);
	diag("race: %d messages of %d fds sent in %.1f s; %ld read, %ld "
	     "peeked (%ld fds installed by peeks)", sent, RACE_FDS,
	     now_s() - t0, r.read, r.peeked, r.peeked_fds);
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

/* ----------------------------------------------------------- installing */

/* A mapping of two pages; the first made read-only. */
static char *two_pages_first_readonly(void)
{
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	if (mprotect(m, 4096, PROT_READ)) {
		munmap(m, 8192);
		return NULL;
	}
	return m;
}

/*
 * Issue 15 item 8: the receiver's control buffer has its header on a
 * read-only page and its fd slots on a writable one.  The files must not
 * be installed behind the receiver's back (it could never learn their
 * numbers): MSG_CTRUNC and nothing installed.
 */
static void test_install_fault(void)
{
	int a = ipn_open(netpath("inst"), 1);
	int b = ipn_open(netpath("inst"), 0);
	char *m = two_pages_first_readonly();
	int p[2], before, after;
	char data[8];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (a < 0 || b < 0 || !m || pipe(p)) {
		tap(0, "install setup: %s", strerror(errno));
		return;
	}
	tap(send_fds(a, ipn_id(b), p[1], 4, 0) == 3, "sent 4 fds");
	close(p[1]);
	before = count_fds();
	h.msg_control = m + 4096 - CMSG_LEN(0);	/* header read-only */
	h.msg_controllen = CMSG_SPACE(4 * sizeof(int));
	n = recvmsg(b, &h, MSG_DONTWAIT);
	after = count_fds();
	diag("install fault: recvmsg %zd, flags %#x, fds open %d -> %d", n,
	     h.msg_flags, before, after);
	tap(n == 3 && (h.msg_flags & MSG_CTRUNC),
	    "header on a read-only page: message read, MSG_CTRUNC");
	tap(after == before,
	    "no file installed behind the receiver's back (%d new fds)",
	    after - before);
	tap(eof_within(p[0], 2000),
	    "every reference to the passed pipe is gone (EOF)");
	close(p[0]);
	munmap(m, 8192);
	close(a);
	close(b);
	unlink(netpath("inst"));
}

/*
 * A control buffer with room for 2 of 4 files: the 2 arrive (close-on-exec
 * with MSG_CMSG_CLOEXEC), MSG_CTRUNC is set, and the other 2 references
 * are released, not left installed.
 */
static void test_short_buffer(void)
{
	int a = ipn_open(netpath("short"), 1);
	int b = ipn_open(netpath("short"), 0);
	char cbuf[CMSG_SPACE(2 * sizeof(int))], data[8];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int p[2], before, n, cloexec = 0, i;

	if (a < 0 || b < 0 || pipe(p)) {
		tap(0, "short setup: %s", strerror(errno));
		return;
	}
	tap(send_fds(a, ipn_id(b), p[1], 4, 0) == 3, "sent 4 fds");
	close(p[1]);
	before = count_fds();
	n = recvmsg(b, &h, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	c = CMSG_FIRSTHDR(&h);
	tap(n == 3 && (h.msg_flags & MSG_CTRUNC) && c &&
	    c->cmsg_len == CMSG_LEN(2 * sizeof(int)) &&
	    count_fds() == before + 2,
	    "room for 2 of 4: 2 arrive, MSG_CTRUNC");
	for (i = 0; c && i < 2; i++)
		cloexec += fcntl(((int *)CMSG_DATA(c))[i], F_GETFD) ==
			   FD_CLOEXEC;
	tap(cloexec == 2, "MSG_CMSG_CLOEXEC: both are close-on-exec");
	close_received(&h);
	tap(eof_within(p[0], 2000),
	    "the 2 that did not fit were released (EOF on the pipe)");
	close(p[0]);
	close(a);
	close(b);
	unlink(netpath("short"));
}

/* The i386 layout of recvmsg()'s arguments, for a compat receiver. */
struct compat_msghdr32 {
	uint32_t name, namelen, iov, iovlen, control, controllen, flags;
};

struct compat_iovec32 {
	uint32_t base, len;
};

struct compat_cmsghdr32 {
	uint32_t len;
	int32_t level, type;
};

#define I386_NR_RECVMSG	372

/* A 32-bit syscall from this 64-bit process (IA32 emulation). */
static long int80(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("int $0x80"
		     : "=a"(ret)
		     : "a"(nr), "b"(a), "c"(b), "d"(c)
		     : "memory", "r8", "r9", "r10", "r11");
	return (int)ret;
}

/*
 * Issue 15 item 8: a 32-bit receiver (recvmsg with MSG_CMSG_COMPAT) gets
 * its files, in the compat control message layout.
 */
static void test_compat_receiver(void)
{
	int a = ipn_open(netpath("compat"), 1);
	int b = ipn_open(netpath("compat"), 0);
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	struct compat_msghdr32 *h;
	struct compat_iovec32 *iov;
	struct compat_cmsghdr32 *c;
	int p[2], got = -1, nfds = 0;
	char buf[4];
	long n;

	if (a < 0 || b < 0 || m == MAP_FAILED || pipe(p)) {
		tap(0, "compat setup: %s", strerror(errno));
		return;
	}
	h = (void *)m;
	iov = (void *)(m + 64);
	c = (void *)(m + 128);
	iov->base = (uint32_t)(uintptr_t)(m + 512);
	iov->len = 16;
	h->iov = (uint32_t)(uintptr_t)iov;
	h->iovlen = 1;
	h->control = (uint32_t)(uintptr_t)c;
	h->controllen = sizeof(*c) + 2 * sizeof(int);
	tap(send_fds(a, ipn_id(b), p[1], 2, 0) == 3, "sent 2 fds");
	n = int80(I386_NR_RECVMSG, b, (long)(uintptr_t)h, MSG_DONTWAIT);
	if (n == 3 && h->controllen >= sizeof(*c) && c->level == SOL_SOCKET &&
	    c->type == SCM_RIGHTS) {
		nfds = (c->len - sizeof(*c)) / sizeof(int);
		got = ((int *)(c + 1))[0];
	}
	diag("compat recvmsg: %ld bytes, controllen %u, flags %#x, %d fds",
	     n, h->controllen, h->flags, nfds);
	tap(n == 3 && nfds == 2 && !(h->flags & MSG_CTRUNC),
	    "32-bit receiver gets both fds in the compat layout");
	tap(got >= 0 && write(got, "32", 2) == 2 && read(p[0], buf, 2) == 2,
	    "the fd a 32-bit receiver got is the pipe's write end");
	if (nfds > 0) {
		close(((int *)(c + 1))[0]);
		if (nfds > 1)
			close(((int *)(c + 1))[1]);
	}
	close(p[0]);
	close(p[1]);
	munmap(m, 4096);
	close(a);
	close(b);
	unlink(netpath("compat"));
}

/* The contract: unicast with SCM_RIGHTS, what is refused, unread files. */
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

int main(int argc, char **argv)
{
	tests_begin("ipn-fds", 600, 0755);
	test_fds();
	test_peek_read_race();
	test_install_fault();
	test_short_buffer();
	test_compat_receiver();
	return tests_end();
}
