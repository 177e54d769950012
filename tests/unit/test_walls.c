/* SPDX-License-Identifier: MIT */
/* Unit tests for the kernel walls' pure parts: socket allow-list matching,
 * the netlink requests the send gate refuses, the Landlock rule list,
 * resource mechanism names. No privileges. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/steps.h"
#include "supervisor/unixsock.h"
#include "tap.h"

static int
test_socket_exact(void)
{
	char *allowed[] = { (char *)"/var/run/docker.sock" };

	CHECK(sv_unixsock_name_allowed(allowed, 1, "/var/run/docker.sock"));
	CHECK(!sv_unixsock_name_allowed(allowed, 1, "/var/run/docker.sock2"));
	CHECK(!sv_unixsock_name_allowed(allowed, 1, "/run/docker.sock"));
	CHECK(!sv_unixsock_name_allowed(allowed, 0, "/var/run/docker.sock"));
	return 0;
}

static int
test_socket_glob(void)
{
	char *allowed[] = { NULL, (char *)"/run/user/*/bus", (char *)"/tmp/.X11-unix/X[0-9]" };

	CHECK(sv_unixsock_name_allowed(allowed, 3, "/run/user/1000/bus"));
	/* FNM_PATHNAME: a star never crosses a slash. */
	CHECK(!sv_unixsock_name_allowed(allowed, 3, "/run/user/1000/x/bus"));
	CHECK(sv_unixsock_name_allowed(allowed, 3, "/tmp/.X11-unix/X0"));
	CHECK(!sv_unixsock_name_allowed(allowed, 3, "/tmp/.X11-unix/X10"));
	CHECK(!sv_unixsock_name_allowed(allowed, 3, "/run/docker.sock"));
	return 0;
}

/* Append one netlink message of type/flags with plen payload bytes at buf+*off. */
static void
nl_put(unsigned char *buf, size_t *off, unsigned short type, unsigned short flags, size_t plen)
{
	struct nlmsghdr h = { .nlmsg_len = (unsigned)NLMSG_LENGTH(plen),
			      .nlmsg_type = type,
			      .nlmsg_flags = flags };

	memcpy(buf + *off, &h, sizeof(h));
	memset(buf + *off + NLMSG_HDRLEN, 0, plen);
	*off += NLMSG_ALIGN(h.nlmsg_len);
}

static int
test_netlink_refused(void)
{
	unsigned char buf[256];
	size_t n;

	/* rtnl_net_getid looks NETNSA_PID/FD up in the sender's context */
	n = 0;
	nl_put(buf, &n, RTM_GETNSID, NLM_F_REQUEST, 12);
	CHECK(sv_unixsend_netlink_refused(buf, n));
	/* the dump names no process (ip netns list-id) */
	n = 0;
	nl_put(buf, &n, RTM_GETNSID, NLM_F_REQUEST | NLM_F_DUMP, 4);
	CHECK(!sv_unixsend_netlink_refused(buf, n));
	/* getifaddrs, ip addr */
	n = 0;
	nl_put(buf, &n, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 16);
	nl_put(buf, &n, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 8);
	CHECK(!sv_unixsend_netlink_refused(buf, n));
	/* a second message in the same send counts too, odd lengths aligned */
	n = 0;
	nl_put(buf, &n, RTM_GETLINK, NLM_F_REQUEST, 3);
	nl_put(buf, &n, RTM_GETNSID, NLM_F_REQUEST, 12);
	CHECK(sv_unixsend_netlink_refused(buf, n));
	/* the kernel stops at a bad length, and so does the walk */
	n = 0;
	nl_put(buf, &n, RTM_GETLINK, NLM_F_REQUEST, 4);
	{
		struct nlmsghdr bad = { .nlmsg_len = 8, .nlmsg_type = RTM_GETLINK };

		memcpy(buf + n, &bad, sizeof(bad));
		n += sizeof(bad);
	}
	nl_put(buf, &n, RTM_GETNSID, NLM_F_REQUEST, 12);
	CHECK(!sv_unixsend_netlink_refused(buf, n));
	/* short buffers */
	CHECK(!sv_unixsend_netlink_refused(buf, 0));
	CHECK(!sv_unixsend_netlink_refused(buf, NLMSG_HDRLEN - 1));
	return 0;
}

static int
find_rule(const struct sb_landlock *ll, const char *path, uint64_t *access)
{
	for (size_t i = 0; i < ll->n_paths; i++)
		if (strcmp(ll->paths[i].path, path) == 0) {
			*access = ll->paths[i].access;
			return 1;
		}
	return 0;
}

static int
test_landlock_rules(void)
{
	struct sb_mount mounts[] = {
		{ .kind = SB_MOUNT_RW, .path = (char *)"/home/u/.cache/pip" },
		{ .kind = SB_MOUNT_RO, .path = (char *)"/home/u/ws/.git/hooks" },
		{ .kind = SB_MOUNT_MASK, .path = (char *)"/home/u/.ssh" },
	};
	struct sb_spec spec;
	struct sb_landlock ll;
	struct cordon_err err = { 0 };
	uint64_t root = 0, ws = 0, pip = 0, a = 0;

	memset(&spec, 0, sizeof(spec));
	spec.workspace = "/home/u/ws";
	spec.mounts = mounts;
	spec.n_mounts = 3;
	spec.best_effort = true; /* unit tests may run where Landlock is off */
	CHECK(sb_landlock_prepare(&spec, &ll, &err) == 0);
	if (ll.abi == 0)
		return 77;
	CHECK(find_rule(&ll, "/", &root));
	CHECK(find_rule(&ll, "/home/u/ws", &ws));
	CHECK(find_rule(&ll, "/home/u/.cache/pip", &pip));
	CHECK(find_rule(&ll, "/tmp", &a));
	/* Root: read and execute only; workspace and rw paths: write as well. */
	CHECK((root & (1ULL << 1)) == 0); /* WRITE_FILE */
	CHECK((root & (1ULL << 0)) != 0); /* EXECUTE */
	CHECK((ws & (1ULL << 1)) != 0);
	CHECK((pip & (1ULL << 8)) != 0); /* MAKE_REG */
	/* Device nodes are never creatable. */
	CHECK((ws & ((1ULL << 6) | (1ULL << 11))) == 0);
	/* Read-only and masked paths add no rule. */
	CHECK(!find_rule(&ll, "/home/u/ws/.git/hooks", &a));
	CHECK(!find_rule(&ll, "/home/u/.ssh", &a));
	/* Every granted right is a handled one. */
	for (size_t i = 0; i < ll.n_paths; i++)
		CHECK((ll.paths[i].access & ~ll.handled_fs) == 0);
	return 0;
}

static int
test_landlock_switch_off(void)
{
	struct sb_spec spec;
	struct sb_landlock ll;
	struct cordon_err err = { 0 };

	memset(&spec, 0, sizeof(spec));
	spec.workspace = "/w";
	spec.test_flags = SB_TEST_NO_LANDLOCK;
	CHECK(sb_landlock_prepare(&spec, &ll, &err) == 0);
	CHECK(ll.abi == 0 && ll.n_paths == 0);
	return 0;
}

static int
test_res_names(void)
{
	CHECK_STR(sb_res_mech_name(SB_RES_CGROUP2), "cgroup v2");
	CHECK_STR(sb_res_mech_name(SB_RES_CGROUP1), "cgroup v1");
	CHECK_STR(sb_res_mech_name(SB_RES_RLIMIT), "rlimits");
	CHECK_STR(sb_res_mech_name(SB_RES_NONE), "none");
	return 0;
}

/*
 * The child loads only filters that arrive whole and in order; in a fork
 * (a loaded filter cannot be removed), reports errno from
 * sb_seccomp_apply, or 0, and whether a filter got loaded.
 */
static int want_notify;

static int
apply_after(void (*send_fn)(int fd), int *loaded)
{
	struct sb_spec spec;
	int sp[2], p[2], r[2] = { -1, -1 };
	pid_t pid;

	memset(&spec, 0, sizeof(spec));
	spec.notify = want_notify ? SB_NOTIFY_EXEC : 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) < 0 || pipe(p) < 0)
		return -1;
	send_fn(sp[0]);
	close(sp[0]);
	pid = fork();
	if (pid == 0) {
		struct sb_child_ctx ctx;

		memset(&ctx, 0, sizeof(ctx));
		ctx.spec = &spec;
		ctx.ctl_fd = sp[1];
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		r[0] = sb_seccomp_apply(&ctx) < 0 ? errno : 0;
		r[1] = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
		(void)!write(p[1], r, sizeof(r));
		_exit(0);
	}
	close(sp[1]);
	close(p[1]);
	if (read(p[0], r, sizeof(r)) != (ssize_t)sizeof(r))
		r[0] = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	*loaded = r[1];
	return r[0];
}

static struct sock_filter allow_all[] = { BPF_STMT(BPF_RET | BPF_K, 0x7fff0000u) };
static struct sock_fprog allow_prog = { 1, allow_all };
static struct sock_fprog none_prog = { 0, NULL };

static void
send_both(int fd)
{
	sb_seccomp_send(fd, 0, &allow_prog);
	sb_seccomp_send(fd, 1, &none_prog);
}

static void
send_nothing(int fd)
{
	(void)fd;
}

static void
send_swapped(int fd)
{
	sb_seccomp_send(fd, 1, &none_prog);
	sb_seccomp_send(fd, 0, &allow_prog);
}

static void
send_short(int fd)
{
	struct sb_msg h;

	memset(&h, 0, sizeof(h));
	h.type = SB_MSG_FILTER;
	h.err = 5; /* says 5 instructions, carries none */
	(void)!send(fd, &h, sizeof(h), 0);
}

static int
test_filters_arrive_whole(void)
{
	int loaded, r;

	r = apply_after(send_both, &loaded);
	if (r == ENOSYS || r == EINVAL)
		return 77; /* no seccomp filters here (valgrind does not run them) */
	CHECK(r == 0 && loaded == 2);
	/* the supervisor gone before sending: refused, nothing loaded */
	CHECK(apply_after(send_nothing, &loaded) == EPIPE && loaded == 0);
	CHECK(apply_after(send_swapped, &loaded) == EPROTO && loaded == 0);
	CHECK(apply_after(send_short, &loaded) == EPROTO && loaded == 0);
	/* a notify program is required when the spec asks for notifications */
	want_notify = 1;
	r = apply_after(send_both, &loaded);
	want_notify = 0;
	CHECK(r == EPROTO && loaded == 0);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_socket_exact);
	TAP_RUN(test_socket_glob);
	TAP_RUN(test_netlink_refused);
	TAP_RUN(test_landlock_rules);
	TAP_RUN(test_landlock_switch_off);
	TAP_RUN(test_res_names);
	TAP_RUN(test_filters_arrive_whole);
	return tap_done();
}
