/* SPDX-License-Identifier: MIT */
/*
 * `cordon __probe`: runs inside a sandbox started by `cordon check` and tries
 * to get past each wall. One line per probe on stdout:
 *
 *   PROBE <TAB> name <TAB> expected <TAB> observed <TAB> PASS|FAIL
 *
 * The outer `cordon check` passes host-side context as options (a directory
 * outside the workspace, a host pid, a host loopback port, socket paths,
 * credential paths) and turns the lines into a table.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check/check.h"
#include "common/cleanup.h"

static int n_fail;

static void report(const char *name, const char *expected, int pass, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(const char *name, const char *expected, int pass, const char *fmt, ...)
{
	char observed[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(observed, sizeof(observed), fmt, ap);
	va_end(ap);
	for (char *p = observed; *p; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	printf("PROBE\t%s\t%s\t%s\t%s\n", name, expected, observed, pass ? "PASS" : "FAIL");
	n_fail += !pass;
}

/* "Name:\tvalue" from /proc/self/status, or "" */
static void
status_field(const char *name, char *out, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t n = strlen(name);

	out[0] = '\0';
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			char *v = line + n + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
			return;
		}
	}
}

static void
probe_identity(void)
{
	static const char *const caps[] = { "CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb" };
	char v[64];
	int all_zero = 1;

	report("not uid 0", "uid != 0", getuid() != 0 && geteuid() != 0, "uid %u euid %u",
	       (unsigned)getuid(), (unsigned)geteuid());
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		status_field(caps[i], v, sizeof(v));
		if (strcmp(v, "0000000000000000") != 0)
			all_zero = 0;
	}
	status_field("CapBnd", v, sizeof(v));
	report("no capabilities", "all capability sets empty", all_zero, "CapBnd %s%s", v,
	       all_zero ? "" : " (or another set non-empty)");
	status_field("NoNewPrivs", v, sizeof(v));
	report("no_new_privs", "1", strcmp(v, "1") == 0, "%s", v);
	status_field("Seccomp", v, sizeof(v));
	report("seccomp filter", "mode 2 (filter)", strcmp(v, "2") == 0, "mode %s", v);
}

static void
probe_write(const char *name, const char *dir, int want_ok)
{
	char path[4096];
	int fd, e;

	snprintf(path, sizeof(path), "%s/.cordon-check-%d", dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	e = errno;
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	if (want_ok)
		report(name, "write works", fd >= 0, "%s", fd >= 0 ? "written" : strerror(e));
	else
		report(name, "write refused", fd < 0, "%s",
		       fd >= 0 ? "WRITTEN (hole)" : strerror(e));
}

static void
probe_read_denied(const char *path)
{
	char name[300], buf[64];
	struct stat st;
	int fd;
	ssize_t n;

	snprintf(name, sizeof(name), "unreadable: %s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		report(name, "no content", 1, "%s", strerror(errno));
		return;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		char list[64];
		long entries = syscall(SYS_getdents64, fd, list, sizeof(list));

		close(fd);
		/* "." and ".." alone fit in 48 bytes; more means content. */
		report(name, "no content", entries <= 48, "%s",
		       entries <= 48 ? "empty directory" : "directory has entries (hole)");
		return;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	report(name, "no content", n <= 0, "%s", n <= 0 ? "empty" : "READABLE (hole)");
}

/* The audit log: neither readable nor writable from inside. */
static void
probe_audit_log(const char *path)
{
	char buf[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), n = -1, e = 0;

	if (fd >= 0) {
		n = (int)read(fd, buf, sizeof(buf));
		close(fd);
	}
	report("audit log unreadable inside", "no content", n <= 0, "%s",
	       n > 0    ? "READABLE (hole)"
	       : fd < 0 ? strerror(errno)
			: "empty");
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK);
	e = errno;
	if (fd >= 0)
		close(fd);
	report("audit log unwritable inside", "write refused", fd < 0, "%s",
	       fd >= 0 ? "OPENED FOR WRITING (hole)" : strerror(e));
}

static void
probe_pid(pid_t host_pid)
{
	char path[64];
	int visible, killable;

	snprintf(path, sizeof(path), "/proc/%d", (int)host_pid);
	visible = access(path, F_OK) == 0;
	killable = kill(host_pid, 0) == 0;
	report("host processes invisible", "host pid absent, not signallable",
	       !visible && !killable, "pid %d %s, kill: %s", (int)host_pid,
	       visible ? "VISIBLE" : "absent", killable ? "ALLOWED" : strerror(errno));
}

static void
probe_unix(const char *path)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[300];
	int r;

	snprintf(name, sizeof(name), "host socket unreachable: %s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	r = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	report(name, "connect refused", r < 0, "%s", r == 0 ? "CONNECTED (hole)" : strerror(errno));
}

static void
probe_tcp(const char *name, const char *addr, int port, int udp)
{
	_cleanup_close_ int fd = socket(strchr(addr, ':') ? AF_INET6 : AF_INET,
					(udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	socklen_t len;
	int r;

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		len = sizeof(*s4);
	}
	if (fd < 0) {
		report(name, "unreachable", 1, "socket: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		report(name, "unreachable", 1, "%s", strerror(errno));
		return;
	}
	/*
	 * Connected: under transparent capture every destination is local, so
	 * the datagram or the connection lands inside the sandbox (the proxy's
	 * listener, or no listener at all). It is a hole only if an answer
	 * comes back: the proxy resets a refused connection, and a datagram to
	 * a port with no listener is refused by the sandbox's own kernel.
	 */
	{
		static const char req[] = "GET / HTTP/1.0\r\nHost: 192.0.2.1\r\n\r\n";
		struct timeval tv = { .tv_sec = 5 };
		char buf[64];
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		r = (int)send(fd, udp ? "x" : req, udp ? 1 : sizeof(req) - 1, MSG_NOSIGNAL);
		n = r < 0 ? -1 : recv(fd, buf, sizeof(buf), 0);
		if (r < 0 || n < 0)
			report(name, "unreachable", errno != EAGAIN, "%s",
			       errno == ECONNRESET     ? "captured, reset"
			       : errno == ECONNREFUSED ? "captured, refused"
						       : strerror(errno));
		else
			report(name, "unreachable", n == 0 && !udp, "%s",
			       n == 0 ? "captured, closed" : "ANSWERED (hole)");
	}
}

/*
 * Ask the proxy named by HTTP_PROXY (set by cordon inside the sandbox) for
 * a CONNECT tunnel; return the HTTP status, or -1 with why in err.
 */
static int
proxy_connect_status(const char *target, char *err, size_t errlen)
{
	const char *proxy = getenv("HTTP_PROXY");
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64], req[512], resp[256];
	_cleanup_close_ int fd = -1;
	unsigned port;
	ssize_t n;

	if (proxy == NULL || sscanf(proxy, "http://%63[0-9.]:%u", host, &port) != 2) {
		snprintf(err, errlen, "no HTTP_PROXY in the sandbox");
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "proxy %s: %s", proxy, strerror(errno));
		return -1;
	}
	n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n) {
		snprintf(err, errlen, "write to proxy failed");
		return -1;
	}
	n = read(fd, resp, sizeof(resp) - 1);
	if (n <= 0) {
		snprintf(err, errlen, "proxy closed the connection");
		return -1;
	}
	resp[n] = '\0';
	if (sscanf(resp, "HTTP/1.%*d %u", &port) != 1) {
		snprintf(err, errlen, "not an HTTP answer");
		return -1;
	}
	return (int)port;
}

static void
probe_proxy_denied(const char *name, const char *target)
{
	char why[160];
	int status = proxy_connect_status(target, why, sizeof(why));

	if (status < 0)
		report(name, "refused by the proxy (403)", 0, "%s", why);
	else
		report(name, "refused by the proxy (403)", status == 403, "HTTP %d%s", status,
		       status == 200 ? " (hole: tunnel opened)" : "");
}

static void
probe_proxy_allowed(const char *target)
{
	char name[300], why[160];
	int status = proxy_connect_status(target, why, sizeof(why));

	snprintf(name, sizeof(name), "approved target reachable: %s", target);
	if (status < 0)
		report(name, "tunnel opened (200)", 0, "%s", why);
	else
		report(name, "tunnel opened (200)", status == 200, "HTTP %d", status);
}

static void
probe_nested_userns(void)
{
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);

	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		waitpid(pid, NULL, 0);
		report("no nested user namespace", "clone(CLONE_NEWUSER) refused", 0,
		       "CREATED (hole)");
		return;
	}
	report("no nested user namespace", "clone(CLONE_NEWUSER) refused", 1, "%s",
	       strerror(errno));
}

int
check_probe_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "outside", required_argument, NULL, 'o' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "host-pid", required_argument, NULL, 'p' },
		{ "host-port", required_argument, NULL, 'P' },
		{ "socket", required_argument, NULL, 's' },
		{ "deny", required_argument, NULL, 'd' },
		{ "target", required_argument, NULL, 't' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	const char *outside = NULL, *workspace = NULL, *target = NULL, *audit_log = NULL;
	const char *sockets[32], *denied[64];
	size_t n_sockets = 0, n_denied = 0;
	pid_t host_pid = 0;
	int host_port = 0, c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			outside = optarg;
			break;
		case 'w':
			workspace = optarg;
			break;
		case 'p':
			host_pid = (pid_t)atoi(optarg);
			break;
		case 'P':
			host_port = atoi(optarg);
			break;
		case 's':
			if (n_sockets < ARRAY_SIZE(sockets))
				sockets[n_sockets++] = optarg;
			break;
		case 'd':
			if (n_denied < ARRAY_SIZE(denied))
				denied[n_denied++] = optarg;
			break;
		case 't':
			target = optarg;
			break;
		case 'a':
			audit_log = optarg;
			break;
		default:
			fprintf(stderr, "cordon __probe: internal command of `cordon check`\n");
			return 125;
		}
	}
	probe_identity();
	probe_nested_userns();
	if (host_pid > 0)
		probe_pid(host_pid);
	if (workspace != NULL)
		probe_write("workspace writable", workspace, 1);
	if (outside != NULL)
		probe_write("write outside the workspace", outside, 0);
	probe_write("host /usr read-only", "/usr", 0);
	probe_write("host /etc read-only", "/etc", 0);
	for (size_t i = 0; i < n_denied; i++)
		probe_read_denied(denied[i]);
	if (audit_log != NULL)
		probe_audit_log(audit_log);
	for (size_t i = 0; i < n_sockets; i++)
		probe_unix(sockets[i]);
	if (host_port > 0)
		probe_tcp("host loopback unreachable", "127.0.0.1", host_port, 0);
	probe_tcp("raw TCP out (TEST-NET-1)", "192.0.2.1", 80, 0);
	probe_tcp("raw UDP out (DNS to TEST-NET-1)", "192.0.2.1", 53, 1);
	probe_tcp("cloud metadata 169.254.169.254", "169.254.169.254", 80, 0);
	probe_tcp("private range 10.0.0.1", "10.0.0.1", 80, 0);
	probe_tcp("IPv6 out (documentation range)", "2001:db8::1", 80, 0);
	probe_proxy_denied("proxy: unapproved domain", "cordon-check.invalid:443");
	probe_proxy_denied("proxy: cloud metadata address", "169.254.169.254:80");
	probe_proxy_denied("proxy: metadata in decimal spelling", "2852039166:80");
	if (host_port > 0) {
		char t[64];

		snprintf(t, sizeof(t), "127.0.0.1:%d", host_port);
		probe_proxy_denied("proxy: host loopback service", t);
	}
	probe_proxy_denied("proxy: private range", "10.0.0.1:80");
	if (target != NULL)
		probe_proxy_allowed(target);
	fflush(stdout);
	return n_fail ? 1 : 0;
}
