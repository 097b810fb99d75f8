/* SPDX-License-Identifier: GPL-2.0 */
/*
 * insn-mark.h - window markers for the instruction-counting qemu plugin
 * (insn-count.c).
 *
 * A marker is the 7-byte no-op "nopl DISP(%rax)" (0f 1f 80 + a 32-bit
 * displacement) whose displacement is one of the magic values below.  It
 * does nothing in the guest, with or without the plugin; the plugin sees its
 * bytes when qemu translates it and, each time it executes, opens or closes
 * a counting window.  Compilers and the kernel do not emit this exact
 * instruction (their padding no-ops use zero displacements).
 */
#ifndef IPN_INSN_MARK_H
#define IPN_INSN_MARK_H

/* "ISN" in the displacement's upper bytes, the marker kind in the lowest */
#define INSN_MARK_MAGIC	0x494e5300
#define INSN_MARK_START	0x494e5301
#define INSN_MARK_STOP	0x494e5302
#define INSN_MARK_LEN	7

#define INSN_MARK_STR_(x)	#x
#define INSN_MARK_STR(x)	INSN_MARK_STR_(x)

#if defined(__x86_64__) || defined(__i386__)
/*
 * The "memory" clobber keeps the compiler from moving loads and stores
 * across a marker, so the window holds what the source puts between them.
 */
#define INSN_MARK(disp) \
	__asm__ __volatile__(".byte 0x0f, 0x1f, 0x80\n\t.long " \
			     INSN_MARK_STR(disp) ::: "memory")
#else
#define INSN_MARK(disp) __asm__ __volatile__("" ::: "memory")
#endif

/* Open a counting window (a no-op without the plugin). */
static inline void insn_mark_start(void)
{
	INSN_MARK(INSN_MARK_START);
}

/* Close the open window: the plugin writes its instruction count. */
static inline void insn_mark_stop(void)
{
	INSN_MARK(INSN_MARK_STOP);
}

#endif /* IPN_INSN_MARK_H */
