// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_fuzz.c - bounded random syscall fuzzer for AF_IPN, run in the test
 * VM with ipn.ko loaded.
 *
 * Worker processes (some of them as uid 65534) each run a few threads
 * that share one table of file descriptors and call, at random: socket,
 * bind, connect, setsockopt/getsockopt (any level-IPN option number, odd
 * lengths), sendmsg/recvmsg with random flags, sizes, addresses and
 * control messages (SCM_RIGHTS carrying pipes, AF_UNIX sockets, /proc
 * files, IPN sockets, bad fds), close/dup2 races, poll, ioctl, getsockname,
 * AF_UNIX fd passing (so IPN sockets end up in flight), reads of
 * /proc/net/ipn and forks.  The parent keeps a pool of workers going,
 * SIGKILLs them at random moments and at the end of their life.
 *
 * The kernel's own complaints (oops, KFENCE, WARNING, ...) are caught by
 * the VM harness's dmesg scan.  This program fails (exit 1) on:
 *   - a hung process: a worker that does not die within --hang-secs of
 *     SIGKILL (its kernel stack is printed);
 *   - a broken invariant: recvmsg returning more than the buffer without
 *     MSG_TRUNC, a control length beyond the buffer, an SCM_RIGHTS fd that
 *     is not open, sendmsg returning a partial datagram.
 *
 * Seeded and replayable: the seed is printed first; --seed N draws the
 * same worker seeds, lifetimes and operation sequences (the interleaving
 * of threads and kills is the scheduler's).  --worker-seed N runs one
 * worker of that seed in the foreground.
 *
 * Usage: ipn_fuzz [--seconds N | --minutes N] [--seed N] [--workers N]
 *                 [--threads N] [--hang-secs N] [--worker-seed N]
 * Ends with "P passed, F failed" like the other C tests.
 */
#include "ipn_fuzz.h"

struct stats *st;
char dir[64];
static double opt_secs = 120;
static int opt_workers = 4, opt_threads = 3, opt_hang = 30;

struct worker {
	pid_t pid;
	uint64_t seed;
	double die_at;		/* SIGKILL at this time */
	double killed_at;	/* 0 until SIGKILLed */
};

struct tctx {
	struct wctx *w;
	uint64_t seed;
};

static void *worker_thread(void *arg)
{
	struct tctx *t = arg;
	char *buf = malloc(BIGMSG);
	uint64_t s = t->seed;
	int i;

	if (!buf)
		return NULL;
	memset(buf, 0x5a, BIGMSG);
	while (now() < t->w->until)
		for (i = 0; i < 32; i++)
			one_op(t->w, &s, buf);
	free(buf);
	return NULL;
}

/* One worker process: threads hammering one fd table until its end. */
static int run_worker(uint64_t seed, double life)
{
	pthread_t th[MAXTHREADS];
	struct tctx tc[MAXTHREADS];
	struct wctx w = { .seed = seed };
	uint64_t s = seed;
	int i, n;

	for (i = 0; i < NSLOTS; i++)
		w.slots[i] = -1;
	/* a third of the workers are somebody else */
	if (!rn(&s, 3) &&
	    (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
		return 1;
	alarm((unsigned int)life + 60);	/* in case the parent is gone */
	for (i = 0; i < 3; i++)
		op_member(&w, &s);
	w.until = now() + life;
	n = 1 + rn(&s, opt_threads);
	for (i = 0; i < n; i++) {
		tc[i].w = &w;
		tc[i].seed = rnd(&s);
		if (pthread_create(&th[i], NULL, worker_thread, &tc[i]))
			return 1;
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return 0;
}

static pid_t spawn(struct worker *wk, uint64_t *ms)
{
	double life = 0.3 + rn(ms, 3000) / 1000.0;

	wk->seed = rnd(ms);
	/* half of them are killed in mid-flight */
	wk->die_at = now() + (rn(ms, 2) ? life + 5 : rn(ms, 1000) * life /
			      1000.0);
	wk->killed_at = 0;
	fflush(stdout);
	wk->pid = fork();
	if (wk->pid == 0)
		_exit(run_worker(wk->seed, life));
	if (wk->pid > 0)
		count(&st->workers);
	return wk->pid;
}

static void dump_stack(pid_t pid)
{
	char p[64], line[256];
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/task", pid);
	diag("hung worker %d; its tasks' kernel stacks:", pid);
	snprintf(line, sizeof(line),
		 "for t in %s/*; do echo \"# task $t: $(cut -d' ' -f3 $t/stat) "
		 "wchan $(cat $t/wchan)\"; sed 's/^/#   /' $t/stack; done", p);
	f = popen(line, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	pclose(f);
}

/* Reap what died; kill what is due; 1 when a killed worker hangs. */
static int tend(struct worker *wk, int n)
{
	int i, status, hung = 0;
	double t = now();

	for (i = 0; i < n; i++) {
		if (wk[i].pid <= 0)
			continue;
		if (waitpid(wk[i].pid, &status, WNOHANG) == wk[i].pid) {
			wk[i].pid = 0;
			continue;
		}
		if (!wk[i].killed_at && t >= wk[i].die_at) {
			kill(wk[i].pid, SIGKILL);
			wk[i].killed_at = t;
			count(&st->kills);
		} else if (wk[i].killed_at && t - wk[i].killed_at > opt_hang) {
			if (!hung) {
				dump_stack(wk[i].pid);
				diag("worker %d (seed %" PRIu64 ", replay: "
				     "ipn_fuzz --worker-seed %" PRIu64
				     ") not dead %d s after SIGKILL",
				     wk[i].pid, wk[i].seed, wk[i].seed,
				     opt_hang);
			}
			hung = 1;
		}
	}
	return hung;
}

static void usage(void)
{
	fprintf(stderr, "usage: ipn_fuzz [--seconds N | --minutes N] [--seed N] "
		"[--workers N] [--threads N] [--hang-secs N] "
		"[--worker-seed N]\n");
	exit(2);
}

/*
 * The networks' directory, also the cwd: relative paths (the unterminated
 * 108-byte one) create nodes there and nowhere else.
 */
static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ipn-fuzz.%d", getpid());
	if (mkdir(dir, 01777) || chmod(dir, 01777) || chdir(dir)) {
		perror(dir);
		exit(2);
	}
}

static void remove_dir(void)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	if (chdir("/") || rmdir(dir))
		diag("cannot remove %s: %s", dir, strerror(errno));
}

/* "EAGAIN 40%, EBADF 20%, ...": the commonest errors of one call */
static void top_errors(const char *what, const uint64_t *err, uint64_t calls)
{
	char line[256];
	int i, k, best, used = 0;
	uint64_t seen[134];

	memcpy(seen, err, sizeof(seen));
	for (k = 0; k < 5; k++) {
		best = 0;
		for (i = 1; i < 134; i++)
			if (seen[i] > seen[best])
				best = i;
		if (!seen[best])
			break;
		used += snprintf(line + used, sizeof(line) - used, "%s%s %.0f%%",
				 k ? ", " : "", best ? strerrorname_np(best) : "?",
				 100.0 * seen[best] / (calls ? calls : 1));
		seen[best] = 0;
	}
	if (used)
		diag("  %s errors: %s", what, line);
}

static void report(uint64_t seed, double t0)
{
	diag("seed %" PRIu64 ": %" PRIu64 " workers (%" PRIu64
	     " killed), %" PRIu64 " ops in %.0f s: %" PRIu64 "/%" PRIu64
	     " sends ok, %" PRIu64 "/%" PRIu64 " recvs ok, %" PRIu64
	     " fds received, %" PRIu64 " binds, %" PRIu64 " joins",
	     seed, st->workers, st->kills, st->ops, now() - t0, st->sends_ok,
	     st->sends, st->recvs_ok, st->recvs, st->fds_rx, st->binds,
	     st->joins);
	top_errors("sendmsg", st->send_err, st->sends);
	top_errors("recvmsg", st->recv_err, st->recvs);
}

int main(int argc, char **argv)
{
	struct worker wk[MAXWORKERS];
	uint64_t seed = 0, ms, wseed = 0;
	int i, have_wseed = 0, hung = 0;
	double t0, end, next_report;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--seconds"))
			opt_secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--minutes"))
			opt_secs = atof(argv[++i]) * 60;
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--workers"))
			opt_workers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--threads"))
			opt_threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hang-secs"))
			opt_hang = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--worker-seed"))
			wseed = strtoull(argv[++i], NULL, 0), have_wseed = 1;
		else
			usage();
	}
	if (opt_workers < 1 || opt_workers > MAXWORKERS || opt_threads < 1 ||
	    opt_threads > MAXTHREADS || opt_secs <= 0 || opt_hang < 1)
		usage();
	if (!seed)
		seed = ((uint64_t)time(NULL) << 20) ^ getpid();
	signal(SIGPIPE, SIG_IGN);
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return 2;
	make_dir();
	printf("# ipn_fuzz: AF_IPN family %d, seed %" PRIu64 " (replay: "
	       "ipn_fuzz --seed %" PRIu64 "), %.0f s, %d workers x <= %d "
	       "threads\n", ipn_af(), seed, seed, opt_secs, opt_workers,
	       opt_threads);
	t0 = now();
	if (have_wseed) {
		run_worker(wseed, opt_secs);
		report(seed, t0);
		remove_dir();
		tap(!st->bad, "worker seed %" PRIu64 ": %s", wseed,
		    st->bad ? st->why : "no broken invariant");
		return tap_done();
	}
	ms = seed;
	memset(wk, 0, sizeof(wk));
	end = t0 + opt_secs;
	next_report = t0 + 30;
	while (!hung) {
		int live = 0;

		for (i = 0; i < opt_workers; i++) {
			if (!wk[i].pid && now() < end)
				spawn(&wk[i], &ms);
			live += wk[i].pid > 0;
			if (now() >= end && wk[i].pid > 0 && !wk[i].killed_at)
				wk[i].die_at = 0;	/* time is up */
		}
		if (!live && now() >= end)
			break;
		hung = tend(wk, opt_workers);
		if (now() >= next_report) {
			report(seed, t0);
			next_report += 30;
		}
		usleep(20000);
	}
	report(seed, t0);
	remove_dir();
	tap(!hung, "every worker died within %d s of SIGKILL (%" PRIu64
	    " workers, %" PRIu64 " kills)", opt_hang, st->workers, st->kills);
	tap(!st->bad, "no broken invariant%s%s", st->bad ? ": " : "",
	    st->bad ? st->why : "");
	if (st->bad)
		diag("failing worker seed %" PRIu64 " (ipn_fuzz --worker-seed %"
		     PRIu64 "), run seed %" PRIu64, st->bad_seed, st->bad_seed,
		     seed);
	return tap_done();
}
