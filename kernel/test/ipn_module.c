// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_module.c - tests of the ipn.ko module itself, run in the test VM
 * as root: the family parameter, unloading (refused while a socket is
 * open) and reloading under another family number, then the original.
 * Needs IPNBUS_KO (scripts/vm/run.sh sets it); leaves the module loaded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "ipn_tap.h"
#include "ipn_test_util.h"

static void test_family_param(void)
{
	long v = read_long(IPN_FAMILY_SYSFS);

	tap(v > 0, "%s readable (%ld)", IPN_FAMILY_SYSFS, v);
}

static int load_ipn(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = syscall(SYS_finit_module, fd, params, 0);
	close(fd);
	return r;
}

static void test_unload(void)
{
	const char *ko = getenv("IPNBUS_KO");
	int fam = ipn_af(), fd, r, alt = -1;
	char params[32];
	static const int candidates[] = { 19, 23, 25, 18, 31 };
	size_t i;

	if (!ko) {
		tap(0, "module unload test needs IPNBUS_KO (run via scripts/vm/run.sh)");
		return;
	}
	fd = ipn_open(netpath("unload"), 1);
	tap(module_refcnt() > 0, "module refcount held by open sockets (%d)",
	    module_refcnt());
	errno = 0;
	r = syscall(SYS_delete_module, "ipn", O_NONBLOCK);
	tap(r < 0 && (errno == EWOULDBLOCK || errno == EBUSY),
	    "unload refused while a socket is open (%s)", strerror(errno));
	close(fd);
	unlink(netpath("unload"));
	tap(module_refcnt() == 0, "refcount back to 0 after close (no leaked socket)");
	r = syscall(SYS_delete_module, "ipn", O_NONBLOCK);
	tap(r == 0, "unload succeeds after close (%s)", r ? strerror(errno) : "ok");

	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		snprintf(params, sizeof(params), "family=%d", candidates[i]);
		if (load_ipn(ko, params) == 0) {
			alt = candidates[i];
			break;
		}
	}
	tap(alt > 0 && ipn_af() == alt, "reload with family=%d (sysfs says %d)", alt,
	    ipn_af());
	fd = ipn_open(netpath("alt"), 1);
	tap(fd >= 0 && send(fd, "x", 1, 0) == 1, "sockets work in family %d", alt);
	close(fd);
	unlink(netpath("alt"));
	tap(syscall(SYS_delete_module, "ipn", O_NONBLOCK) == 0, "unload again");
	snprintf(params, sizeof(params), "family=%d", fam);
	tap(load_ipn(ko, params) == 0 && ipn_af() == fam,
	    "reload with the original family=%d", fam);
}

int main(int argc, char **argv)
{
	tests_begin("ipn-module", 300, 0755);
	test_family_param();
	test_unload();
	return tests_end();
}
