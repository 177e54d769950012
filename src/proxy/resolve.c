/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "proxy/resolve.h"

struct rsock {
	struct px_watch w;
	struct px_resolver *res;
	struct rsock *next;
	int gone; /* closed; freed after the current epoll batch */
};

struct override {
	char host[PX_HOST_MAX];
	struct px_addr addr;
};

struct px_resolver {
	struct px_loop *loop;
	ares_channel ch;
	struct px_timer timer;
	struct rsock *socks;
	struct rsock *graveyard;
	struct px_timer reaper;
	struct override *ov;
	size_t n_ov;
};

struct px_resolve_req {
	px_resolve_cb cb;
	void *arg;
	struct px_resolve_req **slot;
	int cancelled;
};

static void
rearm(struct px_resolver *res)
{
	struct timeval tv, *t;

	t = ares_timeout(res->ch, NULL, &tv);
	if (t == NULL) {
		px_timer_disarm(res->loop, &res->timer);
		return;
	}
	px_timer_arm(res->loop, &res->timer,
		     (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_usec / 1000 + 1);
}

static void
on_timer(struct px_loop *loop, struct px_timer *t)
{
	struct px_resolver *res = px_container_of(t, struct px_resolver, timer);

	(void)loop;
	ares_process_fd(res->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(res);
}

static void
on_sock(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct rsock *s = px_container_of(w, struct rsock, w);
	struct px_resolver *res = s->res;
	int fd = w->fd;

	(void)loop;
	if (s->gone)
		return;
	ares_process_fd(res->ch, events & (EPOLLIN | EPOLLERR | EPOLLHUP) ? fd : ARES_SOCKET_BAD,
			events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
	rearm(res);
}

static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct px_resolver *res = data;
	struct rsock **pp, *s;
	uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);

	for (pp = &res->socks; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->w.fd == fd)
			break;
	s = *pp;
	if (ev == 0) {
		if (s != NULL) {
			px_loop_del(res->loop, &s->w);
			*pp = s->next;
			s->gone = 1;
			s->next = res->graveyard;
			res->graveyard = s;
			px_timer_arm(res->loop, &res->reaper, 0);
		}
		return;
	}
	if (s != NULL) {
		px_loop_mod(res->loop, &s->w, ev);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return; /* the query times out */
	s->res = res;
	if (px_loop_add(res->loop, &s->w, fd, ev, on_sock) < 0) {
		free(s);
		return;
	}
	s->next = res->socks;
	res->socks = s;
}

static void
reap(struct px_resolver *res)
{
	while (res->graveyard != NULL) {
		struct rsock *s = res->graveyard;

		res->graveyard = s->next;
		free(s);
	}
}

static void
on_reap(struct px_loop *loop, struct px_timer *t)
{
	(void)loop;
	reap(px_container_of(t, struct px_resolver, reaper));
}

struct px_resolver *
px_resolver_new(struct px_loop *loop, struct cordon_err *err)
{
	static int lib_ready;
	struct ares_options opt;
	struct px_resolver *res;
	int r;

	if (!lib_ready) {
		r = ares_library_init(ARES_LIB_INIT_ALL);
		if (r != ARES_SUCCESS) {
			cordon_err_set(err, 0, "initialise c-ares: %s", ares_strerror(r));
			return NULL;
		}
		lib_ready = 1;
	}
	res = calloc(1, sizeof(*res));
	if (res == NULL) {
		cordon_err_set(err, ENOMEM, "create resolver");
		return NULL;
	}
	res->loop = loop;
	px_timer_init(&res->timer, on_timer);
	px_timer_init(&res->reaper, on_reap);
	memset(&opt, 0, sizeof(opt));
	opt.sock_state_cb = sock_state;
	opt.sock_state_cb_data = res;
	opt.timeout = 2000;
	opt.tries = 2;
	r = ares_init_options(&res->ch, &opt,
			      ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (r != ARES_SUCCESS) {
		cordon_err_set(err, 0, "initialise the resolver: %s", ares_strerror(r));
		cordon_err_hint(err, "check /etc/resolv.conf");
		free(res);
		return NULL;
	}
	return res;
}

void
px_resolver_free(struct px_resolver *res)
{
	if (res == NULL)
		return;
	/* ares_destroy runs pending callbacks with ARES_EDESTRUCTION */
	ares_destroy(res->ch);
	while (res->socks != NULL) {
		struct rsock *s = res->socks;

		res->socks = s->next;
		px_loop_del(res->loop, &s->w);
		free(s);
	}
	px_timer_disarm(res->loop, &res->timer);
	px_timer_disarm(res->loop, &res->reaper);
	reap(res);
	free(res->ov);
	free(res);
}

int
px_resolver_add_override(struct px_resolver *res, const char *spec, struct cordon_err *err)
{
	char host[PX_HOST_MAX * 2], norm[PX_HOST_MAX], abuf[PX_HOST_MAX];
	const char *colon = strchr(spec, ':');
	struct override *v;
	struct px_addr a;
	int is_ip;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
		cordon_err_set(err, EINVAL, "bad --resolve '%.200s'", spec);
		return cordon_err_hint(err, "write HOST:ADDR, e.g. allowed.test:198.18.0.2");
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (px_host_normalize(host, norm, sizeof(norm), &is_ip, &a) < 0 || is_ip ||
	    px_host_normalize(colon + 1, abuf, sizeof(abuf), &is_ip, &a) < 0 || !is_ip) {
		cordon_err_set(err, EINVAL, "bad --resolve '%.200s'", spec);
		return cordon_err_hint(err, "write HOST:ADDR with a name and an IP address");
	}
	v = realloc(res->ov, (res->n_ov + 1) * sizeof(*v));
	if (v == NULL)
		return cordon_err_set(err, ENOMEM, "add override");
	res->ov = v;
	strcpy(v[res->n_ov].host, norm);
	v[res->n_ov].addr = a;
	res->n_ov++;
	return 0;
}

size_t
px_resolver_lookup_override(const struct px_resolver *res, const char *host, struct px_addr *addrs,
			    size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < res->n_ov && n < max; i++)
		if (strcmp(res->ov[i].host, host) == 0)
			addrs[n++] = res->ov[i].addr;
	return n;
}

static void
on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct px_resolve_req *req = arg;
	struct px_addr addrs[PX_RESOLVE_MAX];
	size_t n = 0;
	int code = 0;

	(void)timeouts;
	if (status == ARES_SUCCESS && ai != NULL) {
		/* IPv4 first: the host namespace often has no IPv6 route */
		for (int pass = 0; pass < 2; pass++)
			for (struct ares_addrinfo_node *nd = ai->nodes; nd != NULL;
			     nd = nd->ai_next) {
				if (n == PX_RESOLVE_MAX)
					break;
				if (pass == 0 && nd->ai_family == AF_INET)
					px_addr_from_in(
					    &addrs[n++],
					    &((struct sockaddr_in *)(void *)nd->ai_addr)->sin_addr);
				else if (pass == 1 && nd->ai_family == AF_INET6)
					px_addr_from_in6(
					    &addrs[n++],
					    &((struct sockaddr_in6 *)(void *)nd->ai_addr)
						 ->sin6_addr);
			}
	}
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	if (n == 0) {
		switch (status) {
		case ARES_ETIMEOUT:
			code = ETIMEDOUT;
			break;
		case ARES_ENOTFOUND:
		case ARES_ENODATA:
		case ARES_SUCCESS:
			code = ENOENT;
			break;
		default:
			code = EIO;
			break;
		}
	}
	if (!req->cancelled) {
		*req->slot = NULL;
		req->cb(req->arg, code, addrs, n);
	}
	free(req);
}

int
px_resolve(struct px_resolver *res, const char *host, px_resolve_cb cb, void *arg,
	   struct px_resolve_req **slot)
{
	struct ares_addrinfo_hints hints;
	struct px_resolve_req *req = calloc(1, sizeof(*req));

	if (req == NULL) {
		errno = ENOMEM;
		return -1;
	}
	req->cb = cb;
	req->arg = arg;
	req->slot = slot;
	*slot = req;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	ares_getaddrinfo(res->ch, host, NULL, &hints, on_answer, req);
	rearm(res);
	return 0;
}

void
px_resolve_cancel(struct px_resolve_req **slot)
{
	if (*slot == NULL)
		return;
	(*slot)->cancelled = 1;
	*slot = NULL;
}
