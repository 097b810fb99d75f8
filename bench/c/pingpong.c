// SPDX-License-Identifier: MIT
/*
 * AF_UNIX SOCK_SEQPACKET ping-pong: the physical floor for one method-call
 * round trip between two processes (no marshalling, no bus, no event loop).
 *
 * Usage: pingpong ITERATIONS SIZE [INTERVAL_US]
 * With INTERVAL_US the parent sleeps that long between round trips, so both
 * processes wake from idle each time, as a receiver of paced signals does.
 * Prints one JSON object: round-trip p50/p99 in nanoseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "bench-clock.h"

int main(int argc, char **argv)
{
	int sv[2], i, iters, size, interval_us = 0, warmup = 100;
	long long *rtt;
	char *buf;
	pid_t pid;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: pingpong ITERATIONS SIZE [INTERVAL_US]\n");
		return 2;
	}
	iters = atoi(argv[1]);
	size = atoi(argv[2]);
	if (argc == 4)
		interval_us = atoi(argv[3]);
	if (iters <= 0 || size <= 0 || size > 65536 || interval_us < 0 ||
	    interval_us > 1000000) {
		fprintf(stderr, "pingpong: bad arguments\n");
		return 2;
	}
	buf = calloc(1, size);
	rtt = calloc(iters, sizeof(*rtt));
	if (!buf || !rtt || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		perror("pingpong: setup");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("pingpong: fork");
		return 1;
	}
	if (pid == 0) {
		/* Echo until the parent closes its end. */
		ssize_t n;

		close(sv[0]);
		while ((n = recv(sv[1], buf, size, 0)) > 0)
			if (send(sv[1], buf, n, 0) != n)
				_exit(1);
		_exit(0);
	}
	close(sv[1]);
	if (interval_us)
		warmup = 10;
	for (i = -warmup; i < iters; i++) {
		long long t0;

		if (interval_us)
			usleep(interval_us);
		t0 = now_ns();

		if (send(sv[0], buf, size, 0) != size ||
		    recv(sv[0], buf, size, 0) != size) {
			perror("pingpong: io");
			return 1;
		}
		if (i >= 0)
			rtt[i] = now_ns() - t0;
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	qsort(rtt, iters, sizeof(*rtt), cmp_ll);
	printf("{\"iterations\":%d,\"size\":%d,\"interval_us\":%d,"
	       "\"rtt_p50_ns\":%lld,\"rtt_p99_ns\":%lld}\n",
	       iters, size, interval_us, rtt[iters / 2],
	       rtt[(long long)iters * 99 / 100]);
	return 0;
}
