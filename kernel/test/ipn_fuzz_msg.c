// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_fuzz_msg.c - the AF_IPN fuzzer's sendmsg/recvmsg operations: random
 * sizes, flags, addresses and control messages (SCM_RIGHTS with any fd of
 * the table, bad fds, lying lengths), the invariant checks on what comes
 * back, and fd passing over AF_UNIX so that IPN sockets are in flight.
 */
#include "ipn_fuzz.h"

/* Fill a control buffer with 0..3 messages; returns its length. */
static size_t build_cmsgs(struct wctx *w, uint64_t *s, char *cbuf,
			  size_t size)
{
	size_t used = 0;
	int n = rn(s, 3) ? 1 : rn(s, 4), i, k, nfd;

	if (!rn(s, 3))
		return 0;
	for (i = 0; i < n; i++) {
		struct cmsghdr *c = (struct cmsghdr *)(cbuf + used);
		int *fds = (int *)CMSG_DATA(c);

		nfd = rn(s, 4) ? 1 + rn(s, 3) : rn(s, 40);
		if (used + CMSG_SPACE(nfd * sizeof(int)) > size)
			break;
		switch (rn(s, 6)) {
		case 0:	/* credentials: af_unix-only, must be refused */
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_CREDENTIALS;
			break;
		case 1:	/* an IPN control message on send */
			c->cmsg_level = SOL_IPN;
			c->cmsg_type = rn(s, 5);
			break;
		default:
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			break;
		}
		for (k = 0; k < nfd; k++)
			fds[k] = pick_fd(w, s);
		c->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		if (!rn(s, 12))	/* a lying length */
			c->cmsg_len = rn(s, 2) ? rn(s, 12) : rnd(s);
		used += CMSG_SPACE(nfd * sizeof(int));
	}
	return used;
}

void op_send(struct wctx *w, uint64_t *s, char *buf)
{
	union {
		struct sockaddr_ipn_member m;
		struct sockaddr_ipn p;
		char raw[128];
	} to;
	char cbuf[CMSG_SPACE(40 * sizeof(int)) * 3];
	struct iovec iov[3];
	struct msghdr mh = { .msg_iov = iov };
	size_t len = pick_size(s), part;
	int fd = pick_fd(w, s), flags = pick_flags(s, 0);
	ino_t ino;
	ssize_t n;

	memset(&to, 0, sizeof(to));
	switch (rn(s, 6)) {
	case 0: case 1: case 3:	/* unicast: a known member, or itself */
		to.m.sipnm_family = ipn_af();
		if (!rn(s, 3))	/* to itself: its own threads race the reads */
			to.m.sipnm_id = ipn_id(fd);
		else
			to.m.sipnm_id = rn(s, 5) ? w->ids[rn(s, NIDS)] :
				rn(s, 2) ? 1 + rn(s, 12) : rnd(s);
		mh.msg_name = &to;
		mh.msg_namelen = rn(s, 6) ? sizeof(to.m) : rn(s, sizeof(to));
		break;
	case 2:	/* a path address */
		net_path(to.p.sipn_path, sizeof(to.p.sipn_path), rn(s, NNETS));
		to.p.sipn_family = ipn_af();
		mh.msg_name = &to;
		mh.msg_namelen = sizeof(to.p);
		break;
	}
	/* up to three pieces, so paged messages are built from several */
	part = rn(s, 3) ? len : rn(s, len + 1);
	iov[0].iov_base = buf;
	iov[0].iov_len = part;
	iov[1].iov_base = buf + part;
	iov[1].iov_len = len - part;
	mh.msg_iovlen = rn(s, 2) + 1;
	if (mh.msg_iovlen == 1)
		iov[0].iov_len = len;
	mh.msg_control = cbuf;
	mh.msg_controllen = build_cmsgs(w, s, cbuf, sizeof(cbuf));
	if (!mh.msg_controllen)
		mh.msg_control = NULL;
	ino = ipn_sock_ino(fd);
	count(&st->sends);
	n = sendmsg(fd, &mh, flags | MSG_NOSIGNAL);
	if (n < 0) {
		count(&st->send_err[errno < 134 ? errno : 0]);
		return;
	}
	count(&st->sends_ok);
	/* a datagram goes whole (the fd may be an AF_UNIX stream) */
	if ((size_t)n != len && ino && ino == ipn_sock_ino(fd))
		broken(w->seed, "sendmsg sent %zd of %zu bytes", n, len);
}

/* Check what recvmsg handed back; keep some received fds, close others. */
static void check_recv(struct wctx *w, uint64_t *s, struct msghdr *mh,
		       ssize_t n, size_t len, size_t clen, int flags)
{
	struct cmsghdr *c;
	int k, nfd, *fds;

	if ((size_t)n > len && !(flags & MSG_TRUNC))
		broken(w->seed, "recvmsg returned %zd into %zu bytes", n, len);
	if (mh->msg_controllen > clen)
		broken(w->seed, "recvmsg control %zu > buffer %zu",
		       (size_t)mh->msg_controllen, clen);
	if (mh->msg_controllen > clen)
		return;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(c);
		for (k = 0; k < nfd; k++) {
			count(&st->fds_rx);
			if (fcntl(fds[k], F_GETFD) < 0 && errno == EBADF)
				broken(w->seed, "SCM_RIGHTS fd %d not open",
				       fds[k]);
			else if (rn(s, 3))
				close(fds[k]);
			else
				put_fd(w, s, fds[k]);
		}
	}
}

void op_recv(struct wctx *w, uint64_t *s, char *buf)
{
	static const size_t clens[] = { 0, 8, CMSG_SPACE(4),
					CMSG_SPACE(sizeof(int) * 2) + 4, 64,
					4096 };
	char name[128], cbuf[4096];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t len = pick_size(s), clen = clens[rn(s, 6)];
	int fd = pick_fd(w, s), flags = pick_flags(s, 1);
	ssize_t n;

	iov.iov_base = buf;
	iov.iov_len = len;
	if (rn(s, 2)) {
		mh.msg_name = name;
		mh.msg_namelen = rn(s, 4) ? sizeof(name) : rn(s, 24);
	}
	if (clen) {
		mh.msg_control = cbuf;
		mh.msg_controllen = clen;
	}
	count(&st->recvs);
	n = recvmsg(fd, &mh, flags);
	if (n < 0) {
		count(&st->recv_err[errno < 134 ? errno : 0]);
		return;
	}
	count(&st->recvs_ok);
	if (mh.msg_name && mh.msg_namelen >= sizeof(struct sockaddr_ipn_member) &&
	    ((struct sockaddr_ipn_member *)name)->sipnm_family == ipn_af())
		w->ids[rn(s, NIDS)] =
			((struct sockaddr_ipn_member *)name)->sipnm_id;
	check_recv(w, s, &mh, n, len, clen, flags);
}

/* Send an fd over an AF_UNIX socket of the table: IPN sockets in flight. */
void op_unix_pass(struct wctx *w, uint64_t *s)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 2)], b = 'u';
	struct iovec iov = { &b, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * 2);
	((int *)CMSG_DATA(c))[0] = pick_fd(w, s);
	((int *)CMSG_DATA(c))[1] = pick_fd(w, s);
	sendmsg(pick_fd(w, s), &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * Files in flight to oneself, then read back by whichever thread comes
 * first: a peek with room for the fds, a plain read with none, or a read
 * with room.  The worker's threads run this on the same sockets at once,
 * so peeks and reads of one message with fds race each other.
 */
void op_fd_race(struct wctx *w, uint64_t *s, char *buf)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} c;
	struct sockaddr_ipn_member to = { .sipnm_family = ipn_af() };
	struct iovec iov = { buf, 1 + rn(s, 64) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int fd = -1, k, n = 1 + rn(s, 8), flags, p[2];
	ssize_t r;

	for (k = 0; k < 4 && !ipn_sock_ino(fd); k++)
		fd = pick_fd(w, s);
	if (rn(s, 2)) {
		/* a fresh pipe: files that are always accepted */
		if (pipe2(p, O_NONBLOCK))
			return;
		to.sipnm_id = ipn_id(fd);
		mh.msg_name = &to;
		mh.msg_namelen = sizeof(to);
		mh.msg_control = c.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		for (k = 0; k < n; k++)
			((int *)CMSG_DATA(cm))[k] = p[k % 2];
		count(&st->sends);
		if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			count(&st->sends_ok);
		close(p[0]);
		close(p[1]);
		return;
	}
	iov.iov_len = 64;
	flags = MSG_DONTWAIT | (rn(s, 2) ? MSG_PEEK : 0);
	if (rn(s, 3)) {
		mh.msg_control = c.b;
		mh.msg_controllen = rn(s, 2) ? sizeof(c.b) : CMSG_SPACE(sizeof(int));
	}
	count(&st->recvs);
	r = recvmsg(fd, &mh, flags);
	if (r < 0)
		return;
	count(&st->recvs_ok);
	check_recv(w, s, &mh, r, iov.iov_len, mh.msg_control ? sizeof(c.b) : 0,
		   flags);
}
