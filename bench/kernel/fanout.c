// SPDX-License-Identifier: GPL-2.0
/*
 * fanout.c - kernel benchmark: one sender, N receiver processes, 64-byte
 * messages, three ways of reaching every receiver:
 *   ipn    one AF_IPN broadcast (lossless network)
 *   unix   one AF_UNIX SOCK_SEQPACKET send per receiver
 *   relay  a broker process that receives each message and re-sends it to
 *          every receiver over SOCK_SEQPACKET (the dbus-daemon shape)
 * Throughput: a burst of messages, deliveries per second until the last
 * receiver has them all.  Latency: one message in flight at a time,
 * send -> receive with a CLOCK_MONOTONIC timestamp in the payload, p50/p99
 * over every delivery.  Each case runs IPNBUS_FANOUT_REPEAT times (default 3);
 * the run with the median throughput is reported.  Next to each burst's
 * throughput: context switches per delivery (getrusage() voluntary +
 * involuntary, of every process of the case, sender, relay and receivers,
 * over the burst) and syscalls per delivery (the send/recv/recvmmsg calls
 * the bench makes for the burst).  Each burst is also an instruction-counting
 * window (insn-mark.h): in a VM run with the insn-count qemu plugin, the
 * plugin's count for window "insn_windows"[i] divided by "deliveries" is
 * the guest's instructions per delivery, user and kernel, every process of
 * the case (scripts/bench-kernel.sh does that).  Writes the results as JSON
 * to argv[1].
 *
 * IPNBUS_FANOUT_MAPS=FILE: copy this process's /proc/self/maps there first
 * (its receivers and relay are forks: the same layout), for the profile's
 * user addresses (bench/kernel/insn-profile.mjs --maps).
 *
 * Usage: fanout OUT.json [receivers...]   (default 1 4 16 64)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include "fanout.h"

#define REPEAT_MAX	9

/* Copy /proc/self/maps to @path. */
static void dump_maps(const char *path)
{
	FILE *in = fopen("/proc/self/maps", "r"), *to = fopen(path, "w");
	char buf[4096];
	size_t n;

	if (!in || !to)
		die(path);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, to);
	fclose(in);
	if (fclose(to))
		die(path);
}

int main(int argc, char **argv)
{
	int counts[8] = { 1, 4, 16, 64 }, ncounts = 4, c, i;
	struct result res[8 * M_COUNT];
	int windows[8 * M_COUNT][REPEAT_MAX];
	const char *rep_env = getenv("IPNBUS_FANOUT_REPEAT");
	int nres = 0, repeat = rep_env ? atoi(rep_env) : 3;
	struct utsname u;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: fanout OUT.json [receivers...]\n");
		return 2;
	}
	if (argc > 2) {
		ncounts = 0;
		for (i = 2; i < argc && ncounts < 8; i++) {
			c = atoi(argv[i]);
			if (c < 1 || c > MAXR) {
				fprintf(stderr, "receivers must be 1..%d\n", MAXR);
				return 2;
			}
			counts[ncounts++] = c;
		}
	}
	if (repeat < 1 || repeat > REPEAT_MAX) {
		fprintf(stderr, "IPNBUS_FANOUT_REPEAT must be 1..%d\n", REPEAT_MAX);
		return 2;
	}
	if (getenv("IPNBUS_FANOUT_MAPS"))
		dump_maps(getenv("IPNBUS_FANOUT_MAPS"));
	fanout_init();
	printf("%-6s %9s %9s %16s %10s %10s %9s %9s\n", "mode", "receivers",
	       "messages", "deliveries/s", "p50 us", "p99 us", "csw/dlv",
	       "calls/dlv");
	for (c = 0; c < ncounts; c++) {
		/* about 30k deliveries per case, at least 500 messages */
		long burst = 30000 / counts[c];

		if (burst < 500)
			burst = 500;
		for (i = 0; i < M_COUNT; i++) {
			struct result *r = &res[nres++], rep[REPEAT_MAX], t;
			int a, b;

			/* the run with the median throughput, against noise */
			for (a = 0; a < repeat; a++) {
				rep[a] = fanout_run((enum mode)i, counts[c], burst);
				windows[nres - 1][a] = rep[a].insn_window;
			}
			for (a = 0; a < repeat; a++)
				for (b = a + 1; b < repeat; b++)
					if (rep[b].deliveries_per_s <
					    rep[a].deliveries_per_s) {
						t = rep[a];
						rep[a] = rep[b];
						rep[b] = t;
					}
			*r = rep[repeat / 2];
			printf("%-6s %9d %9ld %16.0f %10.1f %10.1f %9.3f %9.3f\n",
			       mode_name[i], r->receivers, r->messages,
			       r->deliveries_per_s, r->p50_us, r->p99_us,
			       r->csw_per_delivery, r->syscalls_per_delivery);
			fflush(stdout);
		}
	}
	f = fopen(argv[1], "w");
	if (!f)
		die(argv[1]);
	uname(&u);
	fprintf(f, "{\n  \"kernel\": \"%s\",\n  \"msg_bytes\": %d,\n"
		"  \"latency_msgs\": %d,\n  \"repeat\": %d,\n  \"results\": [\n",
		u.release, MSG_BYTES, LAT_MSGS, repeat);
	for (i = 0; i < nres; i++) {
		fprintf(f, "    {\"mode\": \"%s\", \"receivers\": %d, \"messages\": %ld, "
			"\"deliveries_per_s\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
			"\"csw_per_delivery\": %.3f, \"syscalls_per_delivery\": %.3f, "
			"\"deliveries\": %ld, \"insn_windows\": [",
			mode_name[res[i].mode], res[i].receivers, res[i].messages,
			res[i].deliveries_per_s, res[i].p50_us, res[i].p99_us,
			res[i].csw_per_delivery, res[i].syscalls_per_delivery,
			res[i].messages * res[i].receivers);
		for (c = 0; c < repeat; c++)
			fprintf(f, "%s%d", c ? ", " : "", windows[i][c]);
		fprintf(f, "]}%s\n", i + 1 < nres ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	fclose(f);
	return 0;
}
