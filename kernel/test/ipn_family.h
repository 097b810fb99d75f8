/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipn_family.h - the address family number ipn.ko registered, for user
 * space: the C tests (through ipn_tap.h) and bench/kernel's fan-out bench.
 */
#ifndef IPN_FAMILY_H
#define IPN_FAMILY_H

#include <stdio.h>
#include <linux/ipn.h>

/* The family the loaded module registered (sysfs), else the default. */
static inline int ipn_af(void)
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

#endif /* IPN_FAMILY_H */
