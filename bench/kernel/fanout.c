// SPDX-License-Identifier: GPL-2.0
/*
 * fanout.c - kernel benchmark: one sender, N receiver processes, 64-byte
 * messages, three ways of reaching every receiver:
 *   ipn    one AF_IPN broadcast (lossless network)
 *   unix   one AF_UNIX SOCK_SEQPACKET send per receiver
 *   relay  a broker process that receives each message and re-sends it to
 *          every receiver over SOCK_SEQPACKET (the dbus-daemon shape)
 * Throughput: a burst of messages, deliveries per second until the last
 * receiver has them all.  Latency: one message in flight at a time,
 * send -> receive with a CLOCK_MONOTONIC timestamp in the payload, p50/p99
 * over every delivery.  Each case runs IPNBUS_FANOUT_REPEAT times (default 3);
 * the run with the median throughput is reported.  Next to each burst's
 * throughput: context switches per delivery (getrusage() voluntary +
 * involuntary, of every process of the case, sender, relay and receivers,
 * over the burst) and syscalls per delivery (the send/recv/recvmmsg calls
 * the bench makes for the burst).  Each burst is also an instruction-counting
 * window (insn-mark.h): in a VM run with the insn-count qemu plugin, the
 * plugin's count for window "insn_windows"[i] divided by "deliveries" is
 * the guest's instructions per delivery, user and kernel, every process of
 * the case (scripts/bench-kernel.sh does that).  Writes the results as JSON
 * to argv[1].
 *
 * Usage: fanout OUT.json [receivers...]   (default 1 4 16 64)
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
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/ipn.h>
#include "insn-mark.h"
#include "../c/bench-clock.h"

#define MSG_BYTES	64
#define MAXR		64
#define LAT_MSGS	200
#define BATCH		64
#define REPEAT_MAX	9

enum mode { M_IPN, M_UNIX, M_RELAY, M_COUNT };
static const char *const mode_name[M_COUNT] = { "ipn", "unix", "relay" };

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

struct result {
	enum mode mode;
	int receivers;
	long messages;
	double deliveries_per_s;
	double p50_us, p99_us;
	double csw_per_delivery, syscalls_per_delivery;
	int insn_window;	/* the burst's counting window, in mark order */
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

static int ipn_family(void)
{
	FILE *f = fopen(IPN_FAMILY_SYSFS, "r");
	int af = IPN_FAMILY_DEFAULT;

	if (f) {
		if (fscanf(f, "%d", &af) != 1)
			af = IPN_FAMILY_DEFAULT;
		fclose(f);
	}
	return af;
}

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

static void die(const char *what)
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

static struct result run(enum mode mode, int n, long burst)
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
		struct sockaddr_ipn a = { .sipn_family = ipn_family() };
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

int main(int argc, char **argv)
{
	int counts[8] = { 1, 4, 16, 64 }, ncounts = 4, c, i;
	struct result res[8 * M_COUNT];
	int windows[8 * M_COUNT][REPEAT_MAX];
	const char *rep_env = getenv("IPNBUS_FANOUT_REPEAT");
	int nres = 0, repeat = rep_env ? atoi(rep_env) : 3;
	struct utsname u;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: fanout OUT.json [receivers...]\n");
		return 2;
	}
	if (argc > 2) {
		ncounts = 0;
		for (i = 2; i < argc && ncounts < 8; i++) {
			c = atoi(argv[i]);
			if (c < 1 || c > MAXR) {
				fprintf(stderr, "receivers must be 1..%d\n", MAXR);
				return 2;
			}
			counts[ncounts++] = c;
		}
	}
	if (repeat < 1 || repeat > REPEAT_MAX) {
		fprintf(stderr, "IPNBUS_FANOUT_REPEAT must be 1..%d\n", REPEAT_MAX);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	printf("%-6s %9s %9s %16s %10s %10s %9s %9s\n", "mode", "receivers",
	       "messages", "deliveries/s", "p50 us", "p99 us", "csw/dlv",
	       "calls/dlv");
	for (c = 0; c < ncounts; c++) {
		/* about 30k deliveries per case, at least 500 messages */
		long burst = 30000 / counts[c];

		if (burst < 500)
			burst = 500;
		for (i = 0; i < M_COUNT; i++) {
			struct result *r = &res[nres++], rep[REPEAT_MAX], t;
			int a, b;

			/* the run with the median throughput, against noise */
			for (a = 0; a < repeat; a++) {
				rep[a] = run((enum mode)i, counts[c], burst);
				windows[nres - 1][a] = rep[a].insn_window;
			}
			for (a = 0; a < repeat; a++)
				for (b = a + 1; b < repeat; b++)
					if (rep[b].deliveries_per_s <
					    rep[a].deliveries_per_s) {
						t = rep[a];
						rep[a] = rep[b];
						rep[b] = t;
					}
			*r = rep[repeat / 2];
			printf("%-6s %9d %9ld %16.0f %10.1f %10.1f %9.3f %9.3f\n",
			       mode_name[i], r->receivers, r->messages,
			       r->deliveries_per_s, r->p50_us, r->p99_us,
			       r->csw_per_delivery, r->syscalls_per_delivery);
			fflush(stdout);
		}
	}
	f = fopen(argv[1], "w");
	if (!f)
		die(argv[1]);
	uname(&u);
	fprintf(f, "{\n  \"kernel\": \"%s\",\n  \"msg_bytes\": %d,\n"
		"  \"latency_msgs\": %d,\n  \"repeat\": %d,\n  \"results\": [\n",
		u.release, MSG_BYTES, LAT_MSGS, repeat);
	for (i = 0; i < nres; i++) {
		fprintf(f, "    {\"mode\": \"%s\", \"receivers\": %d, \"messages\": %ld, "
			"\"deliveries_per_s\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
			"\"csw_per_delivery\": %.3f, \"syscalls_per_delivery\": %.3f, "
			"\"deliveries\": %ld, \"insn_windows\": [",
			mode_name[res[i].mode], res[i].receivers, res[i].messages,
			res[i].deliveries_per_s, res[i].p50_us, res[i].p99_us,
			res[i].csw_per_delivery, res[i].syscalls_per_delivery,
			res[i].messages * res[i].receivers);
		for (c = 0; c < repeat; c++)
			fprintf(f, "%s%d", c ? ", " : "", windows[i][c]);
		fprintf(f, "]}%s\n", i + 1 < nres ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	fclose(f);
	return 0;
}
