// SPDX-License-Identifier: GPL-2.0
/*
 * insn-selftest.c - the guest half of the insn-count plugin's self-test
 * (scripts/vm/insn-count-test.sh).  Runs windows whose instruction counts
 * are known and prints, for each, the range the plugin must report:
 *
 *	insn-selftest: expect SEQ LOW HIGH what
 *
 * SEQ is the window's number in the plugin's output (windows close in this
 * order; nothing else in the VM marks).  The host compares.
 *
 *   0  an empty window: a few blocks at most
 *   1  ITERS iterations of an 8-instruction loop: 8 * ITERS, +-TOL
 *   2  twice as many: 16 * ITERS, +-TOL (the count scales)
 *   3  that loop on CPU 0 and, at the same time, in a child on CPU 1:
 *      16 * ITERS + fork/exit, +-TOL (every vCPU is counted)
 *   4  ITERS / 100 getppid() system calls: between 50 and 20,000
 *      instructions each (the kernel's side is counted: the user side
 *      is under 20)
 *
 * TOL is 3%: timer interrupts and whatever else the guest kernel does
 * during a window are counted too (about 1% at 10^7 iterations here).
 *
 * Usage: insn-selftest [ITERS]   (default 10000000)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "insn-mark.h"

#define LOOP_INSNS	8
#define TOL_PERCENT	3

/* Exactly LOOP_INSNS instructions per iteration; @iters >= 1. */
static void spin(unsigned long iters)
{
	unsigned long a = 0, b = 1, c = iters;

	__asm__ __volatile__("1:\n\t"
			     "add $1, %0\n\t"
			     "add $3, %1\n\t"
			     "add %0, %1\n\t"
			     "sub $2, %0\n\t"
			     "xor %1, %0\n\t"
			     "add $5, %0\n\t"
			     "dec %2\n\t"
			     "jnz 1b"
			     : "+r"(a), "+r"(b), "+r"(c) : : "cc");
}

static int seq;

static void expect(double center, double tol_percent, const char *what)
{
	double lo = center * (1 - tol_percent / 100);
	double hi = center * (1 + tol_percent / 100);

	printf("insn-selftest: expect %d %.0f %.0f %s\n", seq++, lo, hi, what);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("insn-selftest: sched_setaffinity");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
	unsigned long calls = iters / 100, i;
	pid_t child;

	if (iters < 100000 || iters > 1000000000) {
		fprintf(stderr, "insn-selftest: ITERS must be 100000..1000000000\n");
		return 2;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "insn-selftest: needs 2 CPUs (the two-vCPU window)\n");
		return 2;
	}
	pin(0);

	insn_mark_start();
	insn_mark_stop();
	printf("insn-selftest: expect %d 0 2000 empty window\n", seq++);

	insn_mark_start();
	spin(iters);
	insn_mark_stop();
	expect((double)LOOP_INSNS * iters, TOL_PERCENT, "loop");

	insn_mark_start();
	spin(2 * iters);
	insn_mark_stop();
	expect(2.0 * LOOP_INSNS * iters, TOL_PERCENT, "loop x2");

	insn_mark_start();
	child = fork();
	if (child < 0) {
		perror("insn-selftest: fork");
		return 2;
	}
	if (child == 0) {
		pin(1);
		spin(iters);
		_exit(0);
	}
	spin(iters);
	waitpid(child, NULL, 0);
	insn_mark_stop();
	expect(2.0 * LOOP_INSNS * iters, TOL_PERCENT, "loop on two vCPUs");

	insn_mark_start();
	for (i = 0; i < calls; i++)
		syscall(SYS_getppid);
	insn_mark_stop();
	printf("insn-selftest: expect %d %lu %lu getppid system calls\n",
	       seq++, 50 * calls, 20000 * calls);
	fflush(stdout);
	return 0;
}
