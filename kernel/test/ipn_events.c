// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_events.c - functional tests of AF_IPN membership events, run in
 * the test VM as root: the snapshot on switching them on, live JOIN and
 * LEAVE in order with data, the LEAVE of a member killed while others
 * send.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ipn_tap.h"
#include "ipn_test_util.h"

static void test_events(void)
{
	int a = ipn_create(netpath("ev"), -1, -1, -1);
	int b = ipn_open(netpath("ev"), 0);
	int c = socket(ipn_af(), SOCK_RAW, IPN_ANY), d, i, ok, p[2];
	struct sockaddr_ipn addr;
	socklen_t len = ipn_addr(&addr, netpath("ev"));
	struct rmsg m;
	pid_t pid;
	char ch;

	ipn_setint(c, IPN_SO_MEMBER_EVENTS, 1);
	connect(c, (struct sockaddr *)&addr, len);
	ok = 1;
	for (i = 1; i <= 2; i++) {
		if (rmsg_recv(c, &m, MSG_DONTWAIT) != 0 || !m.have_event ||
		    m.ev.event != IPN_EVENT_JOIN || m.ev.id != (unsigned)i ||
		    m.from != (unsigned)i || m.ev.pid != (unsigned)getpid())
			ok = 0;
	}
	tap(ok && !pending(c), "snapshot: one JOIN each for members 1 and 2");
	d = ipn_open(netpath("ev"), 0);
	tap(rmsg_recv(c, &m, MSG_DONTWAIT) == 0 && m.have_event &&
	    m.ev.event == IPN_EVENT_JOIN && m.ev.id == 4, "live JOIN of member 4");
	tap(!pending(a) && !pending(b), "members without events get none");
	send(a, "data", 4, 0);
	close(d);
	tap(rmsg_recv(c, &m, MSG_DONTWAIT) == 4 && !m.have_event &&
	    rmsg_recv(c, &m, MSG_DONTWAIT) == 0 && m.ev.event == IPN_EVENT_LEAVE &&
	    m.ev.id == 4, "events are ordered with data: data, then LEAVE of 4");
	recv(b, &ch, 1, MSG_DONTWAIT);

	/* enabling later sends the snapshot then */
	ipn_setint(b, IPN_SO_MEMBER_EVENTS, 1);
	ok = 1;
	for (i = 0; i < 2; i++)
		if (rmsg_recv(b, &m, MSG_DONTWAIT) != 0 || m.ev.event != IPN_EVENT_JOIN)
			ok = 0;
	tap(ok && !pending(b), "setting IPN_SO_MEMBER_EVENTS later: snapshot of 2 others");

	/* SIGKILL of a member while others keep sending */
	if (pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		int fd = ipn_open(netpath("ev"), 0);

		if (write(p[1], "j", 1) != 1)
			_exit(1);
		pause();
		_exit(fd < 0);
	}
	tap(read(p[0], &ch, 1) == 1 && rmsg_recv(c, &m, 0) == 0 &&
	    m.ev.event == IPN_EVENT_JOIN && m.ev.pid == (unsigned)pid,
	    "JOIN of a child (pid %d, id %llu)", pid, (unsigned long long)m.ev.id);
	{
		unsigned long long cid = m.ev.id;
		int sent = 0, left = 0, data = 0;

		for (i = 0; i < 2000; i++) {
			char buf[100] = "k";

			sent += send(a, buf, sizeof(buf), MSG_DONTWAIT) > 0;
			if (i == 50)
				kill(pid, SIGKILL);
			while (rmsg_recv(c, &m, MSG_DONTWAIT) >= 0) {
				if (m.have_event && m.ev.event == IPN_EVENT_LEAVE &&
				    m.ev.id == cid && m.ev.pid == (unsigned)pid)
					left = 1;
				else if (!m.have_event)
					data++;
			}
			if (left)
				break;
			if (i > 50)
				usleep(1000);
		}
		waitpid(pid, NULL, 0);
		tap(left, "LEAVE seen for the SIGKILLed child after %d sends", sent);
		errno = 0;
		tap(send_to(a, cid, "x", 1, NULL, 0) < 0 && errno == EHOSTUNREACH,
		    "the killed member's id is unreachable");
	}
	close(p[0]);
	close(p[1]);
	close(a);
	close(b);
	close(c);
	unlink(netpath("ev"));
}

int main(int argc, char **argv)
{
	tests_begin("ipn-events", 300, 0755);
	test_events();
	return tests_end();
}
