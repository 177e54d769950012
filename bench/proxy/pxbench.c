/* SPDX-License-Identifier: MIT */
/*
 * Bench helper for the proxy (not part of cordon). Modes:
 *
 *   pxbench serve-http PORT          keep-alive HTTP/1.1 server, fixed 64-byte body
 *   pxbench serve-blast PORT         on accept, send bytes until the peer closes
 *   pxbench serve-idle PORT          accept and hold connections, send nothing
 *   pxbench tput HOST:PORT BYTES [PROXYPORT]
 *                                    read BYTES from a blast server, directly or
 *                                    through "CONNECT HOST:PORT" on 127.0.0.1:PROXYPORT;
 *                                    prints MB/s
 *   pxbench tunnels N UPPORT PROXYPORT HOLD_S
 *                                    open N CONNECT tunnels to 127.0.0.1:UPPORT,
 *                                    hold them HOLD_S seconds, close; prints how many
 *                                    were established
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 65535) < 0) {
		perror("listen");
		exit(1);
	}
	printf("ready %d\n", port);
	fflush(stdout);
	return fd;
}

static int
connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int
do_connect(int fd, const char *target)
{
	char buf[512];
	int n =
	    snprintf(buf, sizeof(buf), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
	size_t got = 0;

	if (write(fd, buf, (size_t)n) != n)
		return -1;
	while (got < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + got, 1);

		if (r <= 0)
			return -1;
		got++;
		if (got >= 4 && memcmp(buf + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 || strncmp(buf, "HTTP/1.0 200", 12) == 0 ? 0
											      : -1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
serve_http(int port)
{
	static const char resp[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 64\r\nContent-Type: text/plain\r\n\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123";
	int lfd = listen_on(port), ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[256];
	char buf[65536];

	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

				if (c >= 0) {
					struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };

					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
				}
				continue;
			}
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r <= 0) {
				close(fd);
				continue;
			}
			/* one response per request head seen */
			for (ssize_t k = 3; k < r; k++)
				if (buf[k] == '\n' && buf[k - 1] == '\r' && buf[k - 2] == '\n' &&
				    buf[k - 3] == '\r')
					if (write(fd, resp, sizeof(resp) - 1) < 0)
						break;
		}
	}
}

static void
serve_blast(int port)
{
	int lfd = listen_on(port);
	static char buf[1 << 20];

	memset(buf, 'x', sizeof(buf));
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_DFL);
	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			continue;
		if (fork() == 0) {
			while (write(c, buf, sizeof(buf)) > 0)
				;
			_exit(0);
		}
		close(c);
	}
}

static void
serve_idle(int port)
{
	int lfd = listen_on(port), ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[256];
	char buf[4096];

	/* hold connections, send nothing; close when the peer does */
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

				if (c >= 0) {
					struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };

					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
				}
				continue;
			}
			if (read(fd, buf, sizeof(buf)) <= 0)
				close(fd);
		}
	}
}

static void
tput(const char *target, long long bytes, int proxyport)
{
	int port = atoi(strchr(target, ':') + 1);
	int fd = connect_to(proxyport ? proxyport : port);
	static char buf[1 << 20];
	long long got = 0;
	double t0;

	if (fd < 0 || (proxyport && do_connect(fd, target) < 0)) {
		fprintf(stderr, "connect failed\n");
		exit(1);
	}
	t0 = now_s();
	while (got < bytes) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r <= 0)
			break;
		got += r;
	}
	printf("%.1f MB/s (%lld bytes in %.3f s)\n", (double)got / 1e6 / (now_s() - t0), got,
	       now_s() - t0);
	close(fd);
}

static void
tunnels(int n, int upport, int proxyport, int hold)
{
	int *fds = calloc((size_t)n, sizeof(int));
	char target[64];
	int okc = 0;

	snprintf(target, sizeof(target), "127.0.0.1:%d", upport);
	for (int i = 0; i < n; i++) {
		fds[i] = connect_to(proxyport);
		if (fds[i] >= 0 && do_connect(fds[i], target) == 0)
			okc++;
	}
	printf("established %d of %d\n", okc, n);
	fflush(stdout);
	sleep((unsigned)hold);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "serve-http") == 0)
		serve_http(atoi(argv[2]));
	else if (argc >= 3 && strcmp(argv[1], "serve-blast") == 0)
		serve_blast(atoi(argv[2]));
	else if (argc >= 3 && strcmp(argv[1], "serve-idle") == 0)
		serve_idle(atoi(argv[2]));
	else if (argc >= 4 && strcmp(argv[1], "tput") == 0)
		tput(argv[2], atoll(argv[3]), argc > 4 ? atoi(argv[4]) : 0);
	else if (argc >= 6 && strcmp(argv[1], "tunnels") == 0)
		tunnels(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	else {
		fprintf(stderr, "usage: see the comment at the top of pxbench.c\n");
		return 2;
	}
	return 0;
}
