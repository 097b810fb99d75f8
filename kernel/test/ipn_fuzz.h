/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipn_fuzz.h - what the AF_IPN fuzzer's two halves share: the random
 * stream, the shared counters, one worker's fd table, the operations.
 * ipn_fuzz.c runs the worker pool; ipn_fuzz_ops.c and ipn_fuzz_msg.c hold
 * the operations.
 */
#ifndef IPN_FUZZ_H
#define IPN_FUZZ_H

#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <linux/filter.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
/* ipn_tap.h has helpers this program does not need */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "ipn_tap.h"

#ifndef SIOCINQ
#define SIOCINQ		0x541B
#endif
#ifndef SIOCOUTQ
#define SIOCOUTQ	0x5411
#endif

#define NSLOTS		16	/* fds one worker juggles */
#define NNETS		4	/* network paths shared by all workers */
#define NIDS		8	/* member ids a worker remembers */
#define MAXWORKERS	16
#define MAXTHREADS	8
#define BIGMSG		(300 * 1024)


/* Counters shared by all workers (MAP_SHARED). */
struct stats {
	uint64_t ops, sends, sends_ok, recvs, recvs_ok, fds_rx, binds, joins;
	uint64_t workers, kills;
	uint64_t send_err[134], recv_err[134];	/* by errno */
	int bad;		/* an invariant broke */
	char why[256];
	uint64_t bad_seed;
};

/* One worker process: its threads share the slots. */
struct wctx {
	uint64_t seed;
	double until;
	int slots[NSLOTS];
	uint64_t ids[NIDS];	/* member ids seen: unicast targets */
};

extern struct stats *st;	/* MAP_SHARED by every worker */
extern char dir[64];		/* the networks' directory */

static inline double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* splitmix64: small, fast, and every seed gives a good stream */
static inline uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline unsigned int rn(uint64_t *s, unsigned int n)
{
	return n ? rnd(s) % n : 0;
}

static inline void count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* Record the first broken invariant (and the worker seed that broke it). */
void broken(uint64_t seed, const char *fmt, ...);
/* The path of shared network @i. */
void net_path(char *buf, size_t len, unsigned int i);
/* An fd of the table (now and then a bad one). */
int pick_fd(struct wctx *w, uint64_t *s);
/* Put @fd in a random slot of the table, closing what was there. */
void put_fd(struct wctx *w, uint64_t *s, int fd);
/* The inode of @fd when it is an AF_IPN socket, else 0. */
ino_t ipn_sock_ino(int fd);
/* A random message size: mostly small, sometimes at the paging edges. */
size_t pick_size(uint64_t *s);
/* Random MSG_* flags, mostly with MSG_DONTWAIT. */
int pick_flags(uint64_t *s, int recv);
/* The operations of ipn_fuzz_msg.c. */
void op_send(struct wctx *w, uint64_t *s, char *buf);
void op_recv(struct wctx *w, uint64_t *s, char *buf);
void op_unix_pass(struct wctx *w, uint64_t *s);
void op_fd_race(struct wctx *w, uint64_t *s, char *buf);
/* Join or create one of the shared networks; the fd goes in the table. */
void op_member(struct wctx *w, uint64_t *s);
/* One random operation with @buf (BIGMSG bytes) as data buffer. */
void one_op(struct wctx *w, uint64_t *s, char *buf);

#endif /* IPN_FUZZ_H */
