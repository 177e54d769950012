/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_CONN_H
#define CORDON_PROXY_CONN_H

#include "proxy/http.h"
#include "proxy/proxy.h"
#include "proxy/resolve.h"

/* Internal to proxy/: the proxy object and one client connection. */

enum px_state {
	PX_STATE_ACCEPTED = 0, /* waiting for the first byte */
	PX_STATE_REQUEST,      /* reading a request head / SOCKS5 handshake */
	PX_STATE_POLICY,       /* deciding, resolving */
	PX_STATE_CONNECTING,   /* TCP connect to the upstream in progress */
	PX_STATE_TUNNEL,       /* relaying (spliced tunnel, or framed HTTP) */
	PX_STATE_CLOSING,      /* flushing a final answer, then close */
};

struct px_listener {
	struct px_watch w;
	struct px_proxy *px;
	struct px_listener *next;
};

struct px_proxy {
	struct px_loop *loop;
	struct px_config cfg;
	struct px_rules rules;
	struct px_resolver *res;
	struct px_listener *listeners;
	struct px_conn *conns;
	struct px_conn *graveyard; /* closed, freed after the current epoll batch */
	struct px_timer reaper;
	unsigned n_conns, max_conns;
	int accept_paused;
	struct px_timer resume;
	struct px_mitm_ctx *mitm; /* rules, injections, CA (tls_mitm.c); NULL when none */
};

/* Start serving a freshly accepted client socket (non-blocking). */
void px_conn_accept(struct px_proxy *px, int fd);

/*
 * Serve a captured connection (capture.c) as if its client had asked
 * CONNECT host:port: the same policy, resolution, address and SNI checks,
 * interception and record. Nothing is written to the client by the proxy
 * itself: an allowed connection is relayed, a refused one is reset.
 */
void px_conn_accept_target(struct px_proxy *px, int fd, const char *host, uint16_t port);

/*
 * A record for a refusal that is not a connection's own (a refused request
 * on an allowed connection, a refused DNS query): on_decision, when set.
 */
void px_event_deny(struct px_proxy *px, const char *host, uint16_t port, const char *addr,
		   enum px_proto proto, const char *rule, const char *reason, const char *method,
		   const char *path, int intercepted);

/* Free closed connections (the reaper timer, after an epoll batch). */
void px_conn_reap(struct px_proxy *px);

/* Close every connection (px_proxy_free). */
void px_conn_close_all(struct px_proxy *px);

/* Resume paused accepting (a slot or fd was freed). */
void px_proxy_resume_accept(struct px_proxy *px);

#endif
