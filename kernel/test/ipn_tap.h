/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipn_tap.h - tiny TAP-style harness and AF_IPN helpers for the C tests
 *
 * Each test prints "ok N - name" or "not ok N - name # why"; the program
 * ends with exactly "P passed, F failed" and exits non-zero on failure.
 */
#ifndef IPN_TAP_H
#define IPN_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/ipn.h>

#include "ipn_family.h"

static int tap_n, tap_pass, tap_fail;

static void tap(int ok, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (ok)
		tap_pass++;
	else
		tap_fail++;
	printf("%sok %d - ", ok ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/*
 * A check that cannot apply to this kernel (it lacks what the check is
 * about): TAP's "ok N - name # SKIP why", counted apart from the passes.
 */
static int tap_skipped;

static inline void tap_skip(const char *name, const char *why)
{
	tap_n++;
	tap_skipped++;
	printf("ok %d - %s # SKIP %s\n", tap_n, name, why);
	fflush(stdout);
}

static int tap_done(void)
{
	if (tap_skipped)
		printf("# %d skipped: this kernel lacks what they check\n",
		       tap_skipped);
	printf("%d passed, %d failed\n", tap_pass, tap_fail);
	fflush(stdout);
	return tap_fail ? 1 : 0;
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static socklen_t ipn_addr(struct sockaddr_ipn *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sipn_family = ipn_af();
	memcpy(a->sipn_path, path, strnlen(path, sizeof(a->sipn_path) - 1));
	return sizeof(*a);
}

/* A new socket bound (creating the network) or connected to @path. */
static int ipn_open(const char *path, int create)
{
	struct sockaddr_ipn a;
	socklen_t len = ipn_addr(&a, path);
	int fd = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);

	if (fd < 0)
		return -1;
	if ((create ? bind(fd, (struct sockaddr *)&a, len) :
		      connect(fd, (struct sockaddr *)&a, len)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static inline int ipn_setint(int fd, int opt, int val)
{
	return setsockopt(fd, SOL_IPN, opt, &val, sizeof(val));
}

static inline unsigned long long ipn_id(int fd)
{
	unsigned long long id = 0;
	socklen_t len = sizeof(id);

	if (getsockopt(fd, SOL_IPN, IPN_SO_MEMBER_ID, &id, &len) < 0)
		return 0;
	return id;
}

#endif /* IPN_TAP_H */
