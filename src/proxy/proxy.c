/* SPDX-License-Identifier: MIT */
/*
 * The proxy object: listeners (accept pauses on EMFILE and once
 * PX_CONN_REFUSING connections beyond max_conns are being refused), the
 * rule set, the resolver, the host's own addresses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ifaddrs.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fd.h"
#include "proxy/conn.h"
#include "proxy/proxy.h"
#include "proxy/tls_mitm.h"

#define ACCEPT_RETRY_MS 200

static void
pause_accept(struct px_proxy *px)
{
	if (px->accept_paused)
		return;
	px->accept_paused = 1;
	for (struct px_listener *l = px->listeners; l != NULL; l = l->next)
		px_loop_mod(px->loop, &l->w, 0);
	px_timer_arm(px->loop, &px->resume, ACCEPT_RETRY_MS);
}

void
px_proxy_resume_accept(struct px_proxy *px)
{
	if (!px->accept_paused || px->n_conns >= px->max_conns + PX_CONN_REFUSING)
		return;
	px->accept_paused = 0;
	px_timer_disarm(px->loop, &px->resume);
	for (struct px_listener *l = px->listeners; l != NULL; l = l->next)
		px_loop_mod(px->loop, &l->w, EPOLLIN);
}

static void
on_resume(struct px_loop *loop, struct px_timer *t)
{
	struct px_proxy *px = px_container_of(t, struct px_proxy, resume);

	(void)loop;
	px_proxy_resume_accept(px);
	if (px->accept_paused)
		px_timer_arm(px->loop, &px->resume, ACCEPT_RETRY_MS);
}

static void
on_reap(struct px_loop *loop, struct px_timer *t)
{
	(void)loop;
	px_conn_reap(px_container_of(t, struct px_proxy, reaper));
}

static void
on_accept(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct px_listener *l = px_container_of(w, struct px_listener, w);
	struct px_proxy *px = l->px;

	(void)loop;
	(void)events;
	for (int i = 0; i < 64; i++) {
		int fd, one = 1;

		/* beyond max_conns, a few more are taken only to be told why not */
		if (px->n_conns >= px->max_conns + PX_CONN_REFUSING) {
			pause_accept(px);
			return;
		}
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				pause_accept(px);
			return;
		}
		/*
		 * As on the upstream side: without it, a TLS handshake relayed in
		 * small segments waits on the client's delayed ACK (40 ms a round).
		 */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		px_conn_accept(px, fd);
	}
}

/* The host's own addresses, refused as upstreams (they reach local services). */
static void
collect_local(struct px_proxy *px)
{
	struct ifaddrs *ifa = NULL;
	struct px_addr v[256];
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i != NULL && n < 256; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			px_addr_from_in(&v[n++],
					&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr);
		else if (i->ifa_addr->sa_family == AF_INET6)
			px_addr_from_in6(&v[n++],
					 &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr);
	}
	freeifaddrs(ifa);
	px_rules_set_local(&px->rules, v, n);
}

struct px_proxy *
px_proxy_new(struct px_loop *loop, const struct px_config *cfg, struct cordon_err *err)
{
	struct px_proxy *px = calloc(1, sizeof(*px));
	struct rlimit rl;

	if (px == NULL) {
		cordon_err_set(err, ENOMEM, "create the proxy");
		return NULL;
	}
	px->loop = loop;
	px->cfg = *cfg;
	px->max_conns = cfg->max_conns == 0            ? PX_CONN_DEFAULT
			: cfg->max_conns < PX_CONN_MAX ? cfg->max_conns
						       : PX_CONN_MAX;
	px->max_buffered = cfg->max_buffered == 0           ? PX_BUF_DEFAULT
			   : cfg->max_buffered < PX_BUF_MIN ? PX_BUF_MIN
							    : cfg->max_buffered;
	px_budget_init(px);
	px_rules_init(&px->rules);
	px->rules.allow_loopback = cfg->test_allow_loopback;
	px_timer_init(&px->resume, on_resume);
	px_timer_init(&px->reaper, on_reap);
	px->res = px_resolver_new(loop, err);
	if (px->res == NULL) {
		px_rules_fini(&px->rules);
		free(px);
		return NULL;
	}
	collect_local(px);
	/*
	 * splice(2) into a socket the peer has closed raises SIGPIPE (there is
	 * no MSG_NOSIGNAL for it): a closing client must not kill the proxy,
	 * nor the supervisor that hosts it.
	 */
	signal(SIGPIPE, SIG_IGN);
	/* a tunnel costs up to six fds; take what the hard limit allows */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return px;
}

void
px_proxy_free(struct px_proxy *px)
{
	if (px == NULL)
		return;
	px_conn_close_all(px);
	while (px->listeners != NULL) {
		struct px_listener *l = px->listeners;

		px->listeners = l->next;
		px_loop_del(px->loop, &l->w);
		close(l->w.fd);
		free(l);
	}
	px_timer_disarm(px->loop, &px->resume);
	px_timer_disarm(px->loop, &px->reaper);
	px_timer_disarm(px->loop, &px->sweep);
	px_resolver_free(px->res);
	px_rules_fini(&px->rules);
	px_mitm_ctx_free(px->mitm);
	free(px);
}

int
px_proxy_add_listener(struct px_proxy *px, int fd, struct cordon_err *err)
{
	struct px_listener *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		close(fd);
		return cordon_err_set(err, ENOMEM, "add listener");
	}
	l->px = px;
	if (fd_set_nonblock(fd, 1) < 0 || fd_set_cloexec(fd, 1) < 0 ||
	    px_loop_add(px->loop, &l->w, fd, px->accept_paused ? 0 : EPOLLIN, on_accept) < 0) {
		cordon_err_set(err, errno, "watch the proxy listener");
		close(fd);
		free(l);
		return -1;
	}
	l->next = px->listeners;
	px->listeners = l;
	return 0;
}

int
px_proxy_add_rule(struct px_proxy *px, const char *pattern, int deny, struct cordon_err *err)
{
	return px_rules_add(&px->rules, pattern, deny, err);
}

int
px_proxy_add_resolve(struct px_proxy *px, const char *spec, struct cordon_err *err)
{
	return px_resolver_add_override(px->res, spec, err);
}

unsigned
px_proxy_n_conns(const struct px_proxy *px)
{
	return px->n_conns;
}
