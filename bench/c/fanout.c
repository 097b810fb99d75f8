// SPDX-License-Identifier: MIT
/*
 * AF_UNIX SOCK_SEQPACKET fan-out: one sender, N receiver processes, one
 * send per receiver per message. The floor for a user-space-mesh broadcast:
 * what the kernel alone costs, with no marshalling and no event loop.
 *
 * Usage: fanout RECEIVERS MESSAGES SIZE
 * Prints one JSON object: deliveries and deliveries per second.
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
	int receivers, messages, size, r, m;
	int *socks;
	pid_t *pids;
	char *buf;
	long long t0, t1, delivered = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: fanout RECEIVERS MESSAGES SIZE\n");
		return 2;
	}
	receivers = atoi(argv[1]);
	messages = atoi(argv[2]);
	size = atoi(argv[3]);
	if (receivers <= 0 || receivers > 1024 || messages <= 0 || size < 8 ||
	    size > 65536) {
		fprintf(stderr, "fanout: bad arguments\n");
		return 2;
	}
	socks = calloc(receivers, sizeof(*socks));
	pids = calloc(receivers, sizeof(*pids));
	buf = calloc(1, size);
	if (!socks || !pids || !buf)
		return 1;
	for (r = 0; r < receivers; r++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
			perror("fanout: socketpair");
			return 1;
		}
		pids[r] = fork();
		if (pids[r] < 0) {
			perror("fanout: fork");
			return 1;
		}
		if (pids[r] == 0) {
			/* Count messages; report the count when the sender hangs up. */
			long long got = 0;
			int k;

			for (k = 0; k < r; k++)
				close(socks[k]);
			close(sv[0]);
			while (recv(sv[1], buf, size, 0) > 0)
				got++;
			_exit(got == messages ? 0 : 1);
		}
		close(sv[1]);
		socks[r] = sv[0];
	}
	t0 = now_ns();
	for (m = 0; m < messages; m++) {
		memcpy(buf, &m, sizeof(m));
		for (r = 0; r < receivers; r++) {
			if (send(socks[r], buf, size, 0) != size) {
				perror("fanout: send");
				return 1;
			}
		}
	}
	for (r = 0; r < receivers; r++)
		close(socks[r]);
	/* The last receiver to exit has drained its queue: that ends the clock. */
	for (r = 0; r < receivers; r++) {
		int status;

		waitpid(pids[r], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			delivered += messages;
	}
	t1 = now_ns();
	printf("{\"receivers\":%d,\"messages\":%d,\"size\":%d,\"delivered\":%lld,"
	       "\"seconds\":%.6f,\"deliveries_per_s\":%.0f}\n",
	       receivers, messages, size, delivered, (t1 - t0) / 1e9,
	       delivered / ((t1 - t0) / 1e9));
	return delivered == (long long)receivers * messages ? 0 : 1;
}
