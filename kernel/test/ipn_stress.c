// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_stress.c - AF_IPN stress test, run in the test VM: many member
 * processes broadcasting at once while others join and leave (one is
 * SIGKILLed), in a lossless and then a lossy network.  Checks exact counts
 * (lossless: everything arrives; lossy: received + dropped = sent), sender
 * ids, unique member ids, and one total order: any two members order the
 * messages they both got the same way.
 *
 * Usage: ipn_stress [stable-members [messages-each [churn-members]]]
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ipn_tap.h"

#define MAXSTABLE	64
#define MAXVIEWS	512
#define MAXMSGS		(MAXSTABLE * 1000)

struct payload {
	uint32_t idx;		/* sender's index among the stable members */
	uint32_t seq;
	uint64_t id;		/* sender's member id, must match msg_name */
	char pad[48];
};

/* One member's life: its id and the messages it saw, in order. */
struct view {
	uint64_t id;
	int count;
	int complete;		/* a stable member's full life */
	uint32_t *keys;		/* idx * nmsgs + seq, in the shared key area */
};

struct shared {
	volatile int joined, go, done, stop, bad;
	volatile int nviews;
	volatile uint64_t ids[MAXSTABLE];
	struct view views[MAXVIEWS];
};

static struct shared *sh;
static int nstable = 24, nmsgs = 400, nchurn = 8;
static char path[128];

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static struct view *new_view(void)
{
	int v = __atomic_fetch_add(&sh->nviews, 1, __ATOMIC_SEQ_CST);

	return v < MAXVIEWS ? &sh->views[v] : NULL;
}

/* Read everything queued; check the sender's identity.  -1 on a bad message. */
static int drain(int fd, struct view *v)
{
	struct sockaddr_ipn_member from;
	socklen_t flen;
	struct payload p;
	ssize_t n;

	for (;;) {
		flen = sizeof(from);
		n = recvfrom(fd, &p, sizeof(p), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &flen);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)
			continue;	/* not expected: no events asked */
		if (n != sizeof(p) || p.idx >= (unsigned)nstable ||
		    p.seq >= (unsigned)nmsgs || from.sipnm_id != p.id ||
		    p.id != sh->ids[p.idx])
			return -1;
		if (v && v->count < nstable * nmsgs)
			v->keys[v->count++] = p.idx * nmsgs + p.seq;
	}
}

static int stable_member(int idx, int lossy)
{
	struct view *v = new_view();
	int fd = ipn_open(path, 0), sent = 0, rcv = 8192;
	unsigned long long drops = 0;
	socklen_t len = sizeof(drops);
	long expected = (long)(nstable - 1) * nmsgs;
	double deadline;
	struct payload p;

	if (fd < 0 || !v)
		return 2;
	if (lossy && idx % 2)	/* half the members have tiny queues */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	v->id = ipn_id(fd);
	sh->ids[idx] = v->id;
	__atomic_fetch_add(&sh->joined, 1, __ATOMIC_SEQ_CST);
	while (!sh->go)
		usleep(1000);
	memset(&p, 0, sizeof(p));
	p.idx = idx;
	p.id = v->id;
	deadline = now() + 240;
	for (;;) {
		struct pollfd pf = { fd, POLLIN | (sent < nmsgs ? POLLOUT : 0), 0 };

		if (now() > deadline)
			return 3;
		if (poll(&pf, 1, 1000) < 0)
			return 4;
		if ((pf.revents & POLLIN) && drain(fd, v) < 0)
			return 5;
		if ((pf.revents & POLLOUT) && sent < nmsgs) {
			p.seq = sent;
			if (send(fd, &p, sizeof(p), MSG_DONTWAIT) == sizeof(p))
				sent++;
			else if (errno != EAGAIN)
				return 6;
		}
		getsockopt(fd, SOL_IPN, IPN_SO_DROPS, &drops, &len);
		if (!lossy && drops)
			return 7;
		if (sent == nmsgs && v->count + (long)drops == expected)
			break;
		if (v->count + (long)drops > expected)
			return 8;
	}
	v->complete = 1;
	__atomic_fetch_add(&sh->done, 1, __ATOMIC_SEQ_CST);
	while (!sh->stop)
		usleep(2000);
	close(fd);
	return 0;
}

/* Join, read for a few ms, leave; again and again until told to stop. */
static int churn_member(unsigned int seed)
{
	while (!sh->stop) {
		struct view *v;
		double until;
		int fd;

		fd = ipn_open(path, 0);
		if (fd < 0)	/* the network ends once the stable members left */
			return sh->stop ? 0 : 2;
		v = new_view();
		if (!v) {
			close(fd);
			break;
		}
		v->id = ipn_id(fd);
		until = now() + (rand_r(&seed) % 40 + 5) / 1000.0;
		while (now() < until && !sh->stop) {
			struct pollfd pf = { fd, POLLIN, 0 };

			poll(&pf, 1, 5);
			if (drain(fd, v) < 0) {
				close(fd);
				return 5;
			}
		}
		close(fd);
		usleep(rand_r(&seed) % 5000);
	}
	return 0;
}

/* All views pairwise: the messages two members both saw, in the same order. */
static int check_order(int nviews, int *bad_a, int *bad_b)
{
	int total = nstable * nmsgs, a, b, i, last;
	int *pos = malloc(sizeof(int) * total);

	for (b = 0; b < nviews; b++) {
		struct view *vb = &sh->views[b];

		for (i = 0; i < total; i++)
			pos[i] = -1;
		for (i = 0; i < vb->count; i++)
			pos[vb->keys[i]] = i;
		for (a = 0; a < nviews; a++) {
			struct view *va = &sh->views[a];

			if (a == b)
				continue;
			last = -1;
			for (i = 0; i < va->count; i++) {
				int p = pos[va->keys[i]];

				if (p < 0)
					continue;
				if (p <= last) {
					*bad_a = a;
					*bad_b = b;
					free(pos);
					return 0;
				}
				last = p;
			}
		}
	}
	free(pos);
	return 1;
}

static int no_duplicates(int nviews)
{
	int total = nstable * nmsgs, v, i, ok = 1;
	char *seen = malloc(total);

	for (v = 0; v < nviews && ok; v++) {
		memset(seen, 0, total);
		for (i = 0; i < sh->views[v].count; i++) {
			if (seen[sh->views[v].keys[i]]++)
				ok = 0;
		}
	}
	free(seen);
	return ok;
}

static int ids_unique(int nviews)
{
	int a, b;

	/* id 0: a view whose process was SIGKILLed before it noted its id */
	for (a = 0; a < nviews; a++)
		for (b = a + 1; b < nviews; b++)
			if (sh->views[a].id && sh->views[a].id == sh->views[b].id)
				return 0;
	return 1;
}

static void run(int lossy)
{
	const char *mode = lossy ? "lossy" : "lossless";
	pid_t stable[MAXSTABLE], churn[64];
	int creator, i, st, ok = 1, nviews, bad_a = -1, bad_b = -1;
	int complete = 0;
	double t0;
	long deliveries = 0;

	{
		size_t total = (size_t)nstable * nmsgs * sizeof(uint32_t);
		uint32_t *keys;

		/* fresh zeroed shared pages for each run */
		if (sh)
			munmap(sh, sizeof(*sh) + MAXVIEWS * total);
		sh = mmap(NULL, sizeof(*sh) + MAXVIEWS * total,
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (sh == MAP_FAILED) {
			tap(0, "%s: mmap", mode);
			sh = NULL;
			return;
		}
		keys = (uint32_t *)(sh + 1);
		for (i = 0; i < MAXVIEWS; i++)
			sh->views[i].keys = keys + (size_t)i * nstable * nmsgs;
	}
	snprintf(path, sizeof(path), "/tmp/ipn-stress-%s.%d", mode, getpid());
	creator = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);
	if (!lossy)
		ipn_setint(creator, IPN_SO_FLAGS, IPN_FLAG_LOSSLESS);
	{
		struct sockaddr_ipn a;
		socklen_t len = ipn_addr(&a, path);

		tap(bind(creator, (struct sockaddr *)&a, len) == 0,
		    "%s: network created", mode);
	}
	for (i = 0; i < nstable; i++) {
		stable[i] = fork();
		if (stable[i] == 0) {
			close(creator);
			_exit(stable_member(i, lossy));
		}
	}
	t0 = now();
	while (sh->joined < nstable && now() - t0 < 60)
		usleep(1000);
	if (sh->joined < nstable) {
		tap(0, "%s: only %d of %d members joined", mode, sh->joined, nstable);
		sh->stop = 1;
		for (i = 0; i < nstable; i++)
			kill(stable[i], SIGKILL);
		while (wait(NULL) > 0)
			;
		close(creator);
		unlink(path);
		return;
	}
	/* The creator leaves; the network lives on with its members. */
	close(creator);
	for (i = 0; i < nchurn; i++) {
		churn[i] = fork();
		if (churn[i] == 0)
			_exit(churn_member(1234 + i));
	}
	t0 = now();
	sh->go = 1;
	usleep(20000);
	kill(churn[0], SIGKILL);	/* a member dies mid-stream */
	for (i = 0; i < nstable; i++) {
		waitpid(stable[i], &st, WNOHANG);
	}
	while (sh->done < nstable && now() - t0 < 250) {
		usleep(5000);
		/* a stable member failing early would stall us: look */
		for (i = 0; i < nstable; i++)
			if (stable[i] > 0 && waitpid(stable[i], &st, WNOHANG) == stable[i]) {
				if (!WIFEXITED(st) || WEXITSTATUS(st)) {
					diag("%s: stable member %d failed (status %d)",
					     mode, i, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
					ok = 0;
				}
				stable[i] = -1;
			}
		if (!ok)
			break;
	}
	diag("%s: %d members x %d messages in %.2f s", mode, nstable, nmsgs, now() - t0);
	sh->stop = 1;
	for (i = 0; i < nstable; i++) {
		if (stable[i] <= 0)
			continue;
		waitpid(stable[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			diag("%s: stable member %d status %d", mode, i,
			     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			ok = 0;
		}
	}
	for (i = 0; i < nchurn; i++) {
		waitpid(churn[i], &st, 0);
		if (i > 0 && (!WIFEXITED(st) || WEXITSTATUS(st))) {
			diag("%s: churn member %d status %d", mode, i,
			     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			ok = 0;
		}
	}
	nviews = sh->nviews < MAXVIEWS ? sh->nviews : MAXVIEWS;
	for (i = 0; i < nviews; i++) {
		complete += sh->views[i].complete;
		deliveries += sh->views[i].count;
	}
	tap(ok && complete == nstable,
	    "%s: all %d members got every message (%s), ids matched msg_name",
	    mode, nstable, lossy ? "received + dropped = sent" : "no drops");
	tap(nviews > nstable + nchurn, "%s: %d member lives (%d joins/leaves by churn)",
	    mode, nviews, nviews - nstable);
	tap(ids_unique(nviews), "%s: member ids unique over %d joins", mode, nviews);
	tap(no_duplicates(nviews), "%s: no message delivered twice to a member", mode);
	tap(check_order(nviews, &bad_a, &bad_b),
	    "%s: one total order: %d views, %ld deliveries agree pairwise%s", mode,
	    nviews, deliveries, bad_a >= 0 ? " (MISMATCH)" : "");
	{
		FILE *f = fopen("/proc/net/ipn", "r");
		char line[512];
		int left = 0;

		while (f && fgets(line, sizeof(line), f))
			left += strstr(line, path) != NULL;
		if (f)
			fclose(f);
		tap(left == 0, "%s: no member left in /proc/net/ipn", mode);
	}
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		nstable = atoi(argv[1]);
	if (argc > 2)
		nmsgs = atoi(argv[2]);
	if (argc > 3)
		nchurn = atoi(argv[3]);
	if (nstable < 2 || nstable > MAXSTABLE || nmsgs < 1 ||
	    (long)nstable * nmsgs > MAXMSGS || nchurn < 1 || nchurn > 64) {
		fprintf(stderr, "usage: ipn_stress [2..%d members [messages [1..64 churn]]]\n",
			MAXSTABLE);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	diag("AF_IPN family %d: %d members, %d messages each, %d churning",
	     ipn_af(), nstable, nmsgs, nchurn);
	run(0);
	run(1);
	return tap_done();
}
