// SPDX-License-Identifier: MIT
/*
 * fanout.c - the C baseline for bench/transport.mjs: one sender, N receiver
 * processes, each on its own AF_UNIX SOCK_SEQPACKET connection, one send per
 * receiver per broadcast (what a user-space mesh must do, with no runtime).
 *
 *   fanout tput RECEIVERS MESSAGES SIZE   -> {"deliveries":..,"seconds":..}
 *   fanout lat  RECEIVERS ROUNDS SIZE     -> {"rtt_us_median":..,"rtt_us_p99":..}
 *
 * tput: receivers read until they have MESSAGES; the time runs from the
 * first send to the last receiver's exit; receivers read in batches with
 * recvmmsg. lat: each round broadcasts one
 * message and waits for receiver 0 to echo it back.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Batched reads (recvmmsg), as a tuned C receiver would do. */
#define BATCH 64

static void receiver(int fd, int messages, int size, int echo)
{
	struct mmsghdr hdrs[BATCH];
	struct iovec iov[BATCH];
	char *buf = malloc((size_t)(size + 64) * BATCH);
	int got = 0, i, n;

	while (got < messages) {
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf + (size_t)i * (size + 64);
			iov[i].iov_len = size + 64;
			memset(&hdrs[i].msg_hdr, 0, sizeof(hdrs[i].msg_hdr));
			hdrs[i].msg_hdr.msg_iov = &iov[i];
			hdrs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, hdrs, echo ? 1 : BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (hdrs[i].msg_len == 0)
				_exit(1);
			if (echo && send(fd, iov[i].iov_base, hdrs[i].msg_len, 0) < 0)
				_exit(1);
		}
		got += n;
	}
	_exit(got == messages ? 0 : 1);
}

int main(int argc, char **argv)
{
	int receivers, messages, size, i, m, lat, status, ok = 1;
	int *socks;
	pid_t *pids;
	char *buf;
	long long t0, t1, *rtt;

	if (argc != 5 || (strcmp(argv[1], "tput") && strcmp(argv[1], "lat"))) {
		fprintf(stderr, "usage: fanout tput|lat RECEIVERS MESSAGES SIZE\n");
		return 2;
	}
	lat = !strcmp(argv[1], "lat");
	receivers = atoi(argv[2]);
	messages = atoi(argv[3]);
	size = atoi(argv[4]);
	if (receivers < 1 || messages < 1 || size < 1)
		return 2;
	socks = calloc(receivers, sizeof(int));
	pids = calloc(receivers, sizeof(pid_t));
	buf = calloc(1, size);
	rtt = calloc(messages, sizeof(long long));
	for (i = 0; i < receivers; i++) {
		int sv[2];
		int sndbuf = 2 * 1024 * 1024;

		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
			perror("socketpair");
			return 1;
		}
		/* Same send buffer as the user backend asks for. */
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		pids[i] = fork();
		if (pids[i] == 0) {
			close(sv[0]);
			receiver(sv[1], messages, size, lat && i == 0);
		}
		close(sv[1]);
		socks[i] = sv[0];
	}
	t0 = now_ns();
	for (m = 0; m < messages; m++) {
		long long s = now_ns();

		memcpy(buf, &m, sizeof(m) < (size_t)size ? sizeof(m) : (size_t)size);
		for (i = 0; i < receivers; i++) {
			if (send(socks[i], buf, size, 0) != size) {
				perror("send");
				return 1;
			}
		}
		if (lat) {
			if (recv(socks[0], buf, size, 0) != size) {
				perror("recv");
				return 1;
			}
			rtt[m] = now_ns() - s;
		}
	}
	for (i = 0; i < receivers; i++) {
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = 0;
	}
	t1 = now_ns();
	if (!ok) {
		fprintf(stderr, "fanout: a receiver failed\n");
		return 1;
	}
	if (lat) {
		qsort(rtt, messages, sizeof(long long), cmp_ll);
		printf("{\"rtt_us_median\":%.2f,\"rtt_us_p99\":%.2f}\n", rtt[messages / 2] / 1e3,
		       rtt[(messages * 99) / 100] / 1e3);
	} else {
		printf("{\"deliveries\":%lld,\"seconds\":%.6f}\n", (long long)messages * receivers,
		       (t1 - t0) / 1e9);
	}
	return 0;
}
