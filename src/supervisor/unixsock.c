/* SPDX-License-Identifier: MIT */
/*
 * The unix-socket connect policy, served from the seccomp user
 * notification on connect(2). See unixsock.h for the rules; the steps of
 * one notification:
 *
 *   1. pidfd of the caller, then check the notification is still live
 *      (the pid may have been reused otherwise)
 *   2. copy the address out of the caller's memory (process_vm_readv),
 *      check again
 *   3. copy the socket itself (pidfd_getfd, Linux >= 5.6)
 *   4. pathname unix address: resolve it in the caller's root, decide
 *      (sv_unixsock_via_path, shared with the send side in unixsend.c)
 *   5. connect our copy (a pathname through "/proc/self/fd/N" of the
 *      resolved O_PATH fd, so what was checked is what is connected) and
 *      answer with the result
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/unix_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "supervisor/unixsock.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

int
sv_unixsock_name_allowed(char *const *allowed, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++) {
		const char *a = allowed[i];

		if (a == NULL)
			continue;
		if (strpbrk(a, "*?[") != NULL ? fnmatch(a, path, FNM_PATHNAME) == 0
					      : strcmp(a, path) == 0)
			return 1;
	}
	return 0;
}

/* O_PATH fd of path resolved inside the tree rooted at rootfd. */
static int
open_in_root(int rootfd, const char *path)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static int
mnt_id_of(int fd, unsigned long long *id, struct statx *stx)
{
	struct statx tmp;

	if (stx == NULL)
		stx = &tmp;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_MNT_ID, stx) < 0)
		return -1;
	if (!(stx->stx_mask & STATX_MNT_ID)) {
		errno = ENOSYS;
		return -1;
	}
	*id = stx->stx_mnt_id;
	return 0;
}

static void
refuse(struct sv_unixsock *u, pid_t pid, const char *verb, const char *path, const char *reason)
{
	u->refused++;
	log_debug("refused %s unix socket %s (pid %d): %s", verb, path, (int)pid, reason);
	if (u->sv->audit != NULL) {
		struct audit_violation v = {
			.kind = "socket",
			.what = path,
			.reason = reason,
			.pid = pid,
		};
		struct cordon_err err = { 0 };

		audit_violation(u->sv->audit, &v, &err);
	}
}

/*
 * Is a unix socket of the supervisor's network namespace (the host's)
 * bound to the file stx describes? sock_diag lists the sockets of the
 * asking socket's namespace only, and the sandbox has its own: its sockets
 * never show here. 1 yes, 0 no, -1 when the kernel cannot tell (no
 * unix_diag): the caller fails closed.
 */
static int
host_bound(const struct statx *stx)
{
	_cleanup_close_ int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req req;
	} q;
	static char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (nl < 0)
		return -1;
	memset(&q, 0, sizeof(q));
	q.nh.nlmsg_len = sizeof(q);
	q.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	q.req.sdiag_family = AF_UNIX;
	q.req.udiag_states = ~0u;
	q.req.udiag_show = UDIAG_SHOW_VFS;
	if (sendto(nl, &q, sizeof(q), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	for (;;) {
		ssize_t n = RETRY_EINTR(recv(nl, buf, sizeof(buf), 0));
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n <= 0)
			return -1;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct unix_diag_msg *m = NLMSG_DATA(h);
			struct rtattr *a;
			int len;

			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
				return -1;
			len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
			for (a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
				struct unix_diag_vfs v;

				if (a->rta_type != UNIX_DIAG_VFS || RTA_PAYLOAD(a) < sizeof(v))
					continue;
				memcpy(&v, RTA_DATA(a), sizeof(v));
				/* The kernel's own dev_t: major in the top 12 bits (MINORBITS 20). */
				if (v.udiag_vfs_ino == stx->stx_ino &&
				    v.udiag_vfs_dev >> 20 == stx->stx_dev_major &&
				    (v.udiag_vfs_dev & 0xfffffu) == stx->stx_dev_minor)
					return 1;
			}
		}
	}
}

static int
is_allowed(struct sv_unixsock *u, const char *abs, const struct statx *stx, unsigned long long mnt)
{
	dev_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	struct stat hst;

	for (size_t i = 0; i < u->n_private; i++)
		if (u->private_mnt[i] == mnt) {
			if (!u->private_shared[i])
				return 1;
			if (host_bound(stx) == 0)
				return 1;
			break; /* a host program's socket (or no way to tell): the lists below */
		}
	for (size_t i = 0; i < u->n_exact; i++)
		if (u->exact[i].dev == dev && u->exact[i].ino == (ino_t)stx->stx_ino)
			return 1;
	/* A glob matches by name, and the host file of that name must be this one. */
	if (sv_unixsock_name_allowed(u->spec->unix_sockets, u->spec->n_unix_sockets, abs) &&
	    stat(abs, &hst) == 0 && S_ISSOCK(hst.st_mode) && hst.st_dev == dev &&
	    hst.st_ino == (ino_t)stx->stx_ino)
		return 1;
	return 0;
}

/*
 * The caller's file-system credentials, so that the supervisor's own call
 * is checked as the caller's would be (search permission on the path,
 * write permission on the socket). Only needed when the supervisor is root
 * and the sandbox runs as another kernel uid; otherwise both are the same
 * user. From /proc/<pid>/status: the ids there are the kernel's.
 */
struct sv_creds {
	uid_t fsuid;
	gid_t fsgid;
	gid_t groups[64];
	int n_groups;
};

static int
read_creds(pid_t pid, struct sv_creds *c)
{
	char path[64], buf[4096], *p;
	_cleanup_close_ int fd = -1;
	unsigned a, b, d, f;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nUid:");
	if (p == NULL || sscanf(p + 5, "%u %u %u %u", &a, &b, &d, &f) != 4)
		return -1;
	c->fsuid = f;
	p = strstr(buf, "\nGid:");
	if (p == NULL || sscanf(p + 5, "%u %u %u %u", &a, &b, &d, &f) != 4)
		return -1;
	c->fsgid = f;
	c->n_groups = 0;
	p = strstr(buf, "\nGroups:");
	if (p == NULL)
		return -1;
	for (p += 8; *p != '\n' && *p != '\0';) {
		char *end;
		unsigned long g = strtoul(p, &end, 10);

		if (end == p) {
			p++;
			continue;
		}
		if (c->n_groups == (int)ARRAY_SIZE(c->groups)) {
			errno = E2BIG;
			return -1;
		}
		c->groups[c->n_groups++] = (gid_t)g;
		p = end;
	}
	return 0;
}

/*
 * Take on c for file-system checks (raw setgroups: this thread only, the
 * C library's would change every thread). 0 or -1; restore_creds undoes.
 */
static int
assume_creds(const struct sv_creds *c)
{
	if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0)
		return -1;
	setfsgid(c->fsgid);
	setfsuid(c->fsuid);
	/* setfsuid reports no error: read back (-1 only queries). */
	if ((uid_t)setfsuid((uid_t)-1) != c->fsuid || (gid_t)setfsgid((gid_t)-1) != c->fsgid) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

static void
restore_creds(const gid_t *groups, int n)
{
	setfsuid(geteuid());
	setfsgid(getegid());
	if (syscall(SYS_setgroups, n, groups) < 0)
		log_warn("restore supervisor groups");
}

/* Acting as the caller for file-system checks (root supervisor only). */
struct sv_as {
	int active;
	gid_t saved[256];
	int n_saved;
};

static int
as_caller_begin(pid_t pid, struct sv_as *as)
{
	struct sv_creds c;
	int e;

	as->active = 0;
	if (geteuid() != 0)
		return 0;
	if (read_creds(pid, &c) < 0)
		return -1;
	if (c.fsuid == 0)
		return 0;
	as->n_saved = getgroups((int)ARRAY_SIZE(as->saved), as->saved);
	if (as->n_saved < 0)
		return -1;
	as->active = 1;
	if (assume_creds(&c) < 0) {
		e = errno;
		restore_creds(as->saved, as->n_saved);
		as->active = 0;
		errno = e;
		return -1;
	}
	return 0;
}

static void
as_caller_end(struct sv_as *as)
{
	int e = errno;

	if (as->active)
		restore_creds(as->saved, as->n_saved);
	as->active = 0;
	errno = e;
}

/* Resolve abs in the caller's root, decide, call fn. fn's result or -errno. */
static int
resolve_and_call(struct sv_unixsock *u, const struct seccomp_notif *req, int rootfd,
		 const char *abs, const char *verb, sv_unixsock_fn fn, void *arg)
{
	_cleanup_close_ int fd = -1;
	unsigned long long mnt;
	struct statx stx;
	struct sockaddr_un sa;

	fd = open_in_root(rootfd, abs);
	if (fd < 0) {
		int e = errno;

		/* A magic link (/proc/self/root/...) in the path: never followed. */
		if (e == ELOOP || e == EXDEV) {
			refuse(u, (pid_t)req->pid, verb, abs, "path through a /proc magic link");
			return -EACCES;
		}
		return -e;
	}
	if (mnt_id_of(fd, &mnt, &stx) < 0)
		return -errno;
	if (!S_ISSOCK(stx.stx_mode))
		return -ECONNREFUSED;
	if (!is_allowed(u, abs, &stx, mnt)) {
		refuse(u, (pid_t)req->pid, verb, abs,
		       "host unix socket not listed in network.allowUnixSockets");
		return -EACCES;
	}
	u->allowed++;
	/* The socket file that was checked, whatever its path names by now. */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d", fd);
	return fn(arg, (const struct sockaddr *)&sa, (socklen_t)sizeof(sa));
}

int
sv_unixsock_via_path(struct sv_unixsock *u, int nfd, const struct seccomp_notif *req,
		     const char *path, size_t n, const char *verb, sv_unixsock_fn fn, void *arg)
{
	char abs[PATH_MAX], link[64], name[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	_cleanup_close_ int rootfd = -1;
	struct sv_as as;
	int r;

	/* sun_path need not be terminated; the kernel stops at the first NUL. */
	if (n > sizeof(name) - 1)
		n = sizeof(name) - 1;
	memcpy(name, path, n);
	name[n] = '\0';
	path = name;
	if (path[0] == '/') {
		snprintf(abs, sizeof(abs), "%s", path);
	} else {
		char cwd[PATH_MAX];
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)req->pid);
		len = readlink(link, cwd, sizeof(cwd) - 1);
		if (len <= 0 || cwd[0] != '/') {
			refuse(u, (pid_t)req->pid, verb, path, "cannot resolve the caller's cwd");
			return -EACCES;
		}
		cwd[len] = '\0';
		if ((size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >= sizeof(abs))
			return -ENAMETOOLONG;
	}
	/*
	 * /proc/self, /proc/<pid>/root, /dev/fd: magic links, resolved for the
	 * caller and not for us; no socket lives there.
	 */
	if (strncmp(abs, "/proc/", 6) == 0 || strncmp(abs, "/dev/fd/", 8) == 0) {
		refuse(u, (pid_t)req->pid, verb, abs, "path through a /proc magic link");
		return -EACCES;
	}
	snprintf(link, sizeof(link), "/proc/%d/root", (int)req->pid);
	rootfd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || !sv_notify_id_valid(nfd, req->id))
		return -ESRCH;
	/* Resolve and call with the caller's permissions, not ours. */
	if (as_caller_begin((pid_t)req->pid, &as) < 0)
		return -EACCES;
	r = resolve_and_call(u, req, rootfd, abs, verb, fn, arg);
	as_caller_end(&as);
	return r;
}

int
sv_unixsock_abstract_ok(struct sv_unixsock *u, const struct seccomp_notif *req, int sock,
			const char *verb)
{
	_cleanup_close_ int ns = -1;
	struct stat st;

	/*
	 * The socket's network namespace (SIOCGSKNS: CAP_NET_ADMIN over it,
	 * which the supervisor has for the sandbox's, as the owner of its user
	 * namespace or as root).
	 */
	ns = ioctl(sock, SIOCGSKNS);
	if (ns >= 0 && fstat(ns, &st) == 0 && u->netns_ino != 0 && st.st_dev == u->netns_dev &&
	    st.st_ino == u->netns_ino)
		return 1;
	refuse(u, (pid_t)req->pid, verb, "@abstract",
	       "abstract unix address on a socket from another network namespace");
	return 0;
}

/* Connect the socket *arg to sa: 0 or -errno. */
static int
connect_to(void *arg, const struct sockaddr *sa, socklen_t len)
{
	return connect(*(int *)arg, sa, len) < 0 ? -errno : 0;
}

static void
on_connect(void *arg, int nfd, const struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	struct sv_unixsock *u = arg;
	struct sockaddr_storage ss;
	uint64_t len = req->data.args[2];
	_cleanup_close_ int pidfd = -1, sock = -1;
	struct iovec local, remote;
	int domain = 0, r;
	socklen_t dl = sizeof(domain);

	/* Never "continue": the answer is always the result of our own call. */
	resp->flags = 0;
	resp->val = 0;
	resp->error = 0;
	pidfd = sv_notify_pidfd(nfd, req);
	if (pidfd < 0) {
		resp->error = -ESRCH;
		return;
	}
	/* The kernel's own limit (move_addr_to_kernel). */
	if ((int)len < 0 || len > sizeof(ss)) {
		resp->error = -EINVAL;
		return;
	}
	memset(&ss, 0, sizeof(ss));
	local.iov_base = &ss;
	local.iov_len = (size_t)len;
	remote.iov_base = (void *)(uintptr_t)req->data.args[1];
	remote.iov_len = (size_t)len;
	if (len > 0 &&
	    process_vm_readv((pid_t)req->pid, &local, 1, &remote, 1, 0) != (ssize_t)len) {
		resp->error = -EFAULT;
		return;
	}
	if (!sv_notify_id_valid(nfd, req->id)) {
		resp->error = -ESRCH;
		return;
	}
	sock = (int)syscall(SYS_pidfd_getfd, pidfd, (int)req->data.args[0], 0);
	if (sock < 0) {
		resp->error = -errno;
		return;
	}
	if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &dl) < 0) {
		resp->error = -errno;
		return;
	}
	if (domain == AF_UNIX && ss.ss_family == AF_UNIX &&
	    len > offsetof(struct sockaddr_un, sun_path) &&
	    ((struct sockaddr_un *)&ss)->sun_path[0] != '\0') {
		resp->error =
		    sv_unixsock_via_path(u, nfd, req, ((struct sockaddr_un *)&ss)->sun_path,
					 (size_t)len - offsetof(struct sockaddr_un, sun_path),
					 "connect to", connect_to, &sock);
		return;
	}
	/*
	 * An abstract name is looked up in the socket's network namespace: the
	 * sandbox's own, unless the socket came from outside.
	 */
	if (domain == AF_UNIX && ss.ss_family == AF_UNIX &&
	    len > offsetof(struct sockaddr_un, sun_path) &&
	    !sv_unixsock_abstract_ok(u, req, sock, "connect to")) {
		resp->error = -EACCES;
		return;
	}
	/*
	 * Anything else (IP, abstract unix, AF_UNSPEC) as asked, on our copy:
	 * the socket lives in the sandbox's network namespace.
	 */
	r = connect(sock, (struct sockaddr *)&ss, (socklen_t)len);
	resp->error = r < 0 ? -errno : 0;
}

int
sv_unixsock_register(struct sv_unixsock *u, struct sv_supervisor *sv, const struct sb_spec *spec,
		     struct cordon_err *err)
{
	const char *fixed[] = { "/tmp", "/run", "/dev/shm", spec->workspace };
	_cleanup_close_ int rootfd = -1;
	struct stat nst;
	char link[64];

	memset(u, 0, sizeof(*u));
	u->sv = sv;
	u->spec = spec;
	snprintf(link, sizeof(link), "/proc/%d/ns/net", (int)sv->sess.pid);
	if (stat(link, &nst) < 0)
		return cordon_err_set(err, errno, "the sandbox's network namespace");
	u->netns_dev = nst.st_dev;
	u->netns_ino = nst.st_ino;
	snprintf(link, sizeof(link), "/proc/%d/root", (int)sv->sess.pid);
	rootfd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return cordon_err_set(err, errno, "open the sandbox's root");
	/* The sandbox's own mounts, by mount id (statx, Linux >= 5.8). */
	for (size_t i = 0; i < ARRAY_SIZE(fixed) + spec->n_mounts; i++) {
		const char *p = NULL;
		_cleanup_close_ int fd = -1;
		unsigned long long id;

		if (i < ARRAY_SIZE(fixed))
			p = fixed[i];
		else if (spec->mounts[i - ARRAY_SIZE(fixed)].kind == SB_MOUNT_RW ||
			 spec->mounts[i - ARRAY_SIZE(fixed)].kind == SB_MOUNT_TMPFS)
			p = spec->mounts[i - ARRAY_SIZE(fixed)].path;
		if (p == NULL)
			continue;
		fd = open_in_root(rootfd, p);
		if (fd < 0)
			continue;
		if (mnt_id_of(fd, &id, NULL) < 0)
			return cordon_err_set(err, errno, "mount id of %s in the sandbox", p);
		if (u->n_private == ARRAY_SIZE(u->private_mnt))
			return cordon_err_set(err, E2BIG, "more than %zu writable mounts",
					      ARRAY_SIZE(u->private_mnt));
		/* /tmp, /run, /dev/shm and tmpfs paths are the sandbox's alone. */
		u->private_shared[u->n_private] =
		    i == ARRAY_SIZE(fixed) - 1 ||
		    (i >= ARRAY_SIZE(fixed) &&
		     spec->mounts[i - ARRAY_SIZE(fixed)].kind == SB_MOUNT_RW);
		u->private_mnt[u->n_private++] = id;
	}
	for (size_t i = 0; i < spec->n_unix_sockets; i++) {
		const char *a = spec->unix_sockets[i];
		struct stat st;

		if (a == NULL || strpbrk(a, "*?[") != NULL || stat(a, &st) < 0)
			continue;
		if (u->n_exact == ARRAY_SIZE(u->exact))
			return cordon_err_set(err, E2BIG, "more than %zu allowed unix sockets",
					      ARRAY_SIZE(u->exact));
		u->exact[u->n_exact].dev = st.st_dev;
		u->exact[u->n_exact].ino = st.st_ino;
		u->n_exact++;
	}
	if (sv_notify_register(&sv->notify, (int)SYS_connect, on_connect, u) < 0)
		return cordon_err_set(err, errno, "register the connect handler");
	return sv_unixsend_register(&u->send, u, err);
}

void
sv_unixsock_fini(struct sv_unixsock *u)
{
	sv_unixsend_fini(&u->send);
}
