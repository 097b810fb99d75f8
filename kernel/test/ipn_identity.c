// SPDX-License-Identifier: GPL-2.0
/*
 * ipn_identity.c - functional tests of AF_IPN, run in the test VM as
 * root (parts as uid 65534): who may join a network and what a member may
 * do (the node's permission bits), who sent a message (credentials, also
 * seen from another pid namespace), and /proc/net/ipn (what it lists, to
 * whom, from which network namespace).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ipn_tap.h"
#include "ipn_test_util.h"

struct ro_args {
	const char *path;
	int pipe_w;
	int expect_data;	/* 1: must receive, 0: must not */
};

static int ro_member(void *p)
{
	struct ro_args *a = p;
	char buf[16];
	int fd = ipn_open(a->path, 0), r = 0;

	if (fd < 0)
		return 3;
	if (a->expect_data) {
		if (send(fd, "x", 1, 0) >= 0 || errno != EACCES)
			r |= 4;
	} else {
		if (send(fd, "w", 1, 0) != 1)
			r |= 4;
	}
	if (write(a->pipe_w, "j", 1) != 1)
		return 5;
	if (a->expect_data) {
		if (!readable(fd, 5000) || recv(fd, buf, sizeof(buf), 0) != 4 ||
		    memcmp(buf, "data", 4))
			r |= 8;
	} else {
		if (readable(fd, 300))
			r |= 8;
	}
	close(fd);
	return r;
}

static void test_permissions(void)
{
	int a, p[2], st;
	char c;
	struct ro_args args;

	a = ipn_create(netpath("priv"), 0700, -1, -1);
	st = as_nobody(try_join, (void *)netpath("priv"));
	tap(st == 1, "nobody connecting to a 0700 network -> EACCES (%d)", st);
	close(a);
	unlink(netpath("priv"));

	a = ipn_create(netpath("ro"), 0744, -1, -1);
	if (pipe(p))
		return;
	args = (struct ro_args){ netpath("ro"), p[1], 1 };
	{
		pid_t pid = fork();

		if (pid == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(100);
			_exit(ro_member(&args));
		}
		tap(read(p[0], &c, 1) == 1, "nobody joined the 0744 network");
		tap(send(a, "data", 4, 0) == 4, "owner broadcasts");
		waitpid(pid, &st, 0);
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 200;
		tap(st == 0, "0744: other uid receives, but its send -> EACCES (%d)", st);
	}
	close(a);
	unlink(netpath("ro"));

	a = ipn_create(netpath("wo"), 0722, -1, -1);
	args = (struct ro_args){ netpath("wo"), p[1], 0 };
	{
		pid_t pid = fork();
		struct rmsg m;

		if (pid == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(100);
			_exit(ro_member(&args));
		}
		tap(read(p[0], &c, 1) == 1, "nobody joined the 0722 network");
		tap(rmsg_recv(a, &m, 0) == 1 && m.data[0] == 'w' && m.from == 2,
		    "0722: write-only member can send");
		send(a, "data", 4, 0);
		waitpid(pid, &st, 0);
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 200;
		tap(st == 0, "0722: write-only member receives nothing (%d)", st);
	}
	close(a);
	close(p[0]);
	close(p[1]);
	unlink(netpath("wo"));
}

static void test_creds(void)
{
	int a = ipn_create(netpath("creds"), 0777, -1, -1);
	int r = ipn_open(netpath("creds"), 0);
	struct rmsg m;
	pid_t pid;
	int p[2], st;

	tap(ipn_setint(r, IPN_SO_PASSCRED, 1) == 0, "IPN_SO_PASSCRED on");
	send(a, "me", 2, 0);
	st = rmsg_recv(r, &m, MSG_DONTWAIT) == 2 && m.have_creds &&
	     m.creds.pid == (unsigned)getpid() && m.creds.uid == 0 &&
	     m.creds.gid == 0;
	tap(st, "IPN_CMSG_CREDS: pid %u uid %u gid %u", m.creds.pid,
	    m.creds.uid, m.creds.gid);
	if (pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		int fd;
		char c;

		if (setgid(65534) || setuid(65534))
			_exit(100);
		fd = ipn_open(netpath("creds"), 0);
		send(fd, "nb", 2, 0);
		if (read(p[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	st = readable(r, 5000) && rmsg_recv(r, &m, 0) == 2 && m.have_creds &&
	     m.creds.pid == (unsigned)pid && m.creds.uid == 65534 &&
	     m.creds.gid == 65534;
	tap(st, "creds of another process: pid %u uid %u", m.creds.pid,
	    m.creds.uid);
	if (write(p[1], "x", 1) != 1)
		diag("pipe");
	waitpid(pid, &st, 0);
	ipn_setint(r, IPN_SO_PASSCRED, 0);
	send(a, "no", 2, 0);
	tap(rmsg_recv(r, &m, MSG_DONTWAIT) == 2 && !m.have_creds,
	    "no IPN_CMSG_CREDS once switched off");
	/* The pid is referenced at queue time only for receivers that ask. */
	send(a, "ea", 2, 0);
	ipn_setint(r, IPN_SO_PASSCRED, 1);
	st = rmsg_recv(r, &m, MSG_DONTWAIT) == 2 && m.have_creds &&
	     m.creds.pid == 0 && m.creds.uid == 0;
	tap(st, "queued before IPN_SO_PASSCRED: creds with pid %u (0)",
	    m.creds.pid);
	ipn_setint(r, IPN_SO_PASSCRED, 0);
	close(p[0]);
	close(p[1]);
	close(a);
	close(r);
	unlink(netpath("creds"));
}

/* Receive one message with credentials (in a new pid namespace). */
static int ns_receiver(const char *path, int pipe_w, struct ipn_creds *out)
{
	int fd = ipn_open(path, 0);
	struct rmsg m;

	if (fd < 0 || ipn_setint(fd, IPN_SO_PASSCRED, 1))
		return 1;
	if (write(pipe_w, "j", 1) != 1 || !readable(fd, 5000) ||
	    rmsg_recv(fd, &m, 0) != 2 || !m.have_creds)
		return 2;
	*out = m.creds;
	return 0;
}

static void test_namespaces(void)
{
	int a = ipn_create(netpath("ns"), 0777, -1, -1);
	int p[2], q[2], st;
	struct ipn_creds cr;
	char ch;
	pid_t pid;

	if (pipe(p) || pipe(q))
		return;
	/* pid namespace: the sender is not visible there, so pid 0 */
	pid = fork();
	if (pid == 0) {
		pid_t inner;

		if (unshare(CLONE_NEWPID)) {
			if (write(p[1], "x", 1) != 1)
				_exit(11);
			_exit(10);
		}
		inner = fork();
		if (inner == 0) {
			int r = ns_receiver(netpath("ns"), p[1], &cr);

			if (write(q[1], &cr, sizeof(cr)) != sizeof(cr))
				r = 3;
			_exit(r | (getpid() == 1 ? 0 : 4));
		}
		waitpid(inner, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 20);
	}
	memset(&cr, 0xff, sizeof(cr));
	if (read(p[0], &ch, 1) == 1 && ch == 'j')
		send(a, "ns", 2, 0);
	waitpid(pid, &st, 0);
	st = WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	     read(q[0], &cr, sizeof(cr)) == sizeof(cr) && cr.pid == 0 &&
	     cr.uid == 0;
	tap(st, "creds in a child pid namespace: sender's pid not visible -> 0 (%u)",
	    cr.pid);

	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(a);
	unlink(netpath("ns"));
}

static void test_proc(void)
{
	int a = ipn_create(netpath("proc net"), -1, -1, -1);
	int b = ipn_open(netpath("proc net"), 0);
	FILE *f;
	char line[512], path[256], want[256];
	unsigned long long id, drops;
	int pid, uid, rxq, found = 0, rx_ok = 0, header = 0;

	send(a, "queued", 6, 0);
	/* the path is escaped: the space becomes \040 */
	snprintf(want, sizeof(want), "%s/proc\\040net", dir);
	f = fopen("/proc/net/ipn", "r");
	tap(f != NULL, "/proc/net/ipn exists");
	if (!f)
		goto out;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Path Id Pid Uid RxQueue Drops", 29)) {
			header = 1;
			continue;
		}
		if (sscanf(line, "%255s %llu %d %d %d %llu", path, &id, &pid, &uid,
			   &rxq, &drops) != 6 || strcmp(path, want))
			continue;
		if (pid == getpid() && uid == 0 && drops == 0 && (id == 1 || id == 2))
			found++;
		if (id == 2 && rxq > 0)
			rx_ok = 1;
	}
	fclose(f);
	tap(header && found == 2, "/proc/net/ipn lists both members (path, id, pid, uid, drops)");
	tap(rx_ok, "/proc/net/ipn shows member 2's queued bytes");
out:
	close(a);
	close(b);
	f = fopen("/proc/net/ipn", "r");
	found = 0;
	while (f && fgets(line, sizeof(line), f))
		found += strstr(line, "proc\\040net") != NULL;
	if (f)
		fclose(f);
	tap(found == 0, "closed members disappear from /proc/net/ipn");
	unlink(netpath("proc net"));
}

struct ns_args {
	const char *own;	/* network to create in the new namespace */
	int ready_w, done_r;
};

/*
 * In a new network namespace: report how many lines of the test's
 * directory are listed (must be only our own network's), then hold our
 * network until told.
 */
static int in_new_netns(void *p)
{
	struct ns_args *a = p;
	int fd, header, all, own;
	char go;

	if (unshare(CLONE_NEWNET))
		return 100;
	fd = ipn_create(a->own, 0777, -1, -1);
	if (fd < 0)
		return 101;
	all = proc_lines(dir, &header);
	own = proc_lines(a->own, NULL);
	printf("# new netns: %d lines of %s listed, %d of them its own network\n",
	       all, dir, own);
	fflush(stdout);
	if (write(a->ready_w, "r", 1) != 1)
		return 102;
	if (read(a->done_r, &go, 1) != 1)
		return 103;
	close(fd);
	return header && all == 1 && own == 1 ? 0 : 1;
}

static int nobody_proc(void *p)
{
	const char **names = p;
	int pub = proc_lines(names[0], NULL), priv = proc_lines(names[1], NULL);

	printf("# uid %d sees %d line(s) of the 0777 network, %d of the 0700 one\n",
	       NOBODY, pub, priv);
	fflush(stdout);
	return pub == 1 && priv == 0 ? 0 : 1;
}

/*
 * Issue 15 item 7: /proc/net/ipn lists only the reader's network
 * namespace, and only networks whose node the reader may open.
 */
static void test_proc_visibility(void)
{
	const char *pub = netpath("proc-public"), *priv = netpath("proc-private");
	const char *own = netpath("proc-other-ns");
	const char *names[2] = { pub, priv };
	struct ns_args args;
	int a = ipn_create(pub, 0777, -1, -1), b = ipn_create(priv, 0700, -1, -1);
	int p1[2], p2[2], st, seen;
	pid_t pid;
	char ch;

	if (a < 0 || b < 0 || pipe(p1) || pipe(p2)) {
		tap(0, "proc: set-up failed: %s", strerror(errno));
		return;
	}
	tap(proc_lines(pub, NULL) == 1 && proc_lines(priv, NULL) == 1,
	    "proc: root in the initial namespace sees both networks");
	args = (struct ns_args){ own, p1[1], p2[0] };
	pid = fork();
	if (pid == 0)
		_exit(in_new_netns(&args));
	seen = -1;
	if (read(p1[0], &ch, 1) == 1)
		seen = proc_lines(own, NULL);
	if (write(p2[1], "d", 1) != 1)
		seen = -1;
	waitpid(pid, &st, 0);
	tap(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "proc: from unshare -n, none of the initial namespace's networks is listed (status %d)",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	tap(seen == 0, "proc: a network of the other namespace is not listed here (%d)",
	    seen);
	st = as_nobody(nobody_proc, names);
	tap(st == 0, "proc: uid %d sees the 0777 network and nothing of root's 0700 one",
	    NOBODY);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
	close(a);
	close(b);
	unlink(pub);
	unlink(priv);
	unlink(own);
}

int main(int argc, char **argv)
{
	tests_begin("ipn-identity", 300, 0755);
	test_permissions();
	test_creds();
	test_namespaces();
	test_proc();
	test_proc_visibility();
	return tests_end();
}
