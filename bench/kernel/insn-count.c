// SPDX-License-Identifier: GPL-2.0
/*
 * insn-count.c - qemu TCG plugin: guest instructions executed in windows
 * that the guest marks itself (bench/kernel/insn-mark.h).
 *
 * Every instruction the guest executes is counted, user and kernel, on
 * every vCPU.  The guest opens a window by executing the start marker and
 * closes it with the stop marker (a magic no-op); at each stop the plugin
 * appends one line to the output file:
 *
 *	window SEQ insns COUNT
 *
 * (SEQ counts windows from 0 in the order they close), and at qemu's exit
 * "total insns N windows W errors E".  A stop without a start, or a start
 * while a window is open, writes an "error: ..." line; the second start
 * then restarts the window.
 *
 * Counting: each translation block gets an execution callback that adds
 * the block's instruction count to the executing vCPU's own counter.  With
 * multi-threaded TCG (qemu's default, one host thread per vCPU) a shared
 * counter would lose increments to races; per-vCPU counters need no lock
 * and keep the guest's vCPUs running in parallel, as without the plugin.
 * A window is the sum of all counters at the stop marker minus the sum at
 * the start marker.  The count is per block: a block left early by a fault
 * still counts whole, and the vCPUs that did not execute a marker are read
 * between two of their blocks, so a window is exact to within a few blocks
 * (tens of instructions) plus whatever faults cut short.
 *
 * Built against qemu 7.2's plugin API (version 1), which Debian's qemu
 * exports but whose header it does not package: the few types and
 * functions used are declared below as that API documents them.
 *
 * Usage: qemu-system-x86_64 ... -plugin PATH/insn-count.so,out=FILE
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "insn-mark.h"

/* ---- qemu plugin API, version 1 (qemu 7.2), as documented ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;

typedef struct {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index,
					    void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id,
					       struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
					  qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags,
					  void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags,
					    void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
				    qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv);
/* ---- end of the API declarations ---- */

/* One vCPU's count, alone on its cache line: only that vCPU writes it. */
struct vcpu_count {
	uint64_t insns;
} __attribute__((aligned(64)));

static struct vcpu_count *counts;
static unsigned int nvcpus;

/* The window state; the marker callbacks of any vCPU take the lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;
static bool window_open;
static uint64_t window_start;
static unsigned long windows, errors;

static uint64_t all_vcpus(void)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < nvcpus; i++)
		sum += __atomic_load_n(&counts[i].insns, __ATOMIC_RELAXED);
	return sum;
}

/* A translation block starts executing: add its length to this vCPU. */
static void on_block(unsigned int vcpu, void *udata)
{
	struct vcpu_count *c = &counts[vcpu < nvcpus ? vcpu : nvcpus - 1];

	/* relaxed load + store, not an atomic add: one writer per counter */
	__atomic_store_n(&c->insns, c->insns + (uintptr_t)udata,
			 __ATOMIC_RELAXED);
}

/* A marker executes: open or close the window. */
static void on_mark(unsigned int vcpu, void *udata)
{
	uint64_t now = all_vcpus();

	pthread_mutex_lock(&lock);
	if ((uintptr_t)udata == INSN_MARK_START) {
		if (window_open) {
			fprintf(out, "error: start marker on vCPU %u while a window is open (restarted)\n",
				vcpu);
			errors++;
		}
		window_open = true;
		window_start = now;
	} else if (!window_open) {
		fprintf(out, "error: stop marker on vCPU %u without a start\n",
			vcpu);
		errors++;
	} else {
		fprintf(out, "window %lu insns %" PRIu64 "\n", windows++,
			now - window_start);
		window_open = false;
	}
	fflush(out);
	pthread_mutex_unlock(&lock);
}

/* The marker kind of an instruction, 0 for any other instruction. */
static uint32_t marker_kind(const struct qemu_plugin_insn *insn)
{
	const uint8_t *b = qemu_plugin_insn_data(insn);
	uint32_t disp;

	if (qemu_plugin_insn_size(insn) != INSN_MARK_LEN ||
	    b[0] != 0x0f || b[1] != 0x1f || b[2] != 0x80)
		return 0;
	disp = (uint32_t)b[3] | (uint32_t)b[4] << 8 | (uint32_t)b[5] << 16 |
	       (uint32_t)b[6] << 24;
	return disp == INSN_MARK_START || disp == INSN_MARK_STOP ? disp : 0;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i;

	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block,
					     QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(uintptr_t)n);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint32_t kind = marker_kind(insn);

		if (kind)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark,
				QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)kind);
	}
}

static void at_qemu_exit(qemu_plugin_id_t id, void *udata)
{
	pthread_mutex_lock(&lock);
	if (window_open) {
		fprintf(out, "error: window still open at exit\n");
		errors++;
	}
	fprintf(out, "total insns %" PRIu64 " windows %lu errors %lu\n",
		all_vcpus(), windows, errors);
	fclose(out);
	out = NULL;
	pthread_mutex_unlock(&lock);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0) {
			path = argv[i] + 4;
		} else {
			fputs("insn-count: unknown argument (takes out=FILE)\n", stderr);
			return -1;
		}
	}
	if (!path || !*path) {
		fputs("insn-count: out=FILE is required\n", stderr);
		return -1;
	}
	if (!info->system_emulation || info->system.max_vcpus < 1) {
		fputs("insn-count: needs full-system emulation\n", stderr);
		return -1;
	}
	nvcpus = (unsigned int)info->system.max_vcpus;
	counts = aligned_alloc(sizeof(*counts), nvcpus * sizeof(*counts));
	out = fopen(path, "w");
	if (!counts || !out) {
		fputs("insn-count: cannot allocate or open out=FILE\n", stderr);
		return -1;
	}
	memset(counts, 0, nvcpus * sizeof(*counts));
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, at_qemu_exit, NULL);
	return 0;
}
