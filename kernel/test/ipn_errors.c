// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_errors.c - functional tests of AF_IPN, run in the test VM as root:
 * every misuse the contract names gets its errno (unconnected sockets,
 * bad options, addresses, control messages, a node with only x for
 * others), and 3000 calls with junk arguments leave the sockets working.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "ipn_tap.h"
#include "ipn_test_util.h"

static void test_errors(void)
{
	int fd, a, f;
	char buf[8];
	struct sockaddr_ipn_member to = { .sipnm_family = 1, .sipnm_id = 1 };

	fd = socket(ipn_af(), SOCK_RAW, IPN_BROADCAST);
	errno = 0;
	tap(send(fd, "x", 1, 0) < 0 && errno == ENOTCONN, "send unconnected -> ENOTCONN");
	errno = 0;
	tap(recv(fd, buf, 1, MSG_DONTWAIT) < 0 && errno == ENOTCONN,
	    "recv unconnected -> ENOTCONN");
	errno = 0;
	tap(ipn_setint(fd, IPN_SO_MODE, 01777) < 0 && errno == EINVAL,
	    "IPN_SO_MODE 01777 -> EINVAL");
	errno = 0;
	tap(ipn_setint(fd, IPN_SO_FLAGS, 0x100) < 0 && errno == EINVAL,
	    "IPN_SO_FLAGS unknown bit -> EINVAL");
	errno = 0;
	tap(ipn_setint(fd, IPN_SO_MTU, IPN_MTU_MAX + 1) < 0 && errno == EINVAL,
	    "IPN_SO_MTU > IPN_MTU_MAX -> EINVAL");
	errno = 0;
	tap(ipn_setint(fd, 99, 1) < 0 && errno == ENOPROTOOPT,
	    "unknown option -> ENOPROTOOPT");
	errno = 0;
	tap(ipn_id(fd) == 0 && errno == ENOTCONN, "IPN_SO_MEMBER_ID unconnected -> ENOTCONN");
	errno = 0;
	{
		struct sockaddr_ipn a2;

		ipn_addr(&a2, netpath("nothere"));
		tap(connect(fd, (struct sockaddr *)&a2, sizeof(a2)) < 0 &&
		    errno == ENOENT, "connect to a missing path -> ENOENT");
		f = open(netpath("plain"), O_CREAT | O_WRONLY, 0666);
		close(f);
		ipn_addr(&a2, netpath("plain"));
		errno = 0;
		tap(connect(fd, (struct sockaddr *)&a2, sizeof(a2)) < 0 &&
		    errno == ECONNREFUSED, "connect to a regular file -> ECONNREFUSED");
		unlink(netpath("plain"));
		a2.sipn_family = 1;
		errno = 0;
		tap(connect(fd, (struct sockaddr *)&a2, sizeof(a2)) < 0 &&
		    errno == EAFNOSUPPORT, "connect with AF_UNIX address -> EAFNOSUPPORT");
		errno = 0;
		tap(connect(fd, (struct sockaddr *)&a2, 1) < 0 && errno == EINVAL,
		    "connect with a 1-byte address -> EINVAL");
	}
	close(fd);

	a = ipn_create(netpath("err"), -1, -1, -1);
	errno = 0;
	tap(sendto(a, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) < 0 &&
	    errno == EAFNOSUPPORT, "unicast with a wrong family -> EAFNOSUPPORT");
	errno = 0;
	tap(sendto(a, "x", 1, 0, (struct sockaddr *)&to, 4) < 0 && errno == EINVAL,
	    "unicast with a short address -> EINVAL");
	close(a);
	unlink(netpath("err"));
}

static void test_bad_input(void)
{
	int a = ipn_create(netpath("bad"), -1, -1, -1);
	int b = ipn_open(netpath("bad"), 0);
	unsigned long long id;
	socklen_t len;
	int v = 1, i, p[2], q[2], crashed = 0;
	char buf[64];
	struct sockaddr_ipn big;

	errno = 0;
	tap(setsockopt(a, SOL_IPN, IPN_SO_LOOPBACK, &v, 0) < 0 && errno == EINVAL,
	    "setsockopt with optlen 0 -> EINVAL");
	errno = 0;
	tap(setsockopt(a, SOL_IPN, IPN_SO_LOOPBACK, NULL, sizeof(int)) < 0 &&
	    errno == EFAULT, "setsockopt with NULL optval -> EFAULT");
	len = 4;
	errno = 0;
	tap(getsockopt(a, SOL_IPN, IPN_SO_MEMBER_ID, &id, &len) < 0 && errno == EINVAL,
	    "getsockopt of a u64 into 4 bytes -> EINVAL");
	len = sizeof(id);
	errno = 0;
	tap(getsockopt(a, SOL_IPN, IPN_SO_MEMBER_ID, NULL, &len) < 0 && errno == EFAULT,
	    "getsockopt with NULL optval -> EFAULT");
	errno = 0;
	tap(ipn_setint(a, IPN_SO_DROPS, 1) < 0 && errno == EPERM,
	    "setting a read-only option -> EPERM");
	memset(&big, 'x', sizeof(big));
	big.sipn_family = ipn_af();
	v = socket(ipn_af(), SOCK_RAW, 0);
	errno = 0;
	tap(connect(v, (struct sockaddr *)&big, sizeof(big)) < 0 && errno == ENOENT,
	    "a 108-byte path with no NUL is taken as 108 bytes (ENOENT)");
	close(v);
	{
		struct {
			struct cmsghdr h;
			int creds[3];
		} c = { { sizeof(c), SOL_SOCKET, SCM_CREDENTIALS }, { 0, 0, 0 } };
		struct iovec iov = { buf, 1 };
		struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = &c, .msg_controllen = sizeof(c) };

		errno = 0;
		tap(sendmsg(a, &h, MSG_DONTWAIT) < 0 && errno == EINVAL,
		    "SCM_CREDENTIALS on send -> EINVAL");
		c.h.cmsg_len = 4096;
		errno = 0;
		tap(sendmsg(a, &h, MSG_DONTWAIT) < 0 && errno == EINVAL,
		    "a control message longer than its buffer -> EINVAL");
	}
	/* fds with no room for them: MSG_CTRUNC, and the files are not kept */
	if (pipe(p) || pipe(q))
		return;
	send_to(a, ipn_id(b), "f", 1, &q[1], 1);
	close(q[1]);
	{
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };
		int fl;

		tap(recvmsg(b, &h, MSG_DONTWAIT) == 1 && (h.msg_flags & MSG_CTRUNC),
		    "fds without a control buffer: MSG_CTRUNC");
		fl = fcntl(q[0], F_GETFL);
		fcntl(q[0], F_SETFL, fl | O_NONBLOCK);
		tap(read(q[0], buf, 1) == 0, "... and the dropped fds are released");
	}
	close(p[0]);
	close(p[1]);
	close(q[0]);

	/* random calls: whatever they return, the kernel must stay clean */
	srand(42);
	for (i = 0; i < 3000; i++) {
		int fd = rand() % 2 ? a : b, opt = rand() % 12, val = rand() - RAND_MAX / 2;
		unsigned char junk[160];
		socklen_t jl = rand() % sizeof(junk);
		struct sockaddr_ipn_member to = { ipn_af(), { 0 }, rand() % 5 };

		for (v = 0; v < (int)sizeof(junk); v++)
			junk[v] = rand();
		switch (rand() % 8) {
		case 0:
			setsockopt(fd, rand() % 2 ? SOL_IPN : SOL_SOCKET, opt, &val,
				   rand() % 9);
			break;
		case 1:
			getsockopt(fd, SOL_IPN, opt, junk, &jl);
			break;
		case 2:
			sendto(fd, junk, rand() % sizeof(junk), MSG_DONTWAIT,
			       (struct sockaddr *)junk, jl);
			break;
		case 3:
			sendto(fd, junk, rand() % sizeof(junk), MSG_DONTWAIT,
			       (struct sockaddr *)&to, sizeof(to));
			break;
		case 4:
			recv(fd, junk, rand() % sizeof(junk),
			     MSG_DONTWAIT | (rand() % 2 ? MSG_PEEK : 0) |
			     (rand() % 2 ? MSG_TRUNC : 0));
			break;
		case 5:
			connect(fd, (struct sockaddr *)junk, jl);
			break;
		case 6:
			bind(fd, (struct sockaddr *)junk, jl);
			break;
		default:
			ioctl(fd, rand() % 2 ? FIONREAD : TIOCOUTQ, &val);
		}
	}
	tap(!crashed && send(a, "ok", 2, 0) == 2,
	    "3000 random calls with junk arguments: sockets still work");
	close(a);
	close(b);
	unlink(netpath("bad"));
}

static void test_addresses(void)
{
	const char *path = netpath("sendto");
	struct sockaddr_ipn_member padded = {
		.sipnm_family = ipn_af(), .sipnm_pad = { 1, 0, 0 },
	};
	struct sockaddr_ipn pa;
	int a = ipn_create(path, 0771, -1, -1), b = ipn_open(path, 0), e;
	char buf[8];

	ipn_addr(&pa, path);
	e = sendto(a, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&pa,
		   sizeof(pa)) < 0 ? errno : 0;
	tap(e == EINVAL && recv(b, buf, sizeof(buf), MSG_DONTWAIT) < 0,
	    "sendto: a path address is EINVAL, not read as a member id (%s)",
	    strerror(e));
	padded.sipnm_id = ipn_id(b);
	e = sendto(a, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&padded,
		   sizeof(padded)) < 0 ? errno : 0;
	tap(e == EINVAL,
	    "sendto: a member address with a non-zero pad is EINVAL (%s)",
	    strerror(e));
	recv(b, buf, sizeof(buf), MSG_DONTWAIT);
	padded.sipnm_pad[0] = 0;
	tap(sendto(a, "x", 1, MSG_DONTWAIT, (struct sockaddr *)&padded,
		   sizeof(padded)) == 1 && recv(b, buf, sizeof(buf), 0) == 1,
	    "sendto: the member address itself still works");
	tap(as_nobody(try_join, (void *)path) == 1,
	    "x: others with only x on the node (0771) may not join: EACCES");
	close(b);
	close(a);
	unlink(path);
}

int main(int argc, char **argv)
{
	tests_begin("ipn-errors", 300, 0755);
	test_errors();
	test_bad_input();
	test_addresses();
	return tests_end();
}
