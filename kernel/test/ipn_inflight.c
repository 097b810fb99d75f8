// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_inflight.c - tests of the files in flight over AF_IPN, run in the
 * test VM as root (parts as uid 65534): which files may travel (none that
 * can itself hold files in flight, so no unreclaimable cycle can form),
 * the per-user RLIMIT_NOFILE charge of files in flight, and cycles an
 * unprivileged user tries to make: afterwards no network may be left and
 * the module must be free to unload.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
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
	while ((left = proc_lines(dir, NULL)) > 0 && now_s() < end)
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

int main(int argc, char **argv)
{
	tests_begin("ipn-inflight", 600, 01777);
	test_inflight_limit();
	test_file_kinds();
	test_cycles();
	return tests_end();
}
