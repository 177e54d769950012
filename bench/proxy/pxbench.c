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
 *   pxbench serve-https PORT CERT KEY
 *                                    HTTPS/1.1 server (a thread per connection):
 *                                    "GET /N" answers N bytes, keep-alive
 *   pxbench https-conn N NAME:PORT PROXYPORT
 *                                    N connections one after the other, each: TCP,
 *                                    CONNECT NAME:PORT (when PROXYPORT is 0: direct to
 *                                    127.0.0.1:PORT, or inside `cordon run` to NAME's
 *                                    address there: transparent capture), TLS
 *                                    handshake verified by the
 *                                    default trust store (SSL_CERT_FILE), GET /64;
 *                                    prints connections/s and p50/p90 ms
 *   pxbench https-tput NAME:PORT BYTES PROXYPORT
 *                                    one connection, GET /BYTES; prints MB/s and
 *                                    this client's own CPU seconds
 *
 * Built with -lssl -lcrypto -lpthread (bench/proxy/intercept.sh).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef PXBENCH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#endif

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

/*
 * To 127.0.0.1:port; with a target (direct mode) inside `cordon run`, to
 * the address its name resolves to there (the DNS stub's, so the
 * connection is captured). Outside, names are not looked up (no query
 * leaves for a bench's made-up name).
 */
static int
connect_to(int port, const char *target)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char name[256];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (target != NULL && getenv("CORDON_SANDBOX") != NULL) {
		snprintf(name, sizeof(name), "%.*s", (int)(strchr(target, ':') - target), target);
		if (getaddrinfo(name, NULL, &hints, &ai) == 0) {
			sa.sin_addr = ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr;
			freeaddrinfo(ai);
		}
	}
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
	int fd = proxyport ? connect_to(proxyport, NULL) : connect_to(port, target);
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
		fds[i] = connect_to(proxyport, NULL);
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

#ifdef PXBENCH_TLS
static SSL_CTX *bench_sctx;

static void *
https_conn(void *arg)
{
	int fd = (int)(intptr_t)arg, one = 1;
	SSL *s = SSL_new(bench_sctx);
	static char body[1 << 16];
	char buf[16384];
	size_t have = 0;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	SSL_set_fd(s, fd);
	if (SSL_accept(s) <= 0)
		goto out;
	for (;;) {
		char head[128], *e;
		long long n, sent = 0;
		int r = SSL_read(s, buf + have, (int)(sizeof(buf) - 1 - have)), hl;

		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = '\0';
		e = strstr(buf, "\r\n\r\n");
		if (e == NULL)
			continue;
		n = strncmp(buf, "GET /", 5) == 0 ? atoll(buf + 5) : 0;
		hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\n\r\n",
			      n);
		if (SSL_write(s, head, hl) <= 0)
			break;
		while (sent < n) {
			int w = (int)(n - sent < (long long)sizeof(body) ? n - sent
									 : (long long)sizeof(body));

			w = SSL_write(s, body, w);
			if (w <= 0)
				goto out;
			sent += w;
		}
		have -= (size_t)(e + 4 - buf);
		memmove(buf, e + 4, have);
	}
out:
	SSL_free(s);
	close(fd);
	return NULL;
}

static void
serve_https(int port, const char *cert, const char *key)
{
	int lfd;

	signal(SIGPIPE, SIG_IGN);
	bench_sctx = SSL_CTX_new(TLS_server_method());
	if (SSL_CTX_use_certificate_chain_file(bench_sctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(bench_sctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	lfd = listen_on(port);
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		pthread_t t;

		if (c < 0)
			continue;
		if (pthread_create(&t, NULL, https_conn, (void *)(intptr_t)c) == 0)
			pthread_detach(t);
		else
			close(c);
	}
}

/* A verified TLS connection to NAME:PORT, through the proxy unless proxyport is 0. */
static SSL *
https_open(SSL_CTX *ctx, const char *target, int proxyport, int *fdp)
{
	char name[256];
	const char *colon = strchr(target, ':');
	int port = atoi(colon + 1), fd;
	SSL *s;

	snprintf(name, sizeof(name), "%.*s", (int)(colon - target), target);
	fd = proxyport ? connect_to(proxyport, NULL) : connect_to(port, target);
	if (fd >= 0) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (fd < 0 || (proxyport && do_connect(fd, target) < 0)) {
		fprintf(stderr, "connect %s failed\n", target);
		exit(1);
	}
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, name);
	SSL_set1_host(s, name);
	if (SSL_connect(s) != 1) {
		fprintf(stderr, "TLS to %s failed: ", target);
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	*fdp = fd;
	return s;
}

static SSL_CTX *
client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	SSL_CTX_set_default_verify_paths(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* Read a response with a Content-Length body; returns the body's size or -1. */
static long long
read_response(SSL *s, char *buf, size_t cap)
{
	long long body = -1, got = 0;
	size_t have = 0;

	for (;;) {
		int r = SSL_read(s, buf + have, (int)(cap - 1 - have));
		char *e;

		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = '\0';
		e = strstr(buf, "\r\n\r\n");
		if (e != NULL) {
			char *cl = strstr(buf, "Content-Length: ");

			body = cl ? atoll(cl + 16) : 0;
			got = (long long)(have - (size_t)(e + 4 - buf));
			break;
		}
	}
	while (got < body) {
		int r = SSL_read(s, buf, (int)cap);

		if (r <= 0)
			return -1;
		got += r;
	}
	return got;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
https_conns(int n, const char *target, int proxyport)
{
	SSL_CTX *ctx = client_ctx();
	double *ms = calloc((size_t)n, sizeof(double)), t0 = now_s();
	static char buf[1 << 16];
	char req[512];
	const char *colon = strchr(target, ':');

	snprintf(req, sizeof(req), "GET /64 HTTP/1.1\r\nHost: %.*s\r\nConnection: close\r\n\r\n",
		 (int)(colon - target), target);
	for (int i = 0; i < n; i++) {
		double t = now_s();
		int fd;
		SSL *s = https_open(ctx, target, proxyport, &fd);

		if (SSL_write(s, req, (int)strlen(req)) <= 0 ||
		    read_response(s, buf, sizeof(buf)) != 64) {
			fprintf(stderr, "request %d failed\n", i);
			exit(1);
		}
		SSL_free(s);
		close(fd);
		ms[i] = (now_s() - t) * 1e3;
	}
	t0 = now_s() - t0;
	qsort(ms, (size_t)n, sizeof(double), cmp_double);
	printf("%.0f conn/s p50 %.2f ms p90 %.2f ms (%d connections)\n", n / t0, ms[n / 2],
	       ms[n * 9 / 10], n);
	free(ms);
}

static void
https_tput(const char *target, long long bytes, int proxyport)
{
	SSL_CTX *ctx = client_ctx();
	static char buf[1 << 16];
	char req[512];
	const char *colon = strchr(target, ':');
	struct rusage ru;
	int fd;
	SSL *s = https_open(ctx, target, proxyport, &fd);
	long long got;
	double t0 = now_s(), dt;

	snprintf(req, sizeof(req), "GET /%lld HTTP/1.1\r\nHost: %.*s\r\n\r\n", bytes,
		 (int)(colon - target), target);
	if (SSL_write(s, req, (int)strlen(req)) <= 0)
		exit(1);
	got = read_response(s, buf, sizeof(buf));
	dt = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("%.1f MB/s (%lld bytes in %.3f s) client-cpu %.2f s\n", (double)got / 1e6 / dt, got,
	       dt,
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		   ru.ru_stime.tv_usec / 1e6);
	SSL_free(s);
	close(fd);
}
#endif

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
#ifdef PXBENCH_TLS
	else if (argc >= 5 && strcmp(argv[1], "serve-https") == 0)
		serve_https(atoi(argv[2]), argv[3], argv[4]);
	else if (argc >= 5 && strcmp(argv[1], "https-conn") == 0)
		https_conns(atoi(argv[2]), argv[3], atoi(argv[4]));
	else if (argc >= 5 && strcmp(argv[1], "https-tput") == 0)
		https_tput(argv[2], atoll(argv[3]), atoi(argv[4]));
#endif
	else {
		fprintf(stderr, "usage: see the comment at the top of pxbench.c\n");
		return 2;
	}
	return 0;
}
