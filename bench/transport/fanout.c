// SPDX-License-Identifier: MIT
/*
 * fanout.c - the C baseline for bench/transport.mjs: one sender, N receiver
 * processes, each on its own AF_UNIX SOCK_SEQPACKET connection, one send per
 * receiver per broadcast (what a user-space mesh must do, with no runtime).
 *
 *   fanout tput RECEIVERS MESSAGES SIZE [PROCS] -> {"deliveries":..,"seconds":..}
 *   fanout lat  RECEIVERS ROUNDS SIZE [PROCS]   -> {"rtt_us_median":..,"rtt_us_p99":..}
 *
 * The receivers live in PROCS processes (default: one each), each watching
 * its sockets with epoll: bench/transport.mjs passes the same grouping its
 * Node member hosts use, so both sides pay for the same wake-ups.
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
#include <sys/epoll.h>
#include <sys/wait.h>
#include "../c/bench-clock.h"

/* Batched reads (recvmmsg), as a tuned C receiver would do. */
#define BATCH 64

/*
 * One receiver process owning `n` sockets (members), like a Node process
 * hosting several members: epoll for readiness, recvmmsg on each ready
 * socket. Exits 0 once every socket has had `messages` datagrams.
 */
static void receiver(int *fds, int n, int messages, int size, int echo_fd)
{
	struct mmsghdr hdrs[BATCH];
	struct iovec iov[BATCH];
	struct epoll_event evs[64];
	char *buf = malloc((size_t)(size + 64) * BATCH);
	int *got = calloc(n, sizeof(int));
	int done = 0, ep, i, k, r, e;

	ep = epoll_create1(0);
	for (i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}
	while (done < n) {
		e = epoll_wait(ep, evs, 64, -1);
		if (e < 0)
			_exit(1);
		for (k = 0; k < e; k++) {
			int s = evs[k].data.u32;

			for (i = 0; i < BATCH; i++) {
				iov[i].iov_base = buf + (size_t)i * (size + 64);
				iov[i].iov_len = size + 64;
				memset(&hdrs[i].msg_hdr, 0, sizeof(hdrs[i].msg_hdr));
				hdrs[i].msg_hdr.msg_iov = &iov[i];
				hdrs[i].msg_hdr.msg_iovlen = 1;
			}
			r = recvmmsg(fds[s], hdrs, BATCH, MSG_DONTWAIT, NULL);
			if (r <= 0)
				continue;
			for (i = 0; i < r; i++) {
				if (hdrs[i].msg_len == 0)
					_exit(1);
				if (fds[s] == echo_fd &&
				    send(echo_fd, iov[i].iov_base, hdrs[i].msg_len, 0) < 0)
					_exit(1);
			}
			if (got[s] < messages && (got[s] += r) >= messages)
				done++;
		}
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	int receivers, messages, size, procs, i, m, p, lat, status, ok = 1;
	int *socks, *peer, *mine;
	pid_t *pids;
	char *buf;
	long long t0, t1, *rtt;

	if ((argc != 5 && argc != 6) || (strcmp(argv[1], "tput") && strcmp(argv[1], "lat"))) {
		fprintf(stderr, "usage: fanout tput|lat RECEIVERS MESSAGES SIZE [PROCS]\n");
		return 2;
	}
	lat = !strcmp(argv[1], "lat");
	receivers = atoi(argv[2]);
	messages = atoi(argv[3]);
	size = atoi(argv[4]);
	procs = argc == 6 ? atoi(argv[5]) : receivers;
	if (receivers < 1 || messages < 1 || size < 1 || procs < 1)
		return 2;
	if (procs > receivers)
		procs = receivers;
	socks = calloc(receivers, sizeof(int));
	peer = calloc(receivers, sizeof(int));
	mine = calloc(receivers, sizeof(int));
	pids = calloc(procs, sizeof(pid_t));
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
		socks[i] = sv[0];
		peer[i] = sv[1];
	}
	/* Receiver i lives in process i % procs. */
	for (p = 0; p < procs; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			int n = 0;

			for (i = p; i < receivers; i += procs)
				mine[n++] = peer[i];
			receiver(mine, n, messages, size, lat ? peer[0] : -1);
		}
	}
	for (i = 0; i < receivers; i++)
		close(peer[i]);
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
	for (p = 0; p < procs; p++) {
		waitpid(pids[p], &status, 0);
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
