// SPDX-License-Identifier: GPL-2.0
/*
 * fanout-case.c - one case of the kernel fan-out bench (see fanout.c): the
 * receiver processes (and the relay's), the sender's burst, counted in
 * context switches, syscalls and an instruction-counting window, then the
 * latency messages one at a time; a watchdog for a case that stalls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/ipn.h>
#include "insn-mark.h"
#include "../c/bench-clock.h"
#include "fanout.h"
#include "ipn_family.h"

const char *const mode_name[M_COUNT] = { "ipn", "unix", "relay" };

#define BATCH		64

struct msg {
	int64_t ts;
	uint32_t seq;
	char pad[MSG_BYTES - 12];
};

struct shared {
	int receivers;	/* count_up() wakes the sender once per round */
	volatile int ready;
	volatile int burst_done;
	volatile int lat_got;
	volatile int64_t done_ns[MAXR];
	/* over the burst, per process: receivers, then the relay */
	volatile long csw[MAXR + 1];
	volatile long calls[MAXR + 1];
	int64_t lat[MAXR][LAT_MSGS];
};

static struct shared *sh;
/* syscalls this process made through xsend/xrecv/recvmmsg */
static long ncalls;

/* What is running, for the watchdog. */
static pid_t kids[MAXR + 1];
static int nkids;
static const char *cur_mode = "";
static int cur_n;

/* Counting windows this process has closed (the plugin numbers alike). */
static int insn_windows;

/* Context switches of this process so far, voluntary and involuntary. */
static long ctx_switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/*
 * The sender sleeps on a futex until a counter of the shared page reaches
 * @target; count_up() wakes it.  (Polling with usleep() would execute
 * instructions in proportion to the wall time of the wait, and so make
 * the burst's instruction count depend on the host's load.)
 */
static void wait_for(volatile int *v, int target)
{
	int cur;

	while ((cur = __atomic_load_n(v, __ATOMIC_SEQ_CST)) < target)
		syscall(SYS_futex, v, FUTEX_WAIT, cur, NULL, NULL, 0);
}

/* One more receiver is there; the last of a round wakes the sender. */
static void count_up(volatile int *v)
{
	if (__atomic_add_fetch(v, 1, __ATOMIC_SEQ_CST) % sh->receivers == 0)
		syscall(SYS_futex, v, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void die(const char *what)
{
	perror(what);
	exit(2);
}

static void xsend(int fd, const struct msg *m)
{
	while (ncalls++, send(fd, m, sizeof(*m), 0) != sizeof(*m))
		if (errno != EINTR)
			die("send");
}

static void xrecv(int fd, struct msg *m)
{
	ssize_t n;

	do
		n = (ncalls++, recv(fd, m, sizeof(*m), 0));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*m))
		die("recv");
}

/*
 * A receiver: the burst, then the latency messages one at a time.  The
 * burst is read in batches (recvmmsg, same code for every mode) so that the
 * receivers cost little and the fan-out itself is what is measured.
 */
static void receiver(int idx, int fd, long burst)
{
	static struct msg batch[BATCH];
	struct mmsghdr hdrs[BATCH];
	struct iovec iov[BATCH];
	struct msg m;
	long i = 0, csw0;
	int k, n;

	for (k = 0; k < BATCH; k++) {
		iov[k] = (struct iovec){ &batch[k], sizeof(batch[k]) };
		memset(&hdrs[k], 0, sizeof(hdrs[k]));
		hdrs[k].msg_hdr.msg_iov = &iov[k];
		hdrs[k].msg_hdr.msg_iovlen = 1;
	}
	ncalls = 0;
	csw0 = ctx_switches();
	count_up(&sh->ready);
	while (i < burst) {
		k = burst - i < BATCH ? (int)(burst - i) : BATCH;
		ncalls++;
		n = recvmmsg(fd, hdrs, k, MSG_WAITFORONE, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("recvmmsg");
		i += n;
	}
	sh->done_ns[idx] = now_ns();
	sh->csw[idx] = ctx_switches() - csw0;
	sh->calls[idx] = ncalls;
	count_up(&sh->burst_done);
	for (i = 0; i < LAT_MSGS; i++) {
		xrecv(fd, &m);
		sh->lat[idx][i] = now_ns() - m.ts;
		count_up(&sh->lat_got);
	}
	exit(0);
}

/* The broker: one message in, one copy out to every receiver. */
static void relay(int in, const int *out, int n, long burst, long total)
{
	long i, csw0 = ctx_switches();
	struct msg m;
	int r;

	ncalls = 0;
	for (i = 0; i < total; i++) {
		if (i == burst) {
			sh->csw[MAXR] = ctx_switches() - csw0;
			sh->calls[MAXR] = ncalls;
		}
		xrecv(in, &m);
		for (r = 0; r < n; r++)
			xsend(out[r], &m);
	}
	exit(0);
}

/* A case that stalls is a bug: say which, stop its processes, fail. */
static void on_alarm(int sig __attribute__((unused)))
{
	int i;

	fprintf(stderr, "fanout: %s to %d receivers stalled (ready %d, burst %d, latency %d)\n",
		cur_mode, cur_n, sh->ready, sh->burst_done, sh->lat_got);
	for (i = 0; i < nkids; i++)
		kill(kids[i], SIGKILL);
	_exit(3);
}

/* One message to every receiver, the way @mode does it. */
static void fan_out(enum mode mode, int ipn, int relay_in, const int *out,
		    int n, const struct msg *m)
{
	int r;

	if (mode == M_IPN)
		xsend(ipn, m);
	else if (mode == M_RELAY)
		xsend(relay_in, m);
	else
		for (r = 0; r < n; r++)
			xsend(out[r], m);
}

struct result fanout_run(enum mode mode, int n, long burst)
{
	int out[MAXR], sv[2], relay_in = -1, ipn = -1, r, i;
	pid_t pids[MAXR + 1];
	int npids = 0;
	struct result res = { mode, n, burst, 0, 0, 0, 0, 0, 0 };
	char path[64];
	struct msg m;
	int64_t t0, t1;
	long long *all;
	long k, csw, calls;

	memset(sh, 0, sizeof(*sh));
	sh->receivers = n;
	memset(&m, 0, sizeof(m));
	cur_mode = mode_name[mode];
	cur_n = n;
	nkids = 0;
	alarm(90);
	snprintf(path, sizeof(path), "/tmp/fanout.%d", getpid());
	if (mode == M_IPN) {
		struct sockaddr_ipn a = { .sipn_family = ipn_af() };
		int lossless = IPN_FLAG_LOSSLESS;

		strcpy(a.sipn_path, path);
		unlink(path);
		ipn = socket(a.sipn_family, SOCK_RAW, IPN_BROADCAST);
		if (ipn < 0 ||
		    setsockopt(ipn, SOL_IPN, IPN_SO_FLAGS, &lossless, sizeof(int)) ||
		    bind(ipn, (struct sockaddr *)&a, sizeof(a)))
			die("AF_IPN network");
		for (r = 0; r < n; r++) {
			pids[npids++] = kids[nkids++] = fork();
			if (pids[npids - 1] == 0) {
				int fd = socket(a.sipn_family, SOCK_RAW, IPN_BROADCAST);

				close(ipn);
				if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
					die("AF_IPN connect");
				receiver(r, fd, burst);
			}
		}
	} else {
		for (r = 0; r < n; r++) {
			if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
				die("socketpair");
			pids[npids++] = kids[nkids++] = fork();
			if (pids[npids - 1] == 0) {
				for (i = 0; i < r; i++)
					close(out[i]);
				close(sv[0]);
				receiver(r, sv[1], burst);
			}
			close(sv[1]);
			out[r] = sv[0];
		}
		if (mode == M_RELAY) {
			if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
				die("socketpair");
			pids[npids++] = kids[nkids++] = fork();
			if (pids[npids - 1] == 0) {
				close(sv[0]);
				relay(sv[1], out, n, burst, burst + LAT_MSGS);
			}
			close(sv[1]);
			relay_in = sv[0];
			for (r = 0; r < n; r++)
				close(out[r]);
		}
	}
	wait_for(&sh->ready, n);

	ncalls = 0;
	csw = ctx_switches();
	insn_mark_start();
	t0 = now_ns();
	for (k = 0; k < burst; k++) {
		m.seq = k;
		m.ts = now_ns();
		fan_out(mode, ipn, relay_in, out, n, &m);
	}
	csw = ctx_switches() - csw;
	calls = ncalls;
	wait_for(&sh->burst_done, n);
	insn_mark_stop();
	res.insn_window = insn_windows++;
	t1 = t0;
	for (r = 0; r < n; r++)
		if (sh->done_ns[r] > t1)
			t1 = sh->done_ns[r];
	res.deliveries_per_s = (double)n * burst / ((t1 - t0) / 1e9);
	for (r = 0; r <= MAXR; r++) {
		csw += sh->csw[r];
		calls += sh->calls[r];
	}
	res.csw_per_delivery = (double)csw / ((double)n * burst);
	res.syscalls_per_delivery = (double)calls / ((double)n * burst);

	for (k = 0; k < LAT_MSGS; k++) {
		m.seq = burst + k;
		m.ts = now_ns();
		fan_out(mode, ipn, relay_in, out, n, &m);
		wait_for(&sh->lat_got, (int)(k + 1) * n);
	}
	for (i = 0; i < npids; i++)
		waitpid(pids[i], NULL, 0);
	alarm(0);
	if (mode == M_IPN) {
		close(ipn);
		unlink(path);
	} else if (mode == M_RELAY) {
		close(relay_in);
	} else {
		for (r = 0; r < n; r++)
			close(out[r]);
	}

	all = malloc(sizeof(*all) * n * LAT_MSGS);
	for (r = 0; r < n; r++)
		memcpy(all + (size_t)r * LAT_MSGS, sh->lat[r], sizeof(sh->lat[r]));
	qsort(all, (size_t)n * LAT_MSGS, sizeof(*all), cmp_ll);
	res.p50_us = all[(size_t)n * LAT_MSGS / 2] / 1e3;
	res.p99_us = all[(size_t)n * LAT_MSGS * 99 / 100] / 1e3;
	free(all);
	return res;
}

void fanout_init(void)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
}
