/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipn_test_util.h - helpers the AF_IPN C tests share: paths of networks
 * inside the test's own directory, running a function as uid 65534, and
 * the module's reference count.  Static inline: a test that does not use
 * one gets no unused-function warning.
 */
#ifndef IPN_TEST_UTIL_H
#define IPN_TEST_UTIL_H

#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

/* The test's private directory (mkdtemp in main); networks live inside. */
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
static inline int as_nobody(int (*fn)(void *), void *arg)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		_exit(fn(arg));
	}
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

/* /sys/module/ipn/refcnt, or -1 when the module is not loaded. */
static inline int module_refcnt(void)
{
	FILE *f = fopen("/sys/module/ipn/refcnt", "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

#endif /* IPN_TEST_UTIL_H */
