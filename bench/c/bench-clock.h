/* SPDX-License-Identifier: MIT */
/*
 * bench-clock.h - what every C benchmark program times and sorts with:
 * CLOCK_MONOTONIC in nanoseconds, and qsort()'s comparator for samples.
 * Included by bench/c, bench/transport and bench/kernel programs.
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <time.h>

static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Ascending order of long long samples. */
static inline int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

#endif /* BENCH_CLOCK_H */
