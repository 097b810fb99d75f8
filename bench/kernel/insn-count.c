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
 * Profile mode (profile=PROF): inside each window the plugin also
 * attributes the instructions to the guest address where each translation
 * block starts, and at the window's stop appends to PROF:
 *
 *	window SEQ
 *	ADDR INSNS		(hex guest virtual address, decimal count)
 *	...
 *	end SEQ lost L
 *
 * one ADDR line per block start and vCPU that executed it (the host side,
 * bench/kernel/insn-profile.mjs, sums them and resolves addresses with the
 * guest's /proc/kallsyms).  L counts the instructions of blocks that found
 * their vCPU's table full.  Each vCPU has its own table, written only by
 * its own thread (no lock on the hot path); a vCPU empties its table when
 * it first runs a block of a new window, and the stop marker reads every
 * table of that window under the marker lock.  The blocks another vCPU
 * runs while the stop marker reads may be half-counted: a few blocks, as
 * for the window count.
 *
 * Usage: qemu-system-x86_64 ... -plugin PATH/insn-count.so,out=FILE[,profile=PROF]
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
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
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
static bool window_open;	/* also read by the vCPUs, relaxed (profile) */
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

/* ---- profile mode ---- */

/*
 * A block's udata in profile mode: its guest start address in the low 48
 * bits (x86-64 addresses are canonical: bit 47 repeated above, so it
 * sign-extends back) and its instruction count (TCG: at most 512) above.
 */
#define PROF_ADDR_BITS	48
#define PROF_ADDR_MASK	((UINT64_C(1) << PROF_ADDR_BITS) - 1)

static uint64_t prof_pack(uint64_t vaddr, size_t n)
{
	return (vaddr & PROF_ADDR_MASK) | (uint64_t)n << PROF_ADDR_BITS;
}

static uint64_t prof_addr(uint64_t packed)
{
	uint64_t a = packed & PROF_ADDR_MASK;

	return a & (UINT64_C(1) << (PROF_ADDR_BITS - 1)) ? a | ~PROF_ADDR_MASK : a;
}

/* Slots per vCPU table (16 bytes each); filled to 3/4 at most. */
#define PROF_BITS	17
#define PROF_SLOTS	(1u << PROF_BITS)
#define PROF_MAX_USED	(PROF_SLOTS / 4 * 3)

struct prof_slot {
	uint64_t addr;		/* 0: free (no block starts at 0) */
	uint64_t insns;
};

/* One vCPU's table, written only by that vCPU's thread. */
struct vcpu_prof {
	uint64_t window;	/* the window the table holds */
	uint64_t used, lost;
	struct prof_slot *slot;
} __attribute__((aligned(64)));

static FILE *prof_out;
static struct vcpu_prof *profs;
/* the window being profiled, read by every vCPU (set under the lock) */
static uint64_t prof_window;

/* A block starts executing: count it, and attribute it inside a window. */
static void on_block_prof(unsigned int vcpu, void *udata)
{
	uint64_t packed = (uintptr_t)udata, addr, n, w, i;
	struct vcpu_prof *p;
	struct prof_slot *s;

	n = packed >> PROF_ADDR_BITS;
	on_block(vcpu, (void *)(uintptr_t)n);
	if (!__atomic_load_n(&window_open, __ATOMIC_RELAXED))
		return;
	p = &profs[vcpu < nvcpus ? vcpu : nvcpus - 1];
	w = __atomic_load_n(&prof_window, __ATOMIC_RELAXED);
	if (p->window != w) {
		/* this vCPU's first block of the window: start afresh */
		memset(p->slot, 0, PROF_SLOTS * sizeof(*p->slot));
		p->used = 0;
		__atomic_store_n(&p->lost, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&p->window, w, __ATOMIC_RELEASE);
	}
	addr = prof_addr(packed);
	/* Fibonacci hashing, then linear probing */
	i = (addr * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - PROF_BITS);
	for (;; i = (i + 1) & (PROF_SLOTS - 1)) {
		s = &p->slot[i];
		if (s->addr == addr)
			break;
		if (s->addr)
			continue;
		if (p->used >= PROF_MAX_USED) {
			__atomic_store_n(&p->lost, p->lost + n,
					 __ATOMIC_RELAXED);
			return;
		}
		p->used++;
		__atomic_store_n(&s->addr, addr, __ATOMIC_RELAXED);
		break;
	}
	__atomic_store_n(&s->insns, s->insns + n, __ATOMIC_RELAXED);
}

/* At a stop marker, under the lock: write every table of window @w. */
static void prof_dump(uint64_t w, unsigned long seq)
{
	uint64_t lost = 0, i, n;
	unsigned int v;

	fprintf(prof_out, "window %lu\n", seq);
	for (v = 0; v < nvcpus; v++) {
		struct vcpu_prof *p = &profs[v];

		if (__atomic_load_n(&p->window, __ATOMIC_ACQUIRE) != w)
			continue;	/* ran no block in this window */
		for (i = 0; i < PROF_SLOTS; i++) {
			n = __atomic_load_n(&p->slot[i].insns, __ATOMIC_RELAXED);
			if (n)
				fprintf(prof_out, "%" PRIx64 " %" PRIu64 "\n",
					__atomic_load_n(&p->slot[i].addr,
							__ATOMIC_RELAXED), n);
		}
		lost += __atomic_load_n(&p->lost, __ATOMIC_RELAXED);
	}
	fprintf(prof_out, "end %lu lost %" PRIu64 "\n", seq, lost);
	fflush(prof_out);
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
		window_start = now;
		/* windows are profiled as 1, 2, ...: tables start at 0 */
		__atomic_store_n(&prof_window, prof_window + 1,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&window_open, true, __ATOMIC_RELEASE);
	} else if (!window_open) {
		fprintf(out, "error: stop marker on vCPU %u without a start\n",
			vcpu);
		errors++;
	} else {
		__atomic_store_n(&window_open, false, __ATOMIC_RELAXED);
		if (prof_out)
			prof_dump(prof_window, windows);
		fprintf(out, "window %lu insns %" PRIu64 "\n", windows++,
			now - window_start);
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

	if (prof_out)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block_prof,
			QEMU_PLUGIN_CB_NO_REGS,
			(void *)(uintptr_t)prof_pack(qemu_plugin_tb_vaddr(tb), n));
	else
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
	if (prof_out) {
		fclose(prof_out);
		prof_out = NULL;
	}
	pthread_mutex_unlock(&lock);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL, *prof_path = NULL;
	unsigned int v;
	int i;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0) {
			path = argv[i] + 4;
		} else if (strncmp(argv[i], "profile=", 8) == 0 && argv[i][8]) {
			prof_path = argv[i] + 8;
		} else {
			fputs("insn-count: unknown argument (takes out=FILE[,profile=PROF])\n",
			      stderr);
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
	if (prof_path) {
		profs = aligned_alloc(sizeof(*profs), nvcpus * sizeof(*profs));
		prof_out = fopen(prof_path, "w");
		if (!profs || !prof_out) {
			fputs("insn-count: cannot allocate or open profile=PROF\n",
			      stderr);
			return -1;
		}
		memset(profs, 0, nvcpus * sizeof(*profs));
		for (v = 0; v < nvcpus; v++) {
			profs[v].slot = calloc(PROF_SLOTS, sizeof(struct prof_slot));
			if (!profs[v].slot) {
				fputs("insn-count: cannot allocate the profile tables\n",
				      stderr);
				return -1;
			}
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, at_qemu_exit, NULL);
	return 0;
}
