/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fanout.h - the kernel fan-out bench's two halves: fanout-case.c runs one
 * case (its processes, the burst and the latency rounds), fanout.c the
 * command line, the repeats and the report.
 */
#ifndef FANOUT_H
#define FANOUT_H

#define MSG_BYTES	64
#define MAXR		64
#define LAT_MSGS	200

enum mode { M_IPN, M_UNIX, M_RELAY, M_COUNT };
extern const char *const mode_name[M_COUNT];

struct result {
	enum mode mode;
	int receivers;
	long messages;
	double deliveries_per_s;
	double p50_us, p99_us;
	double csw_per_delivery, syscalls_per_delivery;
	int insn_window;	/* the burst's counting window, in mark order */
};

/* Maps the page the case's processes share and arms the stall watchdog. */
void fanout_init(void);
/* One case: @mode to @n receivers, a burst of @burst messages, then the latency rounds. */
struct result fanout_run(enum mode mode, int n, long burst);
void die(const char *what);

#endif /* FANOUT_H */
