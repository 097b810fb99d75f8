/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipn_test_util.h - helpers the AF_IPN C tests share: their start
 * (timeout, private directory), paths of networks inside that directory,
 * running a function as uid 65534, and small sysfs/sysctl reads.  Static
 * inline: a test that does not use one gets no unused-function warning.
 */
#ifndef IPN_TEST_UTIL_H
#define IPN_TEST_UTIL_H

#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ipn_tap.h"

/* The test's private directory (named by tests_begin). */
static char dir[64];

/* "<dir>/<name>" in one of eight rotating buffers (several per call). */
static inline const char *netpath(const char *name)
{
	static char buf[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

#define NOBODY 65534

/*
 * Run @fn(@arg) in a child as uid/gid 65534; its exit status, 100 if the
 * ids could not be dropped, 200 if it did not exit normally.
 */
static pid_t nobody_child;

static inline int as_nobody(int (*fn)(void *), void *arg)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		_exit(fn(arg));
	}
	nobody_child = p;
	waitpid(p, &st, 0);
	nobody_child = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

/* The first number in the file @path (sysctl, sysfs), or -1. */
static inline long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* /sys/module/ipn/refcnt, or -1 when the module is not loaded. */
static inline int module_refcnt(void)
{
	return (int)read_long("/sys/module/ipn/refcnt");
}

/*
 * A child of as_nobody() still at work would keep its sockets, and so the
 * module, busy after we are gone (rmmod then fails for a reason that is
 * not the module's): it goes first.
 */
static inline void tests_timed_out(int sig)
{
	if (nobody_child > 0)
		kill(nobody_child, SIGKILL);
	tap(0, "TIMEOUT: test %d hung", tap_n + 1);
	_exit(tap_done() + 2);
}

/*
 * The common start of a test program: SIGPIPE ignored, a hung test ends
 * the run after @timeout_s seconds with what passed so far, umask 0, and
 * dir named /tmp/<@prog>.<pid> (the caller creates it with its mode).
 */
static inline void tests_begin(const char *prog, unsigned int timeout_s)
{
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, tests_timed_out);
	alarm(timeout_s);
	umask(0);
	snprintf(dir, sizeof(dir), "/tmp/%s.%d", prog, getpid());
}

#endif /* IPN_TEST_UTIL_H */
