// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_delivery.c - functional tests of AF_IPN, run in the test VM as
 * root: what happens when a receiver is full (lossy networks drop and
 * count, lossless ones make the sender wait, poll withholds POLLOUT) and
 * socket filters (classic and eBPF), also on a full lossless receiver.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "ipn_tap.h"
#include "ipn_test_util.h"

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

int main(int argc, char **argv)
{
	tests_begin("ipn-delivery", 300, 0755);
	test_lossy();
	test_lossless();
	test_filters();
	return tests_end();
}
