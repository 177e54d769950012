/* SPDX-License-Identifier: MIT */
/*
 * cordon __loopback-relay PORT[,PORT...] -- CMD [ARG...]
 *
 * Runs inside the sandbox, in front of the command, for `--allow-loopback
 * PORT`: the sandbox's own loopback is not the host's, so a client that
 * talks to 127.0.0.1:PORT (an agent whose API is on the user's machine,
 * e.g. ANTHROPIC_BASE_URL=http://127.0.0.1:4000) would find nothing there.
 * The relay listens on 127.0.0.1:PORT and [::1]:PORT inside and carries
 * each connection through cordon's egress proxy (HTTP CONNECT to the same
 * address), so the policy decides and the audit log records it like any
 * other connection; no NO_PROXY or URL needs to change. The relay is
 * detached (double fork, own session) and dies with the sandbox when the
 * command, which keeps this process's pid, ends.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/policy_run.h"
#include "common/cleanup.h"
#include "common/fd.h"

#define RELAY_BUF      65536
#define RELAY_HEAD_MAX 8192

struct listener {
	int fd;
	int v6;
	unsigned port;
};

static int
listen_on(int v6, unsigned port)
{
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6) {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		a.sin6_addr = in6addr_loopback;
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			goto fail;
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			goto fail;
	}
	if (listen(fd, 64) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* The proxy's port from http_proxy=http://127.0.0.1:PORT (set by cordon run). */
static int
proxy_port(void)
{
	const char *v = getenv("http_proxy");
	const char *pre = "http://127.0.0.1:";
	char *end;
	long p;

	if (v == NULL || strncmp(v, pre, strlen(pre)) != 0)
		return -1;
	p = strtol(v + strlen(pre), &end, 10);
	return p > 0 && p < 65536 && (*end == '\0' || *end == '/') ? (int)p : -1;
}

/* Copy both ways until both sides are done. */
static void
pump(int a, int b)
{
	static char buf[2][RELAY_BUF];
	size_t len[2] = { 0, 0 }, off[2] = { 0, 0 };
	int fds[2] = { a, b };
	int eof[2] = { 0, 0 }; /* side i sent EOF (no more reads from it) */

	for (;;) {
		struct pollfd p[2];

		for (int i = 0; i < 2; i++) {
			/* read from i when its buffer is empty; write to i the other's buffer */
			p[i].fd = fds[i];
			p[i].events = 0;
			if (!eof[i] && len[i] == 0)
				p[i].events |= POLLIN;
			if (len[!i] > off[!i])
				p[i].events |= POLLOUT;
			if (p[i].events == 0)
				p[i].fd = -1; /* nothing wanted: no POLLHUP spin either */
		}
		if (p[0].events == 0 && p[1].events == 0)
			return;
		if (RETRY_EINTR(poll(p, 2, -1)) < 0)
			return;
		for (int i = 0; i < 2; i++) {
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR) && (p[i].events & POLLIN)) {
				ssize_t r = RETRY_EINTR(read(fds[i], buf[i], RELAY_BUF));

				if (r <= 0) {
					eof[i] = 1;
					shutdown(fds[!i], SHUT_WR);
				} else {
					len[i] = (size_t)r;
					off[i] = 0;
				}
			}
			if (p[i].revents & (POLLOUT | POLLERR) && (p[i].events & POLLOUT)) {
				ssize_t w = RETRY_EINTR(send(fds[i], buf[!i] + off[!i],
							     len[!i] - off[!i], MSG_NOSIGNAL));

				if (w < 0)
					return;
				off[!i] += (size_t)w;
				if (off[!i] == len[!i])
					len[!i] = off[!i] = 0;
			}
		}
	}
}

/*
 * A tunnel through the proxy to the host's loopback at v6 or not, port.
 * Returns the connected fd (the proxy said 200) with any bytes that
 * followed its answer in extra/n_extra, or -1; *status gets the proxy's
 * status line ("" when it could not be reached).
 */
static int
tunnel(int v6, unsigned port, int pport, char *extra, size_t *n_extra, char *status,
       size_t status_size)
{
	struct sockaddr_in pa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)pport) };
	const char *addr = v6 ? "[::1]" : "127.0.0.1";
	char head[RELAY_HEAD_MAX + 1], req[128], *end, *eol;
	_cleanup_close_ int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t n = 0;
	int len;

	status[0] = '\0';
	pa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (up < 0 || connect(up, (struct sockaddr *)&pa, sizeof(pa)) < 0) {
		snprintf(status, status_size, "cordon's proxy: %s", strerror(errno));
		return -1;
	}
	len = snprintf(req, sizeof(req), "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n\r\n", addr,
		       port, addr, port);
	if (fd_write_all(up, req, (size_t)len) < 0)
		return -1;
	for (;;) {
		ssize_t r = RETRY_EINTR(read(up, head + n, RELAY_HEAD_MAX - n));

		if (r <= 0)
			return -1;
		n += (size_t)r;
		head[n] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL)
			break;
		if (n == RELAY_HEAD_MAX)
			return -1;
	}
	eol = strstr(head, "\r\n");
	snprintf(status, status_size, "%.*s", (int)(eol - head), head);
	if (strncmp(head, "HTTP/1.1 200", 12) != 0 && strncmp(head, "HTTP/1.0 200", 12) != 0)
		return -1;
	/* Bytes after the proxy's answer belong to the connection. */
	end += 4;
	*n_extra = n - (size_t)(end - head);
	memcpy(extra, end, *n_extra);
	return steal_fd(up);
}

/*
 * One accepted connection. The address family the client chose is tried
 * first, then the other: `localhost` may resolve to ::1 inside while the
 * service on the host listens on 127.0.0.1 only.
 */
static void
serve(int client, const struct listener *l, int pport)
{
	char extra[RELAY_HEAD_MAX], status[2][256];
	size_t n_extra = 0;
	int up = -1;

	for (int k = 0; k < 2 && up < 0; k++)
		up = tunnel(k == 0 ? l->v6 : !l->v6, l->port, pport, extra, &n_extra, status[k],
			    sizeof(status[k]));
	if (up < 0) {
		fprintf(stderr,
			"cordon: loopback relay: port %u on this machine's loopback: %s; %s\n",
			l->port, status[0][0] ? status[0] : "no answer",
			status[1][0] ? status[1] : "no answer");
		return;
	}
	if (n_extra == 0 || fd_write_all(client, extra, n_extra) == 0)
		pump(client, up);
	close(up);
}

static void
relay_loop(struct listener *ls, size_t n_ls, int pport)
{
	struct pollfd p[2 * CLI_MAX_LOOPBACK];
	struct sigaction sa = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT };

	sigaction(SIGCHLD, &sa, NULL); /* handlers are reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < n_ls; i++) {
		p[i].fd = ls[i].fd;
		p[i].events = POLLIN;
	}
	for (;;) {
		if (RETRY_EINTR(poll(p, n_ls, -1)) < 0)
			_exit(1);
		for (size_t i = 0; i < n_ls; i++) {
			int c;
			pid_t pid;

			if (!(p[i].revents & POLLIN))
				continue;
			c = accept4(ls[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			pid = fork();
			if (pid == 0) {
				for (size_t k = 0; k < n_ls; k++)
					close(ls[k].fd);
				serve(c, &ls[i], pport);
				_exit(0);
			}
			close(c);
		}
	}
}

int
cli_loopback_relay(int argc, char **argv)
{
	struct listener ls[2 * CLI_MAX_LOOPBACK];
	size_t n_ls = 0;
	int pport = proxy_port(), status;
	char *ports, *save = NULL;
	pid_t pid;

	if (argc < 4 || strcmp(argv[2], "--") != 0)
		return cli_usage_error(NULL, "usage: cordon __loopback-relay PORT[,PORT...] -- "
					     "CMD (cordon runs it for --allow-loopback)");
	if (pport < 0) {
		fprintf(stderr,
			"cordon: loopback relay: http_proxy does not name cordon's "
			"proxy\nHint: the relay runs inside `cordon run --allow-loopback`\n");
		return 125;
	}
	ports = argv[1];
	for (char *s = strtok_r(ports, ",", &save); s != NULL && n_ls < ARRAY_SIZE(ls);
	     s = strtok_r(NULL, ",", &save)) {
		long port = strtol(s, NULL, 10);

		if (port < 1 || port > 65535)
			return cli_usage_error(NULL, "loopback relay: bad port '%s'", s);
		for (int v6 = 0; v6 < 2; v6++) {
			int fd = listen_on(v6, (unsigned)port);

			if (fd < 0 && !v6) {
				fprintf(stderr,
					"cordon: --allow-loopback %ld: cannot listen on "
					"127.0.0.1:%ld inside the sandbox: %s\n"
					"Hint: the policy may forbid local binding "
					"(network.allowLocalBinding)\n",
					port, port, strerror(errno));
				return 125;
			}
			if (fd < 0)
				continue; /* no ::1 inside: IPv4 only */
			ls[n_ls++] =
			    (struct listener){ .fd = fd, .v6 = v6, .port = (unsigned)port };
		}
	}
	/* Detach the relay: the command keeps this pid and has no extra child. */
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "cordon: loopback relay: fork: %s\n", strerror(errno));
		return 125;
	}
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		setsid();
		relay_loop(ls, n_ls, pport);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < n_ls; i++)
		close(ls[i].fd);
	execvp(argv[3], argv + 3);
	fprintf(stderr, "cordon: %s: %s\n", argv[3], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
