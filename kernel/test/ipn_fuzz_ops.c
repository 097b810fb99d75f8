// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_fuzz_ops.c - the AF_IPN fuzzer's operations and their random
 * arguments: each draws from the worker thread's random stream and calls
 * one system call (or a few) on the worker's shared fd table.  Sending and
 * receiving are in ipn_fuzz_msg.c.  See ipn_fuzz.c for the whole.
 */
#include "ipn_fuzz.h"

void broken(uint64_t seed, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&st->bad, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
	st->bad_seed = seed;
}

void net_path(char *buf, size_t len, unsigned int i)
{
	snprintf(buf, len, "%s/n%u", dir, i % NNETS);
}

/* An fd from the worker's table, or a bad one now and then. */
int pick_fd(struct wctx *w, uint64_t *s)
{
	int i, fd = -1;

	switch (rn(s, 16)) {
	case 0:
		return -1;
	case 1:
		return 1000 + rn(s, 24);	/* most likely not open */
	default:	/* an open one, most of the time */
		for (i = 0; i < 4; i++) {
			fd = __atomic_load_n(&w->slots[rn(s, NSLOTS)],
					     __ATOMIC_RELAXED);
			if (fd >= 0)
				break;
		}
		return fd;
	}
}

/* Put @fd in a random slot, closing what was there. */
void put_fd(struct wctx *w, uint64_t *s, int fd)
{
	int old;

	if (fd < 0)
		return;
	old = __atomic_exchange_n(&w->slots[rn(s, NSLOTS)], fd,
				  __ATOMIC_RELAXED);
	if (old >= 0)
		close(old);
}

/*
 * The inode of @fd if it is an AF_IPN socket, else 0.  Other threads
 * close and reuse fds at any time: equal inodes before and after a call
 * mean the call went to that socket.
 */
ino_t ipn_sock_ino(int fd)
{
	struct stat sb;
	int domain = -1;
	socklen_t len = sizeof(domain);

	if (fstat(fd, &sb) || !S_ISSOCK(sb.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
	    domain != ipn_af())
		return 0;
	return sb.st_ino;
}

/* Random size: mostly small, sometimes around the paged-message edge. */
size_t pick_size(uint64_t *s)
{
	switch (rn(s, 20)) {
	case 0:
		return 0;
	case 1:
		return 16 * 1024 - 8 + rn(s, 16);
	case 2:
		return BIGMSG - rn(s, 64 * 1024);
	case 3: case 4: case 5:
		return rn(s, 64 * 1024);
	default:
		return rn(s, 512);
	}
}

int pick_flags(uint64_t *s, int recv)
{
	static const int bits[] = {
		MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_WAITALL, MSG_OOB,
		MSG_CMSG_CLOEXEC, MSG_ERRQUEUE, MSG_NOSIGNAL, MSG_MORE,
		MSG_EOR, MSG_CONFIRM, MSG_CTRUNC, 0x40000000,
	};
	int f = 0, i, n = rn(s, 4);

	for (i = 0; i < n; i++)
		f |= bits[rn(s, sizeof(bits) / sizeof(bits[0]))];
	/* mostly non-blocking: a blocked thread stops fuzzing */
	if (rn(s, 8))
		f |= MSG_DONTWAIT;
	if (!recv)
		f &= ~MSG_ERRQUEUE;
	return f;
}

static void op_socket(struct wctx *w, uint64_t *s)
{
	static const int protos[] = { IPN_ANY, IPN_BROADCAST, 2, -1, 255 };
	static const int types[] = { SOCK_RAW, SOCK_RAW, SOCK_DGRAM,
				     SOCK_RAW | SOCK_NONBLOCK,
				     SOCK_RAW | SOCK_CLOEXEC };
	int fd = socket(ipn_af(), types[rn(s, 5)], protos[rn(s, 5)]);

	put_fd(w, s, fd);
}

/* bind or connect to one of the shared networks, odd lengths sometimes */
static void op_bind_connect(struct wctx *w, uint64_t *s, int do_bind)
{
	struct sockaddr_ipn a;
	socklen_t len;
	char p[sizeof(a.sipn_path) + 1];
	int fd = pick_fd(w, s);

	net_path(p, sizeof(p), rn(s, NNETS + 1));
	len = ipn_addr(&a, p);
	switch (rn(s, 10)) {
	case 0:
		len = rn(s, sizeof(a) + 8);
		break;
	case 1:	/* a path filling the whole field, no terminator */
		memset(a.sipn_path, 'x', sizeof(a.sipn_path));
		break;
	case 2:
		a.sipn_family = rn(s, 50);
		break;
	}
	if (do_bind) {
		if (rn(s, 2))
			unlink(p);	/* a stale node stops a new network */
		if (!bind(fd, (struct sockaddr *)&a, len))
			count(&st->binds);
	} else if (!connect(fd, (struct sockaddr *)&a, len)) {
		count(&st->joins);
	}
}

/*
 * A member of one of the shared networks: join it, or create it when
 * nobody is in it (a lossless or lossy network, random MTU and mode),
 * then maybe switch member options on.  Most sends and receives need one.
 */
void op_member(struct wctx *w, uint64_t *s)
{
	static const int modes[] = { 0777, 0666, 0644, 0622, 0600, 0 };
	struct sockaddr_ipn a;
	socklen_t len;
	char p[sizeof(a.sipn_path) + 1];
	int fd = socket(ipn_af(), SOCK_RAW, rn(s, 2) ? IPN_ANY : IPN_BROADCAST);

	if (fd < 0)
		return;
	net_path(p, sizeof(p), rn(s, NNETS));
	len = ipn_addr(&a, p);
	if (!connect(fd, (struct sockaddr *)&a, len)) {
		count(&st->joins);
	} else if (errno == ECONNREFUSED || errno == ENOENT) {
		ipn_setint(fd, IPN_SO_FLAGS, rn(s, 2) ? IPN_FLAG_LOSSLESS : 0);
		ipn_setint(fd, IPN_SO_MODE, modes[rn(s, 6)]);
		if (rn(s, 2))
			ipn_setint(fd, IPN_SO_MTU, 64 + rn(s, BIGMSG));
		unlink(p);
		if (!bind(fd, (struct sockaddr *)&a, len))
			count(&st->binds);
	}
	if (rn(s, 2))
		ipn_setint(fd, IPN_SO_MEMBER_EVENTS, 1);
	if (rn(s, 2))
		ipn_setint(fd, IPN_SO_PASSCRED, 1);
	if (!rn(s, 3))
		ipn_setint(fd, IPN_SO_LOOPBACK, 1);
	if (!rn(s, 3))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, (int[]){ rn(s, 65536) },
			   sizeof(int));
	w->ids[rn(s, NIDS)] = ipn_id(fd);
	put_fd(w, s, fd);
}

/* A classic BPF program: accept all, drop all, or cut to a length. */
static void op_filter(int fd, uint64_t *s)
{
	struct sock_filter code[1] = { { BPF_RET | BPF_K, 0, 0, 0 } };
	struct sock_fprog prog = { 1, code };

	code[0].k = rn(s, 3) == 0 ? 0 : rn(s, 2) ? 0xffffffff : rn(s, 64);
	if (rn(s, 4))
		setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			   sizeof(prog));
	else
		setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0);
}

static void op_setsockopt(struct wctx *w, uint64_t *s)
{
	static const int sol[] = { SO_RCVBUF, SO_SNDBUF, SO_RCVTIMEO,
				   SO_SNDTIMEO, SO_RCVBUFFORCE, SO_PASSCRED,
				   SO_RCVLOWAT, SO_PEEK_OFF, SO_LINGER };
	union {
		int i;
		uint64_t u;
		struct timeval tv;
		char raw[64];
	} v;
	int fd = pick_fd(w, s), level, opt;
	socklen_t len;

	memset(&v, 0, sizeof(v));
	switch (rn(s, 4)) {
	case 0:
		v.i = rn(s, 2);
		break;
	case 1:
		v.i = (int)rnd(s);
		break;
	case 2:
		v.i = rn(s, 300000);
		break;
	default:
		v.tv.tv_usec = 1000 + rn(s, 200000);
		break;
	}
	len = (socklen_t[]){ 4, 4, 4, 8, 16, 0, 1, 64 }[rn(s, 8)];
	if (rn(s, 3)) {
		level = SOL_IPN;
		opt = rn(s, 16);
		/* a small MTU or a lossless network now and then */
		if (opt == IPN_SO_MTU && rn(s, 2))
			v.i = 1 + rn(s, 128 * 1024);
	} else if (rn(s, 6) == 0) {
		op_filter(fd, s);
		return;
	} else {
		level = SOL_SOCKET;
		opt = sol[rn(s, sizeof(sol) / sizeof(sol[0]))];
		/* bounded timeouts, so that blocking calls come back */
		if (opt == SO_RCVTIMEO || opt == SO_SNDTIMEO) {
			v.tv.tv_sec = 0;
			v.tv.tv_usec = 1000 + rn(s, 200000);
			len = sizeof(v.tv);
		}
	}
	setsockopt(fd, level, opt, &v, len);
}

static void op_getsockopt(struct wctx *w, uint64_t *s)
{
	char buf[128];
	socklen_t len = (socklen_t[]){ 0, 1, 4, 7, 8, 24, 128 }[rn(s, 7)];
	int fd = pick_fd(w, s);

	if (rn(s, 4))
		getsockopt(fd, SOL_IPN, rn(s, 16), buf, &len);
	else
		getsockopt(fd, SOL_SOCKET, (int[]){ SO_RCVBUF, SO_SNDBUF,
			   SO_ERROR, SO_TYPE, SO_PROTOCOL, SO_DOMAIN,
			   SO_PEERCRED, SO_MEMINFO }[rn(s, 8)], buf, &len);
}

/* AF_UNIX pairs, pipes and files to pass around. */
static void op_other_fds(struct wctx *w, uint64_t *s)
{
	int p[2];

	switch (rn(s, 5)) {
	case 0:
		if (!socketpair(AF_UNIX, rn(s, 2) ? SOCK_DGRAM : SOCK_STREAM,
				0, p)) {
			put_fd(w, s, p[0]);
			put_fd(w, s, p[1]);
		}
		break;
	case 1:
		if (!pipe2(p, O_NONBLOCK)) {
			put_fd(w, s, p[0]);
			put_fd(w, s, p[1]);
		}
		break;
	case 2:
		put_fd(w, s, open("/proc/net/ipn", O_RDONLY));
		break;
	case 3:
		put_fd(w, s, dup(pick_fd(w, s)));
		break;
	default:
		dup2(pick_fd(w, s), __atomic_load_n(&w->slots[rn(s, NSLOTS)],
						    __ATOMIC_RELAXED));
		break;
	}
}

static void op_misc(struct wctx *w, uint64_t *s, char *buf)
{
	struct sockaddr_ipn a;
	socklen_t len = rn(s, 2) ? sizeof(a) : rn(s, 16);
	struct pollfd pf = { pick_fd(w, s), POLLIN | POLLOUT, 0 };
	int v = 0, fd;

	switch (rn(s, 8)) {
	case 0:
		poll(&pf, 1, rn(s, 3));
		break;
	case 1:
		ioctl(pick_fd(w, s), rn(s, 2) ? SIOCINQ : SIOCOUTQ, &v);
		break;
	case 2:
		getsockname(pick_fd(w, s), (struct sockaddr *)&a, &len);
		break;
	case 3:
		getpeername(pick_fd(w, s), (struct sockaddr *)&a, &len);
		break;
	case 4:
		shutdown(pick_fd(w, s), rn(s, 3));
		break;
	case 5:
		fd = open("/proc/net/ipn", O_RDONLY);
		if (fd >= 0) {
			while (read(fd, buf, 4096) > 0)
				;
			close(fd);
		}
		break;
	case 6:
		listen(pick_fd(w, s), 1);
		break;
	default:
		close(__atomic_exchange_n(&w->slots[rn(s, NSLOTS)], -1,
					  __ATOMIC_RELAXED));
		break;
	}
}

/* A short-lived child sharing the fds (copies of the table), then killed. */
static void op_fork(struct wctx *w, uint64_t *s)
{
	pid_t pid = fork();

	if (pid == 0) {
		close(pick_fd(w, s));
		_exit(0);
	}
	if (pid > 0) {
		if (rn(s, 2))
			kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

void one_op(struct wctx *w, uint64_t *s, char *buf)
{
	count(&st->ops);
	switch (rn(s, 40)) {
	case 36: case 37: case 38: case 39:
		op_fd_race(w, s, buf);
		break;
	case 0:
		op_socket(w, s);
		break;
	case 1: case 2: case 32: case 33: case 34:
		op_member(w, s);
		break;
	case 3: case 4:
		op_bind_connect(w, s, 1);
		break;
	case 5: case 6: case 7:
		op_bind_connect(w, s, 0);
		break;
	case 8: case 9: case 10:
		op_setsockopt(w, s);
		break;
	case 11: case 12:
		op_getsockopt(w, s);
		break;
	case 13: case 14: case 15: case 16: case 17: case 18:
		op_send(w, s, buf);
		break;
	case 19: case 20: case 21: case 22: case 23:
		op_recv(w, s, buf);
		break;
	case 24: case 25:
		op_other_fds(w, s);
		break;
	case 26:
		op_unix_pass(w, s);
		break;
	case 27:
		if (!rn(s, 8))
			op_fork(w, s);
		break;
	default:
		op_misc(w, s, buf);
		break;
	}
}
