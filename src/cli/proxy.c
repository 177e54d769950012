/* SPDX-License-Identifier: MIT */
/*
 * `cordon proxy`: the egress proxy alone (containers, VMs, CI).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "proxy/proxy.h"

static const char proxy_usage[] =
    "Usage: cordon proxy [OPTIONS]\n"
    "\n"
    "Run cordon's egress proxy on its own: HTTP CONNECT, plain HTTP (absolute\n"
    "URLs) and SOCKS5 on one port. Only the listed domains are reachable;\n"
    "names are resolved by the proxy and loopback, private, link-local and\n"
    "metadata addresses are refused after resolution.\n"
    "\n"
    "Options:\n"
    "  -l, --listen ADDR:PORT   where to listen (default 127.0.0.1:3128; port 0\n"
    "                           picks a free port; [::1]:PORT for IPv6)\n"
    "  -a, --allow-domain PAT   allow PAT: example.com, *.example.com (subdomains,\n"
    "                           not the apex), 192.0.2.0/24, [2001:db8::]/32, on\n"
    "                           ports 80 and 443; PAT:PORT for that port only,\n"
    "                           PAT:* for every port (repeatable)\n"
    "  -d, --deny-domain PAT    deny PAT (every port unless :PORT); deny beats\n"
    "                           allow (repeatable)\n"
    "      --max-connections N  serve at most N connections at once (default\n"
    "                           1024, at most 16384); more are refused\n"
    "      --max-buffered MIB   buffer at most MIB MiB for all connections\n"
    "                           (default 64); stalled connections are cut\n"
    "      --resolve HOST:ADDR  resolve HOST to ADDR without DNS. Test-only:\n"
    "                           honoured only with CORDON_TEST_HOOKS=1\n"
    "  -v, --verbose            explain every decision on stderr\n"
    "  -h, --help               this text\n"
    "\n"
    "Prints \"listening on ADDR:PORT\" once ready. Stops on SIGINT or SIGTERM.\n";

int
cli_test_hooks(void)
{
	const char *t = getenv("CORDON_TEST_HOOKS");

	return t != NULL && strcmp(t, "1") == 0;
}

static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[64];
	const char *colon;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '\0' || port > 65535)
		return -1;
	if (s[0] == '[') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		*sl = sizeof(*in6);
	} else {
		struct sockaddr_in *in4 = (struct sockaddr_in *)ss;

		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
			return -1;
		*sl = sizeof(*in4);
	}
	return 0;
}

static void
print_limit(void *arg, const struct px_limit_event *ev)
{
	(void)arg;
	fprintf(stderr, "cordon: proxy: limit %s reached: %s\n", ev->limit, ev->message);
}

static void
print_event(void *arg, const struct px_event *ev)
{
	static const char *const proto[] = { "connect", "http",        "socks5",
					     "unknown", "transparent", "dns" };

	(void)arg;
	fprintf(stderr,
		"cordon: proxy: %s %s %s:%u addr=%s rule=%s up=%llu down=%llu ms=%llu (%s)\n",
		ev->allowed ? "allow" : "deny", proto[ev->proto], ev->host, ev->port,
		ev->addr[0] ? ev->addr : "-", ev->rule[0] ? ev->rule : "-",
		(unsigned long long)ev->bytes_up, (unsigned long long)ev->bytes_down,
		(unsigned long long)ev->duration_ms, ev->reason);
}

struct stop_ctx {
	struct px_watch w;
	struct px_loop *loop;
};

static void
on_stop(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	px_loop_stop(loop);
}

int
cli_proxy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "allow-domain", required_argument, NULL, 'a' },
		{ "deny-domain", required_argument, NULL, 'd' },
		{ "resolve", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "max-connections", required_argument, NULL, 'C' },
		{ "max-buffered", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cordon_err err = { 0 };
	struct px_config cfg;
	struct px_loop *loop = NULL;
	struct px_proxy *px = NULL;
	struct sockaddr_storage ss;
	struct stop_ctx stop;
	socklen_t sl = 0;
	const char *listen_at = "127.0.0.1:3128";
	_cleanup_close_ int lfd = -1, sfd = -1;
	char **rules = calloc((size_t)argc + 1, sizeof(char *));
	int *deny = calloc((size_t)argc + 1, sizeof(int));
	char **resolve = calloc((size_t)argc + 1, sizeof(char *));
	size_t n_rules = 0, n_resolve = 0;
	sigset_t set;
	int c, status = 125, one = 1;

	if (rules == NULL || deny == NULL || resolve == NULL)
		fatalx("out of memory");
	memset(&cfg, 0, sizeof(cfg));
	optind = 1;
	while ((c = getopt_long(argc, argv, "+l:a:d:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_at = optarg;
			break;
		case 'a':
		case 'd':
			deny[n_rules] = c == 'd';
			rules[n_rules++] = optarg;
			break;
		case 'r':
			resolve[n_resolve++] = optarg;
			break;
		case 'v':
			cfg.verbose = 1;
			break;
		case 'C':
		case 'B': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] < '1' || optarg[0] > '9' ||
			    (c == 'C' && v > PX_CONN_MAX) || (c == 'B' && v > (1ul << 20))) {
				status = cli_usage_error(
				    "proxy", "bad --%s '%s' (want 1-%lu)",
				    c == 'C' ? "max-connections" : "max-buffered", optarg,
				    c == 'C' ? (unsigned long)PX_CONN_MAX : 1ul << 20);
				goto out;
			}
			if (c == 'C')
				cfg.max_conns = (unsigned)v;
			else
				cfg.max_buffered = (uint64_t)v << 20;
			break;
		}
		case 'h':
			fputs(proxy_usage, stdout);
			status = 0;
			goto out;
		default:
			status = cli_usage_error("proxy", "unknown option");
			goto out;
		}
	}
	if (optind < argc) {
		status = cli_usage_error("proxy", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (n_resolve > 0 && !cli_test_hooks()) {
		status = cli_usage_error("proxy", "--resolve is a test-only option");
		goto out;
	}
	if (parse_listen(listen_at, &ss, &sl) < 0) {
		status = cli_usage_error("proxy", "bad --listen '%s' (want ADDR:PORT)", listen_at);
		goto out;
	}
	cfg.allow_cmd = "restart `cordon proxy` with --allow-domain";
	if (cfg.verbose)
		cfg.on_decision = print_event;
	cfg.on_limit = print_limit;
	if (cli_test_hooks()) {
		const char *lo = getenv("CORDON_TEST_PROXY_LOOPBACK");

		cfg.test_allow_loopback = lo != NULL && strcmp(lo, "1") == 0;
	}
	signal(SIGPIPE, SIG_IGN);
	loop = px_loop_new();
	if (loop == NULL) {
		cordon_err_set(&err, errno, "create the event loop");
		cli_print_err(&err);
		goto out;
	}
	px = px_proxy_new(loop, &cfg, &err);
	if (px == NULL) {
		cli_print_err(&err);
		goto out;
	}
	for (size_t i = 0; i < n_rules; i++)
		if (px_proxy_add_rule(px, rules[i], deny[i], &err) < 0) {
			cli_print_err(&err);
			goto out;
		}
	for (size_t i = 0; i < n_resolve; i++)
		if (px_proxy_add_resolve(px, resolve[i], &err) < 0) {
			cli_print_err(&err);
			goto out;
		}
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&ss, sl) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&ss, &sl) < 0) {
		cordon_err_set(&err, errno, "listen on %s", listen_at);
		cordon_err_hint(&err, "pick another port with --listen 127.0.0.1:PORT");
		cli_print_err(&err);
		goto out;
	}
	{
		char a[64];

		if (ss.ss_family == AF_INET6)
			printf("listening on [%s]:%u\n",
			       inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a,
					 sizeof(a)),
			       ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
		else
			printf("listening on %s:%u\n",
			       inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a,
					 sizeof(a)),
			       ntohs(((struct sockaddr_in *)&ss)->sin_port));
		fflush(stdout);
	}
	if (px_proxy_add_listener(px, steal_fd(lfd), &err) < 0) {
		cli_print_err(&err);
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	stop.loop = loop;
	if (sfd < 0 || px_loop_add(loop, &stop.w, sfd, EPOLLIN, on_stop) < 0) {
		cordon_err_set(&err, errno, "signalfd");
		cli_print_err(&err);
		goto out;
	}
	if (px_loop_run(loop) < 0) {
		cordon_err_set(&err, errno, "event loop");
		cli_print_err(&err);
		goto out;
	}
	px_loop_del(loop, &stop.w);
	status = 0;
out:
	px_proxy_free(px);
	px_loop_free(loop);
	free(rules);
	free(deny);
	free(resolve);
	return status;
}
