/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_CONN_H
#define CORDON_PROXY_CONN_H

#include "proxy/http.h"
#include "proxy/proxy.h"
#include "proxy/resolve.h"

/*
 * Internal to proxy/: the proxy object and one client connection. conn.c
 * owns the lifecycle (state machine, answers, policy, close); tunnel.c
 * relays CONNECT and SOCKS5 tunnels (TLS ClientHello check, splice, or
 * handing the tunnel to tls_mitm.c when the proxy reads it); http_relay.c
 * relays plain HTTP; budget.c bounds what they all hold.
 */

struct px_mitm_ctx;
struct px_mitm;

#define PX_REC_PATH_MAX 512 /* path bytes kept for a request's record */

/*
 * One HTTP request the proxy reads (plain HTTP, or inside a tunnel it
 * reads), from its head to the end of its response: its record names the
 * method, the normalised path (never the query: it may hold secrets), the
 * rule that let it through, the response's status and the bytes of this
 * exchange.
 */
struct px_req_rec {
	int open; /* begun, its record not written yet */
	char method[24];
	char path[PX_REC_PATH_MAX];
	char rule[256];
	uint64_t up0, dn0; /* the connection's byte counts when it began */
};

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
	/* budget.c */
	uint64_t max_buffered;
	uint64_t buf_user; /* user-space buffers of all connections */
	uint64_t buf_pipe; /* bytes sitting in splice pipes */
	uint64_t buf_sock; /* socket queues of stalled connections, last sweep */
	struct px_timer sweep;
	int sweep_soon;           /* armed early: a measurement found the total over */
	uint64_t reported_ms[2];  /* last limit report: connections, buffers */
	struct px_mitm_ctx *mitm; /* rules, injections, CA (tls_mitm.c); NULL when none */
};

struct px_conn {
	struct px_proxy *px;
	struct px_conn *prev, *next;
	int refs;
	int dead; /* px_conn_close was called while referenced */
	int gone; /* torn down; memory freed by the reaper */
	const char *dead_reason;
	enum px_state state;
	enum px_proto proto;
	struct px_watch wc, wu; /* client, upstream (fd -1 when none) */
	struct px_timer timer;
	uint64_t start_ms, last_ms;
	int over_limit; /* accepted beyond max_conns: answered "too many", closed */
	char *why;      /* the reason of a refusal, for the record (px_conn_why) */

	/* client -> proxy bytes; [0, in_fwd) are body bytes ready for upstream */
	char *in;
	size_t in_len, in_fwd, in_cap;
	/* proxy -> upstream: rewritten head or peeked ClientHello, sent first */
	char *up;
	size_t up_len, up_off, up_cap;
	/* proxy's own answer to the client (200, 403, SOCKS5 reply) */
	char *msg;
	size_t msg_len, msg_off;
	int close_after_msg;
	int draining; /* answer sent, write side shut: reading to EOF */
	size_t drained;
	/* upstream -> proxy bytes (plain HTTP); [0, r_fwd) ready for client */
	char *rbuf;
	size_t r_len, r_fwd, r_cap;

	/* plain HTTP */
	struct px_xfer xf;
	int client_eof, up_reusable;
	struct px_req_rec rec;
	char rec_rule[256]; /* the network.rules entry that allowed the request, or "" */

	/* SOCKS5 */
	int s5_greeted;

	/* target */
	char host[PX_HOST_MAX];
	char norm[PX_HOST_MAX];
	uint16_t port;
	int is_ip;
	struct px_addr addrs[PX_RESOLVE_MAX];
	size_t n_addrs, i_addr;
	char addr_str[64];
	char rule[PX_HOST_MAX + 16];
	int allowed, decided;
	int recorded; /* this target's record is written (refused by network.rules) */
	struct px_resolve_req *rreq;

	/* tunnel */
	int tls_check;           /* the client's first bytes are not judged yet */
	uint64_t hello_deadline; /* a ClientHello began: complete it by then */
	int p_cu[2], p_uc[2];    /* pipes: client->upstream, upstream->client */
	size_t pend_cu, pend_uc;
	size_t cap_cu, cap_uc; /* pipe capacities */
	int full_cu, full_uc;  /* pipe took no more: wait for the writer side */
	int eof_c, eof_u, shut_c, shut_u;
	int hup_c, hup_u, park_c, park_u; /* peer hung up; watch taken out of epoll */
	uint64_t bytes_up, bytes_dn;
	int mitm_wanted;      /* rules or an injection name the target: read it */
	int http_wanted;      /* captured to port 80: read it when it is not TLS */
	struct px_mitm *mitm; /* the proxy reads this tunnel (tls_mitm.c) */

	/* budget.c */
	size_t held;          /* fixed charge (an intercepted tunnel's buffers) */
	int starved;          /* did not read because the budget was spent */
	int cut;              /* closed by the sweep */
	int unlisted;         /* refused by the default deny: no rule names it */
	int transparent;      /* captured (px_conn_accept_target): no proxy answers */
	uint64_t sock_mem;    /* socket queue bytes at the last sweep */
	uint64_t sweep_bytes; /* bytes_up + bytes_dn at the last sweep */
};

/* ---- conn.c ---- */

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

/*
 * The only teardown path: writes the record (on_decision) and frees, or
 * when a handler holds a reference only marks the connection. reason is a
 * static string or c->why. Safe to call more than once.
 */
void px_conn_close(struct px_conn *c, const char *reason);

/*
 * Set the reason of a refusal (kept for the record, freed with c). Returns
 * it, or a fixed "refused" when out of memory: usable as a close reason.
 */
const char *px_conn_why(struct px_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Enter state s and arm its timeout. */
void px_conn_set_state(struct px_conn *c, enum px_state s);

/* Run the handlers of the current state (takes no reference: callers hold one). */
void px_conn_pump(struct px_conn *c);

/* Pump c from outside its handlers (a timer of the proxy), under a reference. */
void px_conn_kick(struct px_conn *c);

/* Report the decision so far (a keep-alive connection changing target). */
void px_conn_emit_event(struct px_conn *c, const char *reason);

/*
 * Begin r for a request read on a connection: method, its target as sent
 * (origin form; the path is normalised as network.rules read it, the
 * query dropped), the rule that let it through (NULL: none), and the
 * connection's byte counts now. Pure.
 */
void px_req_begin(struct px_req_rec *r, const char *method, const char *target, size_t tlen,
		  const char *rule, uint64_t up, uint64_t dn);

/*
 * Write r's record if it is open (an allowed request: on_decision with
 * method, path and status; status 0 when no response head came) and close
 * it. up, dn: the connection's byte counts now.
 */
void px_req_end(struct px_proxy *px, struct px_req_rec *r, const char *host, uint16_t port,
		const char *addr, enum px_proto proto, int intercepted, int status, uint64_t up,
		uint64_t dn);

/*
 * What to wait for on one side (upstream != 0: the upstream socket). A
 * hung-up socket with nothing wanted is taken out of epoll.
 */
void px_conn_set_watch(struct px_conn *c, int upstream, uint32_t ev);

/* Explain on stderr when the proxy is verbose. */
void px_conn_verbose(struct px_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Queue an HTTP error answer; the connection closes once it is sent. */
void px_conn_http_answer(struct px_conn *c, int status, const char *body);

/*
 * Client socket I/O. read_client: into c->in (grown up to PX_HDR_MAX);
 * 1 data, 0 nothing (or c->in full), -1 EOF or error (c may be dead).
 * flush_msg: the proxy's own answer; 1 all sent, 0 blocked, -1 closed.
 * flush_up: c->up to the upstream; same returns.
 */
int px_conn_read_client(struct px_conn *c);
int px_conn_flush_msg(struct px_conn *c);
int px_conn_flush_up(struct px_conn *c);

/* send(2) without SIGPIPE: bytes written, 0 on EAGAIN, -1 on error. */
ssize_t px_conn_write_some(int fd, const char *buf, size_t len);

/* Drop the first n bytes of c->in. */
void px_conn_consume_in(struct px_conn *c, size_t n);

/* Close the upstream socket, if any. */
void px_conn_close_upstream(struct px_conn *c);

/* Parse and act on a request head in c->in (plain HTTP or CONNECT). */
void px_conn_http_head(struct px_conn *c);

/* ---- tunnel.c ---- */

/* Start relaying a CONNECT/SOCKS5 tunnel whose upstream is connected. */
void px_tunnel_start(struct px_conn *c);

/* Relay what can be relayed now and set what to wait for. */
void px_tunnel_pump(struct px_conn *c);

/*
 * The ClientHello timeout passed (on_timer): close if still incomplete. 1
 * closed.
 */
int px_tunnel_hello_expired(struct px_conn *c, uint64_t now);

/* ---- http_relay.c ---- */

/* Forward a parsed absolute-form request to the connected upstream. */
void px_http_relay_request(struct px_conn *c, const struct px_http_req *req);

/* Is the open upstream the target of req (keep-alive reuse)? */
int px_http_relay_same_target(struct px_conn *c, const struct px_http_req *req);

/* Relay plain HTTP in both directions and set what to wait for. */
void px_http_relay_pump(struct px_conn *c);

/* ---- budget.c ---- */

/*
 * User-space buffers: make *b hold at least want bytes (of *cap now),
 * charged to the session's budget. 0, or -1 when over budget or out of
 * memory (then c is closed with the reason). px_budget_free releases.
 */
int px_budget_buf(struct px_conn *c, char **b, size_t *cap, size_t want);
void px_budget_free(struct px_conn *c, char **b, size_t *cap);

/*
 * Charge bytes that c holds outside those buffers (an intercepted tunnel's
 * buffers and TLS state) until it is freed: 0, or -1 when over budget
 * (then c is closed with the reason). px_budget_release gives all back.
 */
int px_budget_hold(struct px_conn *c, size_t bytes);
void px_budget_release(struct px_conn *c);

/* May c read more into a pipe or buffer now? Marks it starved if not. */
int px_budget_may_read(struct px_conn *c);

/* Account bytes entering (+) or leaving (-) a splice pipe. */
void px_budget_pipe(struct px_proxy *px, ssize_t delta);

/*
 * Measure c's socket queues now (a write to one of its sockets would
 * block: its peer is not keeping up). Sweeps at once when over budget.
 */
void px_budget_measure(struct px_conn *c);

/* Whether a pipe may grow to 1 MB (the budget is less than half spent). */
int px_budget_may_grow(const struct px_proxy *px);

/* Tune a client socket: bounded kernel buffers (the sandbox side is local). */
void px_budget_client_socket(int fd);

/* Set up the proxy's budget timer (px_proxy_new). */
void px_budget_init(struct px_proxy *px);

/* Start the sweep timer if needed (a connection was accepted). */
void px_budget_arm(struct px_proxy *px);

/* Report a bound (rate-limited per bound). kind: 0 connections, 1 buffers. */
void px_budget_report(struct px_proxy *px, int kind, uint64_t value, const char *message);

#endif
