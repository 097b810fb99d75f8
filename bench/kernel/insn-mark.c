// SPDX-License-Identifier: GPL-2.0
/*
 * insn-mark.c - open or close an instruction-counting window from a shell
 * in the guest: "insn-mark start; COMMAND; insn-mark stop" counts COMMAND
 * (and this program's own exit and start-up, a few hundred thousand
 * instructions) when the VM runs with the insn-count plugin.  Without the
 * plugin it does nothing.
 *
 * Usage: insn-mark start|stop
 */
#include <stdio.h>
#include <string.h>
#include "insn-mark.h"

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "start") == 0) {
		insn_mark_start();
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "stop") == 0) {
		insn_mark_stop();
		return 0;
	}
	fprintf(stderr, "usage: insn-mark start|stop\n");
	return 2;
}
