// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_fds.c - tests of AF_IPN's SCM_RIGHTS handling, run in the test VM
 * as root (some parts drop to uid 65534): passing files to a member, and
 * then adversarial ones: concurrent readers of
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
#include <linux/io_uring.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "ipn_tap.h"
#include "ipn_test_util.h"

static int min_int(int a, int b)
{
	return a < b ? a : b;
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

/*
 * Send "fds" with the @nfds descriptors of @fds to member @id, or with
 * no address when @id is 0 (a connected AF_UNIX socket).
 */
static ssize_t send_many(int sock, unsigned long long id, const int *fds,
			 int nfds)
{
	struct sockaddr_ipn_member to = {
		.sipnm_family = ipn_af(), .sipnm_id = id,
	};
	char cbuf[CMSG_SPACE(sizeof(int) * 253)];
	struct iovec iov = { "fds", 3 };
	struct msghdr h = {
		.msg_name = id ? &to : NULL, .msg_namelen = id ? sizeof(to) : 0,
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = CMSG_SPACE(sizeof(int) * nfds),
	};
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&h);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	return sendmsg(sock, &h, MSG_DONTWAIT);
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

/* ----------------------------------------------------- in-flight limit */

/* Files allocated system-wide (first field of fs.file-nr). */
static long file_nr(void)
{
	return read_long("/proc/sys/fs/file-nr");
}

struct limit_result {
	int sent, err;		/* messages before the first failure */
	long grew;		/* fs.file-nr growth while they were queued */
	int resent;		/* a send went through after a receive */
};

/*
 * As uid 65534 with RLIMIT_NOFILE 64: send 400 messages of 50 fresh
 * files each to our own second member, closing our copies each time.
 */
static int limit_child(void *arg)
{
	struct limit_result *res = arg;
	struct rlimit rl = { 64, 64 };
	int a, b, i, j, fds[50];
	char cbuf[CMSG_SPACE(50 * sizeof(int))], data[8];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };
	long base;

	if (setrlimit(RLIMIT_NOFILE, &rl))
		return 3;
	a = ipn_open(netpath("limit"), 1);
	b = ipn_open(netpath("limit"), 0);
	if (a < 0 || b < 0)
		return 4;
	base = file_nr();
	for (i = 0; i < 400; i++) {
		for (j = 0; j < 50; j++)
			fds[j] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (send_many(a, ipn_id(b), fds, 50) != 3)
			break;
		for (j = 0; j < 50; j++)
			close(fds[j]);
	}
	res->sent = i;
	res->err = i < 400 ? errno : 0;
	res->grew = file_nr() - base;
	for (j = 0; i < 400 && j < 50; j++)
		close(fds[j]);
	/* receiving one message releases its charge */
	h.msg_control = cbuf;
	h.msg_controllen = sizeof(cbuf);
	if (recvmsg(b, &h, MSG_DONTWAIT) == 3)
		close_received(&h);
	for (j = 0; j < 50; j++)
		fds[j] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	res->resent = send_many(a, ipn_id(b), fds, 50) == 3;
	return 0;
}

/* Issue 15 item 3: in-flight files count against RLIMIT_NOFILE. */
static void test_inflight_limit(void)
{
	struct limit_result *res = mmap(NULL, sizeof(*res),
					PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long base = file_nr();
	double end;
	int st;

	st = as_nobody(limit_child, res);
	diag("in-flight limit: %d messages of 50 fds sent, then %s; "
	     "fs.file-nr grew by %ld while queued", res->sent,
	     res->err ? strerror(res->err) : "no error", res->grew);
	tap(st == 0, "limit child ran (status %d)", st);
	tap(res->sent < 400 && res->err == ETOOMANYREFS,
	    "uid 65534 with RLIMIT_NOFILE 64 stops with ETOOMANYREFS (%d "
	    "messages)", res->sent);
	tap(res->grew < 200, "files in flight stay near the limit (+%ld)",
	    res->grew);
	tap(res->resent, "a receive releases its files' charge: sending "
	    "works again");
	/* everything the child had in flight is freed with its sockets */
	end = now_s() + 5;
	while (file_nr() > base + 200 && now_s() < end)
		poll(NULL, 0, 20);
	tap(file_nr() <= base + 200, "the child's in-flight files are freed "
	    "with its sockets (file-nr %ld -> %ld)", base, file_nr());
	munmap(res, sizeof(*res));
	unlink(netpath("limit"));
}

/* ---------------------------------------------------------------- cycles */

static int io_uring_fd(void)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	return syscall(__NR_io_uring_setup, 4, &p);
}

/* 0: the send was accepted; 1: refused with EOPNOTSUPP; 2+: other. */
static int send_status(ssize_t n)
{
	if (n == 3)
		return 0;
	return errno == EOPNOTSUPP ? 1 : 2;
}

/*
 * Member R's own fd sits in an AF_UNIX queue (A -> B); B is sent to R.
 * Once everything is closed, only R's queue holds B and only B's queue
 * holds R.
 */
static int cycle_unix(void *path)
{
	int r = ipn_open(path, 1), sv[2];

	unlink(path);
	if (r < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		return 3;
	if (send_many(sv[0], 0, &r, 1) != 3)
		return 4;
	return send_status(send_many(r, ipn_id(r), &sv[1], 1));
}

/* The same through an io_uring instance holding R as a registered file. */
static int cycle_uring(void *path)
{
	int r = ipn_open(path, 1), ring = io_uring_fd();

	unlink(path);
	if (r < 0 || ring < 0)
		return 5;
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES, &r, 1))
		return 6;
	return send_status(send_many(r, ipn_id(r), &ring, 1));
}

/* Lines of /proc/net/ipn naming a network of this test. */
static int proc_networks_of_test(void)
{
	FILE *f = fopen("/proc/net/ipn", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, dir))
			n++;
	fclose(f);
	return n;
}

/*
 * Issue 15 item 2: fd cycles through IPN made by an unprivileged user, 40
 * rounds each of AF_UNIX and io_uring; afterwards no network of the test
 * may be left and the module's references must be back where they were.
 */
static void test_cycles(void)
{
	int ref0 = module_refcnt(), st[2][4] = { { 0 } }, i, k, left;
	int (*recipe[2])(void *) = { cycle_unix, cycle_uring };
	static const char * const name[2] = { "AF_UNIX", "io_uring" };
	char path[128];
	double end;

	for (k = 0; k < 2; k++)
		for (i = 0; i < 40; i++) {
			snprintf(path, sizeof(path), "%s/cycle-%d-%d", dir, k,
				 i);
			st[k][min_int(as_nobody(recipe[k], path), 3)]++;
		}
	for (k = 0; k < 2; k++)
		diag("%s cycle recipe x40 as uid 65534: %d accepted, %d "
		     "refused EOPNOTSUPP, %d other", name[k], st[k][0],
		     st[k][1], st[k][2] + st[k][3]);
	end = now_s() + 5;
	while ((left = proc_networks_of_test()) > 0 && now_s() < end)
		poll(NULL, 0, 20);
	tap(st[0][1] == 40, "an AF_UNIX socket is refused with EOPNOTSUPP");
	tap(st[1][1] == 40, "an io_uring instance is refused with EOPNOTSUPP");
	tap(left == 0, "no network of the cycle recipes is left in "
	    "/proc/net/ipn (%d lines)", left);
	tap(module_refcnt() == ref0, "the module's refcount is back to %d "
	    "(%d)", ref0, module_refcnt());
}

/* Android binder's device, loading Debian's binder_linux module first. */
static int open_binder(void)
{
	pid_t p = fork();
	int st;

	if (p == 0) {
		execlp("modprobe", "modprobe", "-q", "binder_linux",
		       (char *)NULL);
		_exit(127);
	}
	waitpid(p, &st, 0);
	return open("/dev/binder", O_RDWR | O_CLOEXEC);
}

/* Which files pass: everything that cannot itself hold files in flight. */
static void test_file_kinds(void)
{
	int a = ipn_open(netpath("kinds"), 1);
	int b = ipn_open(netpath("kinds"), 0);
	int other = ipn_open(netpath("kinds"), 0);
	unsigned long long bid = ipn_id(b);
	int p[2], sv[2], mfd, efd, udp, ring, binder, fds[4];
	char cbuf[CMSG_SPACE(8 * sizeof(int))], data[8], got[8];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	if (a < 0 || b < 0 || other < 0 || pipe(p) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		tap(0, "kinds setup: %s", strerror(errno));
		return;
	}
	mfd = memfd_create("ipn-fds", MFD_CLOEXEC);
	efd = eventfd(0, EFD_CLOEXEC);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	ring = io_uring_fd();
	if (write(mfd, "memfd", 5) != 5)
		tap(0, "memfd write");
	fds[0] = p[1];
	fds[1] = mfd;
	fds[2] = efd;
	fds[3] = udp;
	tap(send_many(a, bid, fds, 4) == 3,
	    "a pipe, a memfd, an eventfd and a UDP socket pass together");
	n = recvmsg(b, &h, MSG_DONTWAIT);
	c = CMSG_FIRSTHDR(&h);
	tap(n == 3 && c && c->cmsg_len == CMSG_LEN(4 * sizeof(int)),
	    "all four arrive");
	if (n == 3 && c && c->cmsg_len == CMSG_LEN(4 * sizeof(int))) {
		int *r = (int *)CMSG_DATA(c);

		tap(write(r[0], "pipe", 4) == 4 && read(p[0], got, 4) == 4 &&
		    !memcmp(got, "pipe", 4), "the pipe works");
		tap(pread(r[1], got, 5, 0) == 5 && !memcmp(got, "memfd", 5),
		    "the memfd holds its data");
		close_received(&h);
	}
	errno = 0;
	tap(send_many(a, bid, &sv[0], 1) < 0 && errno == EOPNOTSUPP,
	    "an AF_UNIX socket -> EOPNOTSUPP");
	errno = 0;
	tap(ring >= 0 && send_many(a, bid, &ring, 1) < 0 &&
	    errno == EOPNOTSUPP, "an io_uring instance -> EOPNOTSUPP");
	errno = 0;
	tap(send_many(a, bid, &other, 1) < 0 && errno == EOPNOTSUPP,
	    "an AF_IPN socket -> EOPNOTSUPP");
	binder = open_binder();
	if (binder < 0 && errno == ENOENT && access("/sys/module/binder_linux",
						    F_OK) < 0) {
		/* No binder in this kernel at all (the debug kernel): no file
		 * of that kind can be made, so there is nothing to refuse. */
		tap_skip("/dev/binder (binder_linux) -> EOPNOTSUPP",
			 "this kernel has no binder");
	} else {
		errno = 0;
		tap(binder >= 0 && send_many(a, bid, &binder, 1) < 0 &&
		    errno == EOPNOTSUPP,
		    "/dev/binder (binder_linux) -> EOPNOTSUPP");
	}
	if (binder >= 0)
		close(binder);
	fds[0] = p[1];
	fds[1] = sv[0];
	errno = 0;
	tap(send_many(a, bid, fds, 2) < 0 && errno == EOPNOTSUPP,
	    "a pipe with an AF_UNIX socket -> EOPNOTSUPP, nothing sent");
	tap(recv(b, got, sizeof(got), MSG_DONTWAIT) < 0 && errno == EAGAIN,
	    "nothing was delivered by the refused sends");
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	close(mfd);
	close(efd);
	close(udp);
	close(ring);
	close(a);
	close(b);
	close(other);
	unlink(netpath("kinds"));
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
	tests_begin("ipn-fds", 600, 01777);
	test_fds();
	test_peek_read_race();
	test_install_fault();
	test_short_buffer();
	test_compat_receiver();
	test_inflight_limit();
	test_file_kinds();
	test_cycles();
	return tests_end();
}
