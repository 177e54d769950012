/* SPDX-License-Identifier: MIT */
/*
 * One client connection of the egress proxy, as an explicit state machine:
 *
 *   ACCEPTED -> REQUEST -> POLICY -> CONNECTING -> TUNNEL -> CLOSING
 *
 * The first byte tells SOCKS5 (0x05) from HTTP. CONNECT and SOCKS5 become
 * spliced tunnels (after a TLS ClientHello check on port 443); absolute-form
 * HTTP is relayed through buffers with both bodies framed, so that every
 * request on a keep-alive connection is checked against the policy.
 *
 * Handlers run with a reference held; px_conn_close() is the only teardown
 * path and, when a handler is running, only marks the connection: the last
 * reference frees it (Redis callHandler, relayd relay_close).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "proxy/conn.h"
#include "proxy/socks5.h"
#include "proxy/tls_mitm.h"
#include "proxy/tls_sni.h"

#define BUF_CAP  PX_HDR_MAX
#define PIPE_BIG (1 << 20)

enum req_phase { RQ_HEAD = 0, RQ_BODY, RQ_WAIT };
enum resp_phase { RS_HEAD = 0, RS_BODY, RS_DONE };

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

	/* client -> proxy bytes; [0, in_fwd) are body bytes ready for upstream */
	char *in;
	size_t in_len, in_fwd;
	/* proxy -> upstream: rewritten head or peeked ClientHello, sent first */
	char *up;
	size_t up_len, up_off;
	/* proxy's own answer to the client (200, 403, SOCKS5 reply) */
	char *msg;
	size_t msg_len, msg_off;
	int close_after_msg;
	int draining; /* answer sent, write side shut: reading to EOF */
	size_t drained;
	/* upstream -> proxy bytes (plain HTTP); [0, r_fwd) ready for client */
	char *rbuf;
	size_t r_len, r_fwd;

	/* plain HTTP */
	enum req_phase rq;
	enum resp_phase rs;
	struct px_body req_body, resp_body;
	int head_req, req_close, resp_close, upgraded, client_eof, up_reusable;

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
	int allowed, decided, sni_check;
	struct px_resolve_req *rreq;

	/* tunnel */
	int p_cu[2], p_uc[2]; /* pipes: client->upstream, upstream->client */
	size_t pend_cu, pend_uc;
	size_t cap_cu, cap_uc; /* pipe capacities */
	int full_cu, full_uc;  /* pipe took no more: wait for the writer side */
	int eof_c, eof_u, shut_c, shut_u;
	int hup_c, hup_u, park_c, park_u; /* peer hung up; watch taken out of epoll */
	uint64_t bytes_up, bytes_dn;

	struct px_mitm *mitm; /* the proxy reads this tunnel (tls_mitm.c) */
	int transparent;      /* captured (px_conn_accept_target): no proxy answers */
};

static void conn_pump(struct px_conn *c);
static void conn_start_target(struct px_conn *c);

static void
px_conn_set_state(struct px_conn *c, enum px_state s)
{
	uint64_t ms = 0;

	c->state = s;
	switch (s) {
	case PX_STATE_ACCEPTED:
	case PX_STATE_REQUEST:
		ms = PX_TIMEOUT_REQUEST_MS;
		break;
	case PX_STATE_POLICY:
	case PX_STATE_CONNECTING:
		ms = PX_TIMEOUT_CONNECT_MS;
		break;
	case PX_STATE_TUNNEL:
		ms = PX_TIMEOUT_IDLE_MS;
		break;
	case PX_STATE_CLOSING:
		ms = 5000;
		break;
	default:
		break;
	}
	c->last_ms = px_now_ms();
	px_timer_arm(c->px->loop, &c->timer, ms);
}

static const char *
proto_name(enum px_proto p)
{
	switch (p) {
	case PX_PROTO_CONNECT:
		return "CONNECT";
	case PX_PROTO_HTTP:
		return "HTTP";
	case PX_PROTO_SOCKS5:
		return "SOCKS5";
	case PX_PROTO_UNKNOWN:
	case PX_PROTO_TRANSPARENT:
	case PX_PROTO_DNS:
	default:
		return "unknown";
	}
}

static void
emit_event(struct px_conn *c, const char *reason)
{
	struct px_proxy *px = c->px;
	struct px_event ev;

	if (px->cfg.on_decision == NULL || (!c->decided && c->host[0] == '\0'))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.host = c->host;
	ev.port = c->port;
	ev.addr = c->addr_str;
	ev.proto = c->transparent ? PX_PROTO_TRANSPARENT : c->proto;
	ev.allowed = c->allowed;
	ev.rule = c->rule;
	ev.bytes_up = c->bytes_up;
	ev.bytes_down = c->bytes_dn;
	ev.duration_ms = px_now_ms() - c->start_ms;
	ev.reason = reason;
	ev.intercepted = px_mitm_intercepted(c->mitm);
	px->cfg.on_decision(px->cfg.on_decision_arg, &ev);
}

static void
close_upstream(struct px_conn *c)
{
	if (c->wu.fd >= 0) {
		if (!c->park_u)
			px_loop_del(c->px->loop, &c->wu);
		close(c->wu.fd);
		c->wu.fd = -1;
	}
	c->hup_u = c->park_u = 0;
	c->wu.events = 0;
}

static void
close_pipes(struct px_conn *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->p_cu[i] >= 0)
			close(c->p_cu[i]);
		if (c->p_uc[i] >= 0)
			close(c->p_uc[i]);
		c->p_cu[i] = c->p_uc[i] = -1;
	}
}

static void
conn_free(struct px_conn *c)
{
	struct px_proxy *px = c->px;

	emit_event(c, c->dead_reason ? c->dead_reason : "closed");
	px_mitm_free(c->mitm);
	c->mitm = NULL;
	px_resolve_cancel(&c->rreq);
	px_timer_disarm(px->loop, &c->timer);
	close_upstream(c);
	if (c->wc.fd >= 0) {
		if (!c->park_c)
			px_loop_del(px->loop, &c->wc);
		close(c->wc.fd);
		c->wc.fd = -1;
	}
	close_pipes(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		px->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	px->n_conns--;
	free(c->in);
	free(c->up);
	free(c->msg);
	free(c->rbuf);
	c->in = c->up = c->msg = c->rbuf = NULL;
	/*
	 * epoll may still hold events for this connection in the batch being
	 * dispatched: the struct lives until the reaper timer, which the loop
	 * runs after the batch, and its handlers ignore it (gone).
	 */
	c->gone = 1;
	c->next = px->graveyard;
	px->graveyard = c;
	px_timer_arm(px->loop, &px->reaper, 0);
	px_proxy_resume_accept(px);
}

/*
 * The only teardown path. reason is a static string (or lives as long as
 * the connection). Safe to call more than once and from inside handlers.
 */
static void
px_conn_close(struct px_conn *c, const char *reason)
{
	if (c->dead_reason == NULL)
		c->dead_reason = reason;
	if (c->refs > 0) {
		c->dead = 1;
		return;
	}
	conn_free(c);
}

static void
conn_unref(struct px_conn *c)
{
	if (--c->refs == 0 && c->dead)
		conn_free(c);
}

static void on_client(struct px_loop *loop, struct px_watch *w, uint32_t events);
static void on_upstream(struct px_loop *loop, struct px_watch *w, uint32_t events);

/*
 * Set what we wait for on one side. epoll reports EPOLLHUP whatever we ask
 * for, so a hung-up socket we have nothing to do with is taken out of the
 * set (parked) instead of waking the loop forever.
 */
static void
set_watch(struct px_conn *c, int upstream, uint32_t ev)
{
	struct px_watch *w = upstream ? &c->wu : &c->wc;
	int hup = upstream ? c->hup_u : c->hup_c;
	int *park = upstream ? &c->park_u : &c->park_c;

	if (w->fd < 0)
		return;
	if (hup && ev == 0) {
		if (!*park && px_loop_del(c->px->loop, w) == 0)
			*park = 1;
		return;
	}
	if (*park) {
		if (px_loop_add(c->px->loop, w, w->fd, ev, upstream ? on_upstream : on_client) == 0)
			*park = 0;
		return;
	}
	px_loop_mod(c->px->loop, w, ev);
}

static void verbose(struct px_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
verbose(struct px_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->px->cfg.verbose)
		return;
	fputs("cordon: proxy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Queue the proxy's own bytes for the client. -1 on ENOMEM (closes). */
static int
queue_msg(struct px_conn *c, const void *data, size_t len)
{
	char *m;

	if (c->transparent) /* the client asked no proxy: nothing to answer */
		return 0;
	m = realloc(c->msg, c->msg_len + len);
	if (m == NULL) {
		px_conn_close(c, "out of memory");
		return -1;
	}
	memcpy(m + c->msg_len, data, len);
	c->msg = m;
	c->msg_len += len;
	return 0;
}

/* An HTTP error answer; the connection closes once it is sent. */
static void
http_answer(struct px_conn *c, int status, const char *body)
{
	char head[256];
	int n;

	if (c->transparent) {
		/* a captured connection: refused or failed, it is reset */
		struct linger l = { 1, 0 };

		setsockopt(c->wc.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		px_conn_close(c, status == 403 ? "denied" : "upstream failed");
		return;
	}
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\nX-Cordon: %s\r\n\r\n",
		     status, px_http_reason(status), strlen(body),
		     status == 403 ? "denied" : "error");
	if (queue_msg(c, head, (size_t)n) < 0 || queue_msg(c, body, strlen(body)) < 0)
		return;
	c->close_after_msg = 1;
	px_conn_set_state(c, PX_STATE_CLOSING);
}

static void
s5_answer(struct px_conn *c, uint8_t code)
{
	uint8_t r[10];

	px_s5_reply(code, r);
	if (queue_msg(c, r, sizeof(r)) < 0)
		return;
	if (code != PX_S5_OK) {
		c->close_after_msg = 1;
		px_conn_set_state(c, PX_STATE_CLOSING);
	}
}

/* Refuse the current request with an explanation (403 / SOCKS5 0x02). */
static void
deny(struct px_conn *c, const char *why)
{
	char body[1024];
	const char *cmd = c->px->cfg.allow_cmd ? c->px->cfg.allow_cmd : "cordon allow";
	const char *h = c->norm[0] ? c->norm : c->host;

	c->allowed = 0;
	c->decided = 1;
	if (c->addr_str[0] != '\0')
		snprintf(body, sizeof(body),
			 "cordon: access to %s:%u denied: %s resolves to %s, %s.\n"
			 "Rule: %s\n"
			 "cordon refuses loopback, private, link-local and metadata addresses "
			 "unless the policy allows that range by CIDR.\n",
			 h, c->port, h, c->addr_str, why, c->rule[0] ? c->rule : "(none)");
	else if (c->rule[0] != '\0')
		snprintf(body, sizeof(body),
			 "cordon: access to %s:%u denied by rule \"%s\" (%s).\n"
			 "A deny rule beats every allow rule; remove it from the policy to allow "
			 "this host.\n",
			 h, c->port, c->rule, why);
	else
		snprintf(body, sizeof(body),
			 "cordon: access to %s:%u denied: %s.\n"
			 "Rule: none (the network policy allows only listed domains)\n"
			 "To allow it: %s %s\n",
			 h, c->port, why, cmd, h);
	verbose(c, "denied %s %s:%u: %s", proto_name(c->proto), h, c->port, why);
	if (c->proto == PX_PROTO_SOCKS5)
		s5_answer(c, PX_S5_NOT_ALLOWED);
	else
		http_answer(c, 403, body);
}

static void
fail_upstream(struct px_conn *c, int status, uint8_t s5code, const char *why)
{
	char body[512];

	verbose(c, "%s %s:%u failed: %s", proto_name(c->proto), c->host, c->port, why);
	if (c->proto == PX_PROTO_SOCKS5) {
		s5_answer(c, s5code);
		return;
	}
	snprintf(body, sizeof(body), "cordon: %s:%u: %s\n", c->norm[0] ? c->norm : c->host, c->port,
		 why);
	http_answer(c, status, body);
}

/* ---- policy, resolution, connect ---- */

static void try_connect(struct px_conn *c);

static void
on_resolved(void *arg, int status, const struct px_addr *addrs, size_t n)
{
	struct px_conn *c = arg;
	struct px_match m;

	c->refs++;
	if (status != 0 || n == 0) {
		fail_upstream(c, 502, PX_S5_HOST_UNREACH,
			      status == ETIMEDOUT ? "name resolution timed out"
						  : "name does not resolve");
		goto out;
	}
	/* every address must pass: a name that also points inward is refused */
	for (size_t i = 0; i < n; i++) {
		if (px_rules_check_addr(&c->px->rules, &addrs[i], c->port, &m) !=
		    PX_VERDICT_ALLOW) {
			px_addr_str(&addrs[i], c->addr_str, sizeof(c->addr_str));
			if (m.rule != NULL)
				snprintf(c->rule, sizeof(c->rule), "%s", m.rule->text);
			deny(c, m.verdict == PX_VERDICT_DENY_RULE ? "an address denied by rule"
								  : m.why);
			goto out;
		}
		c->addrs[i] = addrs[i];
	}
	c->n_addrs = n;
	c->i_addr = 0;
	try_connect(c);
out:
	conn_pump(c);
	conn_unref(c);
}

static void
decide(struct px_conn *c)
{
	struct px_match m;
	size_t n;

	px_conn_set_state(c, PX_STATE_POLICY);
	c->rule[0] = c->addr_str[0] = '\0';
	c->allowed = 0;
	if (px_host_normalize(c->host, c->norm, sizeof(c->norm), &c->is_ip, &c->addrs[0]) < 0) {
		c->norm[0] = '\0';
		if (c->proto == PX_PROTO_SOCKS5)
			s5_answer(c, PX_S5_HOST_UNREACH);
		else
			http_answer(c, 400, "cordon: not a valid host name\n");
		return;
	}
	px_rules_match(&c->px->rules, c->host, c->port, &m);
	if (m.rule != NULL)
		snprintf(c->rule, sizeof(c->rule), "%s", m.rule->text);
	switch (m.verdict) {
	case PX_VERDICT_ALLOW:
		break;
	case PX_VERDICT_DENY_RULE:
		deny(c, "deny rule");
		return;
	case PX_VERDICT_DENY_ADDRESS:
		px_addr_str(&c->addrs[0], c->addr_str, sizeof(c->addr_str));
		deny(c, m.why);
		return;
	case PX_VERDICT_DENY_DEFAULT:
	default:
		deny(c, m.why ? m.why : "no allow rule matches this host");
		return;
	}
	c->allowed = 1;
	c->decided = 1;
	if (c->is_ip) {
		c->n_addrs = 1;
		c->i_addr = 0;
		try_connect(c);
		return;
	}
	n = px_resolver_lookup_override(c->px->res, c->norm, c->addrs, PX_RESOLVE_MAX);
	if (n > 0) {
		struct px_addr copy[PX_RESOLVE_MAX];

		memcpy(copy, c->addrs, n * sizeof(copy[0]));
		on_resolved(c, 0, copy, n);
		return;
	}
	if (px_resolve(c->px->res, c->norm, on_resolved, c, &c->rreq) < 0)
		px_conn_close(c, "out of memory");
}

static void
try_connect(struct px_conn *c)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} sa;
	socklen_t sl;
	const struct px_addr *a;
	int fd;

	px_conn_set_state(c, PX_STATE_CONNECTING);
	for (; c->i_addr < c->n_addrs; c->i_addr++) {
		a = &c->addrs[c->i_addr];
		memset(&sa, 0, sizeof(sa));
		if (px_addr_is_v4(a)) {
			sa.in4.sin_family = AF_INET;
			sa.in4.sin_port = htons(c->port);
			memcpy(&sa.in4.sin_addr, a->a + 12, 4);
			sl = sizeof(sa.in4);
		} else {
			sa.in6.sin6_family = AF_INET6;
			sa.in6.sin6_port = htons(c->port);
			memcpy(&sa.in6.sin6_addr, a->a, 16);
			sl = sizeof(sa.in6);
		}
		px_addr_str(a, c->addr_str, sizeof(c->addr_str));
		fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fail_upstream(c, 503, PX_S5_GENERAL, "cannot create a socket");
			return;
		}
		if (connect(fd, &sa.sa, sl) < 0 && errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		if (px_loop_add(c->px->loop, &c->wu, fd, EPOLLOUT, on_upstream) < 0) {
			close(fd);
			fail_upstream(c, 503, PX_S5_GENERAL, "cannot watch the upstream socket");
			return;
		}
		return;
	}
	fail_upstream(c, 502, PX_S5_REFUSED, "connection refused or unreachable");
}

static void
start_tunnel(struct px_conn *c)
{
	/* bytes that followed the request head go upstream first */
	if (c->in_len > 0) {
		free(c->up);
		c->up = c->in;
		c->up_len = c->in_len;
		c->up_off = 0;
		c->in = NULL;
		c->in_len = c->in_fwd = 0;
	}
	free(c->in);
	c->in = NULL;
	/* pipes are made when a direction first carries data (relay_dir) */
	c->cap_cu = c->cap_uc = 1 << 16;
	px_conn_set_state(c, PX_STATE_TUNNEL);
}

/* The TLS ClientHello's SNI must name the CONNECT host (port 443). */
static int
sni_ok(struct px_conn *c)
{
	char sni[PX_HOST_MAX], norm[PX_HOST_MAX];
	struct px_addr a;
	int is_ip;

	switch (px_tls_sni((const uint8_t *)c->in, c->in_len, sni, sizeof(sni))) {
	case PX_SNI_NEED_MORE:
		return 0;
	case PX_SNI_FOUND:
		if (c->is_ip || (px_host_normalize(sni, norm, sizeof(norm), &is_ip, &a) == 0 &&
				 strcmp(norm, c->norm) == 0))
			break;
		verbose(c, "denied %s %s:%u: TLS server name '%s' does not match",
			proto_name(c->proto), c->norm, c->port, sni);
		c->allowed = 0;
		snprintf(c->rule, sizeof(c->rule), "SNI %s", sni);
		px_conn_close(c, "denied: TLS server name does not match the CONNECT host");
		return -1;
	case PX_SNI_BAD:
		px_conn_close(c, "malformed TLS ClientHello");
		return -1;
	case PX_SNI_NONE:
	case PX_SNI_NOT_TLS:
	default:
		break;
	}
	c->sni_check = 0;
	start_tunnel(c);
	return 1;
}

static void http_forward_request(struct px_conn *c, const struct px_http_req *req);

/* A host the rules or an injection name: the proxy reads the tunnel. 1 when taken. */
static int
mitm_begin(struct px_conn *c)
{
	struct px_mitm_target t = { c->norm, c->port, c->is_ip, c->proto, c->addr_str };
	const char *why = NULL;

	if (!px_mitm_wanted(c->px, c->norm, c->port))
		return 0;
	c->mitm = px_mitm_new(c->px, c->wc.fd, c->wu.fd, &t, c->in, c->in_len, &why);
	if (c->mitm == NULL) {
		px_conn_close(c, why);
		return 1;
	}
	c->in_len = 0;
	px_conn_set_state(c, PX_STATE_TUNNEL);
	return 1;
}

static void
on_connected(struct px_conn *c)
{
	int one = 1;

	setsockopt(c->wu.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	verbose(c, "allowed %s %s:%u via %s", proto_name(c->proto), c->norm, c->port, c->addr_str);
	switch (c->proto) {
	case PX_PROTO_CONNECT: {
		static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

		if (queue_msg(c, ok, sizeof(ok) - 1) < 0)
			return;
		break;
	}
	case PX_PROTO_SOCKS5:
		s5_answer(c, PX_S5_OK);
		break;
	case PX_PROTO_HTTP: {
		struct px_http_req req;
		const char *why;

		/* the head is still at the start of c->in; parse it again */
		if (px_http_parse_request(c->in, c->in_len, &req, &why) != 1) {
			px_conn_close(c, "request changed");
			return;
		}
		c->up_reusable = 1;
		http_forward_request(c, &req);
		px_conn_set_state(c, PX_STATE_TUNNEL);
		return;
	}
	case PX_PROTO_UNKNOWN:
	case PX_PROTO_TRANSPARENT:
	case PX_PROTO_DNS:
	default:
		px_conn_close(c, "internal error");
		return;
	}
	if (mitm_begin(c))
		return;
	if (c->port == 443 && c->in_len == 0) {
		c->sni_check = 1;
		px_conn_set_state(c, PX_STATE_TUNNEL);
		return;
	}
	if (c->port == 443 && c->in_len > 0) {
		c->sni_check = 1;
		if (sni_ok(c) != 0)
			return;
		px_conn_set_state(c, PX_STATE_TUNNEL);
		return;
	}
	start_tunnel(c);
}

/* ---- request parsing ---- */

static int
ensure_buf(struct px_conn *c, char **b)
{
	if (*b == NULL) {
		*b = malloc(BUF_CAP);
		if (*b == NULL) {
			px_conn_close(c, "out of memory");
			return -1;
		}
	}
	return 0;
}

static void
consume_in(struct px_conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

static void
handle_socks5(struct px_conn *c)
{
	struct px_s5_req req;
	int r;

	if (!c->s5_greeted) {
		r = px_s5_parse_greeting((const uint8_t *)c->in, c->in_len);
		if (r == 0)
			return;
		if (r < 0) {
			static const uint8_t no[2] = { 5, 0xff };

			if (queue_msg(c, no, 2) == 0) {
				c->close_after_msg = 1;
				px_conn_set_state(c, PX_STATE_CLOSING);
			}
			return;
		}
		consume_in(c, (size_t)r);
		c->s5_greeted = 1;
		if (queue_msg(c, "\x05\x00", 2) < 0)
			return;
	}
	r = px_s5_parse_request((const uint8_t *)c->in, c->in_len, &req);
	if (r == 0)
		return;
	if (r < 0 || req.reply != PX_S5_OK) {
		s5_answer(c, r < 0 ? PX_S5_GENERAL : req.reply);
		return;
	}
	consume_in(c, req.len);
	snprintf(c->host, sizeof(c->host), "%s", req.host);
	c->port = req.port;
	decide(c);
}

/* Same upstream as the connection already has open? */
static int
same_target(struct px_conn *c, const struct px_http_req *req)
{
	char norm[PX_HOST_MAX];
	struct px_addr a;
	int is_ip;

	if (c->wu.fd < 0 || !c->up_reusable || c->state != PX_STATE_TUNNEL)
		return 0;
	if (px_host_normalize(req->host, norm, sizeof(norm), &is_ip, &a) < 0)
		return 0;
	return strcmp(norm, c->norm) == 0 && req->port == c->port;
}

static void
http_forward_request(struct px_conn *c, const struct px_http_req *req)
{
	ssize_t n;

	if (ensure_buf(c, &c->up) < 0 || ensure_buf(c, &c->rbuf) < 0)
		return;
	n = px_http_rewrite_request(c->in, req, c->up, BUF_CAP);
	if (n < 0) {
		http_answer(c, 431, "cordon: request head too large\n");
		return;
	}
	c->up_len = (size_t)n;
	c->up_off = 0;
	consume_in(c, req->hdr_len);
	c->head_req = strcmp(req->method, "HEAD") == 0;
	c->req_close = req->close;
	if (req->chunked)
		px_body_init(&c->req_body, PX_BODY_CHUNKED, 0);
	else if (req->content_length > 0)
		px_body_init(&c->req_body, PX_BODY_LENGTH, (uint64_t)req->content_length);
	else
		px_body_init(&c->req_body, PX_BODY_NONE, 0);
	c->rq = c->req_body.done ? RQ_WAIT : RQ_BODY;
	c->rs = RS_HEAD;
	c->in_fwd = 0;
}

static void
handle_http_head(struct px_conn *c)
{
	struct px_http_req req;
	const char *why;
	char body[4096];
	int r;

	r = px_http_parse_request(c->in, c->in_len, &req, &why);
	if (r == 0)
		return;
	if (r < 0) {
		snprintf(body, sizeof(body), "cordon: bad proxy request: %s\n", why);
		verbose(c, "bad request: %s", why);
		http_answer(c, req.status, body);
		return;
	}
	if (req.is_connect) {
		if (c->proto == PX_PROTO_HTTP) {
			/* CONNECT after plain requests on the same connection */
			emit_event(c, "next request");
			close_upstream(c);
		}
		c->proto = PX_PROTO_CONNECT;
		snprintf(c->host, sizeof(c->host), "%s", req.host);
		c->port = req.port;
		consume_in(c, req.hdr_len);
		decide(c);
		return;
	}
	if (px_http_guard(c->px, &req, c->in, body, sizeof(body))) {
		http_answer(c, 403, body);
		return;
	}
	if (same_target(c, &req)) {
		http_forward_request(c, &req);
		return;
	}
	if (c->proto == PX_PROTO_HTTP && c->decided) {
		emit_event(c, "next request");
		close_upstream(c);
		c->bytes_up = c->bytes_dn = 0;
		c->start_ms = px_now_ms();
	}
	c->proto = PX_PROTO_HTTP;
	snprintf(c->host, sizeof(c->host), "%s", req.host);
	c->port = req.port;
	c->up_reusable = 0;
	decide(c);
}

static void
conn_start_target(struct px_conn *c)
{
	if (c->in_len == 0)
		return;
	if (c->proto == PX_PROTO_UNKNOWN)
		c->proto = c->in[0] == 0x05 ? PX_PROTO_SOCKS5 : PX_PROTO_CONNECT;
	if (c->state == PX_STATE_ACCEPTED)
		px_conn_set_state(c, PX_STATE_REQUEST);
	if (c->proto == PX_PROTO_SOCKS5)
		handle_socks5(c);
	else
		handle_http_head(c);
}

/* ---- I/O ---- */

/* Write from buf; returns bytes written, 0 on EAGAIN, -1 on error. */
static ssize_t
write_some(int fd, const char *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	return n;
}

static int
flush_msg(struct px_conn *c)
{
	while (c->msg_off < c->msg_len) {
		ssize_t n = write_some(c->wc.fd, c->msg + c->msg_off, c->msg_len - c->msg_off);

		if (n < 0) {
			px_conn_close(c, "client went away");
			return -1;
		}
		if (n == 0)
			return 0;
		c->msg_off += (size_t)n;
	}
	free(c->msg);
	c->msg = NULL;
	c->msg_len = c->msg_off = 0;
	if (c->close_after_msg) {
		/*
		 * Lingering close: closing with unread request bytes would send
		 * a reset that can destroy the answer before the client reads
		 * it. Shut our side and read to EOF (CLOSING has a timeout).
		 */
		if (!c->draining)
			shutdown(c->wc.fd, SHUT_WR);
		c->draining = 1;
		return 0;
	}
	return 1;
}

/* Discard what the client still sends after the final answer; close at EOF. */
static void
drain_client(struct px_conn *c)
{
	char buf[4096];

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->wc.fd, buf, sizeof(buf), 0);

		if (n > 0) {
			c->drained += (size_t)n;
			if (c->drained > (1u << 20))
				break;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		break;
	}
	if (c->drained <= (1u << 20) && c->wc.fd >= 0) {
		/* 16 reads and still data: come back on the next event */
		char b;
		ssize_t n = recv(c->wc.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return;
	}
	px_conn_close(c, c->allowed ? "error answered" : "denied");
}

static int
flush_up(struct px_conn *c)
{
	while (c->up_off < c->up_len) {
		ssize_t n = write_some(c->wu.fd, c->up + c->up_off, c->up_len - c->up_off);

		if (n < 0) {
			px_conn_close(c, "upstream write failed");
			return -1;
		}
		if (n == 0)
			return 0;
		c->up_off += (size_t)n;
		c->bytes_up += (uint64_t)n;
	}
	c->up_len = c->up_off = 0;
	return 1;
}

/* Read from the client into c->in. 1 data, 0 nothing, -1 closed (c may be dead). */
static int
read_client(struct px_conn *c)
{
	ssize_t n;

	if (ensure_buf(c, &c->in) < 0)
		return -1;
	if (c->in_len == BUF_CAP)
		return 0;
	n = recv(c->wc.fd, c->in + c->in_len, BUF_CAP - c->in_len, 0);
	if (n > 0) {
		c->in_len += (size_t)n;
		c->last_ms = px_now_ms();
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	c->client_eof = 1;
	return -1;
}

/*
 * Move bytes src -> pipe -> dst with splice(2), never through user space.
 * The pipe starts at the kernel default (64 kB, lazily allocated, so idle
 * tunnels cost nothing) and grows to 1 MB once a direction has carried a
 * few MB: fewer wake-ups for bulk transfers.
 */
static int
relay_dir(struct px_conn *c, int src, int dst, int p[2], size_t *pend, size_t *cap, int *full,
	  int *eof, int *shut, uint64_t *bytes)
{
	int progress = 0, moved = 1;

	if (*cap == 0)
		*cap = 1 << 16;
	if (p[0] < 0) {
		/* an idle tunnel costs two fds, not six: no pipe before data */
		char b;
		ssize_t n;

		if (*eof)
			goto out;
		n = recv(src, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n < 0)
			return -1;
		if (n == 0) {
			*eof = 1;
			goto out;
		}
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
			return -1;
	}
	if (*bytes > (4u << 20) && *cap < PIPE_BIG) {
		int r = fcntl(p[1], F_SETPIPE_SZ, PIPE_BIG);

		*cap = r > 0 ? (size_t)r : PIPE_BIG / 2;
	}
	while (moved) {
		ssize_t n;

		moved = 0;
		if (!*eof && *pend < *cap && !*full) {
			n = splice(src, NULL, p[1], NULL, *cap - *pend,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				*pend += (size_t)n;
				moved = 1;
			} else if (n == 0) {
				*eof = 1;
			} else if (errno == EAGAIN || errno == EINTR) {
				/*
				 * src is empty or the pipe's slots are full (small
				 * segments fill them before the byte capacity): stop
				 * reading until dst takes some, so level-triggered
				 * epoll does not spin.
				 */
				if (*pend > 0)
					*full = 1;
			} else {
				return -1;
			}
		}
		if (*pend > 0) {
			n = splice(p[0], NULL, dst, NULL, *pend, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				*pend -= (size_t)n;
				*bytes += (uint64_t)n;
				*full = 0;
				moved = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		progress |= moved;
	}
out:
	if (*eof && *pend == 0 && !*shut) {
		shutdown(dst, SHUT_WR);
		*shut = 1;
	}
	if (progress)
		c->last_ms = px_now_ms();
	return 0;
}

static void
pump_tunnel(struct px_conn *c)
{
	uint32_t ec = 0, eu = 0;

	if (c->msg_len > 0) {
		if (flush_msg(c) <= 0)
			goto interest;
	}
	if (c->sni_check) {
		int r = read_client(c);

		if (r < 0) {
			px_conn_close(c, "client closed before TLS");
			return;
		}
		if (r > 0 && sni_ok(c) != 0 && c->dead)
			return;
		if (c->sni_check) {
			if (c->in_len >= BUF_CAP) {
				px_conn_close(c, "TLS ClientHello too large");
				return;
			}
			ec = EPOLLIN;
			goto set;
		}
	}
	if (c->up_len > 0 && flush_up(c) < 0)
		return;
	if (c->up_len == 0 && relay_dir(c, c->wc.fd, c->wu.fd, c->p_cu, &c->pend_cu, &c->cap_cu,
					&c->full_cu, &c->eof_c, &c->shut_u, &c->bytes_up) < 0) {
		px_conn_close(c, "tunnel error");
		return;
	}
	if (relay_dir(c, c->wu.fd, c->wc.fd, c->p_uc, &c->pend_uc, &c->cap_uc, &c->full_uc,
		      &c->eof_u, &c->shut_c, &c->bytes_dn) < 0) {
		px_conn_close(c, "tunnel error");
		return;
	}
	if (c->shut_c && c->shut_u) {
		px_conn_close(c, "closed");
		return;
	}
interest:
	if (c->dead)
		return;
	if (c->msg_len > 0 || c->pend_uc > 0)
		ec |= EPOLLOUT;
	if (!c->eof_c && c->pend_cu < c->cap_cu && !c->full_cu && c->up_len == 0)
		ec |= EPOLLIN;
	if (c->up_len > 0 || c->pend_cu > 0)
		eu |= EPOLLOUT;
	if (!c->eof_u && c->pend_uc < c->cap_uc && !c->full_uc && c->msg_len == 0)
		eu |= EPOLLIN;
set:
	set_watch(c, 0, ec);
	set_watch(c, 1, eu);
}

/* Plain HTTP: classify upstream bytes into response heads and bodies. */
static int
frame_response(struct px_conn *c)
{
	while (c->r_fwd < c->r_len) {
		if (c->rs == RS_HEAD) {
			struct px_http_resp resp;
			const char *why;
			int r = px_http_parse_response(c->rbuf + c->r_fwd, c->r_len - c->r_fwd,
						       c->head_req, &resp, &why);

			if (r == 0)
				return 0;
			if (r < 0) {
				verbose(c, "bad response from %s: %s", c->norm, why);
				px_conn_close(c, "bad response from upstream");
				return -1;
			}
			c->r_fwd += resp.hdr_len;
			c->resp_close = resp.close;
			if (resp.status == 101) {
				c->upgraded = 1;
				px_body_init(&c->resp_body, PX_BODY_EOF, 0);
			} else if (resp.chunked)
				px_body_init(&c->resp_body, PX_BODY_CHUNKED, 0);
			else if (resp.content_length >= 0)
				px_body_init(&c->resp_body, PX_BODY_LENGTH,
					     (uint64_t)resp.content_length);
			else {
				px_body_init(&c->resp_body, PX_BODY_EOF, 0);
				c->resp_close = 1;
			}
			c->rs = resp.status / 100 == 1 && resp.status != 101 ? RS_HEAD : RS_BODY;
			if (c->rs == RS_HEAD)
				continue;
			if (c->upgraded)
				px_body_init(&c->req_body, PX_BODY_EOF, 0), c->rq = RQ_BODY;
		}
		if (c->rs == RS_BODY) {
			ssize_t n =
			    px_body_feed(&c->resp_body, c->rbuf + c->r_fwd, c->r_len - c->r_fwd);

			if (n < 0) {
				px_conn_close(c, "bad chunked response");
				return -1;
			}
			c->r_fwd += (size_t)n;
			if (c->resp_body.done)
				c->rs = RS_DONE;
		}
		if (c->rs == RS_DONE) {
			/* bytes after a complete response: the upstream is confused */
			if (c->r_fwd < c->r_len) {
				c->r_len = c->r_fwd;
				c->resp_close = 1;
			}
			break;
		}
	}
	if (c->rs == RS_BODY && c->resp_body.done)
		c->rs = RS_DONE;
	return 0;
}

static void
pump_http(struct px_conn *c)
{
	uint32_t ec = 0, eu = 0;
	int progress = 1;

	while (progress && !c->dead) {
		progress = 0;
		if (c->msg_len > 0) {
			if (flush_msg(c) <= 0)
				break;
		}
		if (c->state != PX_STATE_TUNNEL)
			return;
		/* client -> upstream */
		if (c->up_len > 0 && flush_up(c) < 0)
			return;
		if (c->up_len == 0 && c->in_fwd > 0) {
			ssize_t n = write_some(c->wu.fd, c->in, c->in_fwd);

			if (n < 0) {
				px_conn_close(c, "upstream write failed");
				return;
			}
			if (n > 0) {
				consume_in(c, (size_t)n);
				c->in_fwd -= (size_t)n;
				c->bytes_up += (uint64_t)n;
				progress = 1;
			}
		}
		/* while a response is pending, the next request is only buffered */
		if ((c->rq == RQ_BODY || c->rq == RQ_WAIT) && !c->client_eof &&
		    c->in_len < BUF_CAP) {
			int r = read_client(c);

			if (r < 0 && c->dead)
				return;
			if (r > 0)
				progress = 1;
		}
		if (c->rq == RQ_BODY && c->in_fwd < c->in_len) {
			ssize_t n =
			    px_body_feed(&c->req_body, c->in + c->in_fwd, c->in_len - c->in_fwd);

			if (n < 0) {
				http_answer(c, 400, "cordon: bad chunked request body\n");
				continue;
			}
			c->in_fwd += (size_t)n;
			if (c->req_body.done)
				c->rq = RQ_WAIT;
		}
		if (c->rq == RQ_BODY && c->client_eof) {
			if (c->upgraded && c->in_fwd == 0 && !c->shut_u) {
				shutdown(c->wu.fd, SHUT_WR);
				c->shut_u = 1;
			} else if (!c->upgraded) {
				px_conn_close(c, "client closed mid-request");
				return;
			}
		}
		/* upstream -> client */
		if (c->r_fwd > 0) {
			ssize_t n = write_some(c->wc.fd, c->rbuf, c->r_fwd);

			if (n < 0) {
				px_conn_close(c, "client went away");
				return;
			}
			if (n > 0) {
				memmove(c->rbuf, c->rbuf + n, c->r_len - (size_t)n);
				c->r_len -= (size_t)n;
				c->r_fwd -= (size_t)n;
				c->bytes_dn += (uint64_t)n;
				c->last_ms = px_now_ms();
				progress = 1;
			}
		}
		if (c->rs != RS_DONE && c->r_len < BUF_CAP && c->wu.fd >= 0) {
			ssize_t n = recv(c->wu.fd, c->rbuf + c->r_len, BUF_CAP - c->r_len, 0);

			if (n > 0) {
				c->r_len += (size_t)n;
				progress = 1;
				if (frame_response(c) < 0)
					return;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				if (c->rs == RS_BODY && c->resp_body.mode == PX_BODY_EOF) {
					c->rs = RS_DONE;
					c->resp_close = 1;
				} else if (c->rs == RS_HEAD && c->r_len == 0 && c->rq == RQ_HEAD) {
					/* idle keep-alive upstream went away */
					c->up_reusable = 0;
					close_upstream(c);
				} else {
					px_conn_close(c, "upstream closed mid-response");
					return;
				}
			}
		}
		if (c->rs == RS_DONE && c->r_len == 0) {
			if (c->resp_close || c->req_close || c->rq == RQ_BODY || c->upgraded ||
			    (c->client_eof && c->in_len == 0)) {
				shutdown(c->wc.fd, SHUT_WR);
				px_conn_close(c, "closed");
				return;
			}
			/* ready for the next request on this connection */
			c->rq = RQ_HEAD;
			c->rs = RS_HEAD;
			c->last_ms = px_now_ms();
			if (c->in_len > 0) {
				handle_http_head(c);
				progress = 1;
				if (c->state != PX_STATE_TUNNEL)
					return;
			}
		}
		if (c->rq == RQ_HEAD && c->rs == RS_HEAD && !c->client_eof && c->in_len < BUF_CAP) {
			int r = read_client(c);

			if (r < 0) {
				if (!c->dead)
					px_conn_close(c, "closed");
				return;
			}
			if (r > 0) {
				handle_http_head(c);
				if (c->state != PX_STATE_TUNNEL)
					return;
				progress = 1;
			}
		}
	}
	if (c->dead)
		return;
	if (c->msg_len > 0 || c->r_fwd > 0)
		ec |= EPOLLOUT;
	if ((c->rq != RQ_HEAD || c->rs == RS_HEAD) && !c->client_eof && c->in_len < BUF_CAP)
		ec |= EPOLLIN;
	if (c->up_len > 0 || c->in_fwd > 0)
		eu |= EPOLLOUT;
	if (c->rs != RS_DONE && c->r_len < BUF_CAP)
		eu |= EPOLLIN;
	set_watch(c, 0, ec);
	set_watch(c, 1, eu);
}

/* A tunnel the proxy reads: tls_mitm.c moves the bytes, this keeps the lifecycle. */
static void
pump_mitm(struct px_conn *c)
{
	struct px_mitm_io io;

	if (c->msg_len > 0 && flush_msg(c) <= 0) {
		if (!c->dead) {
			set_watch(c, 0, EPOLLOUT);
			set_watch(c, 1, 0);
		}
		return;
	}
	switch (px_mitm_pump(c->mitm, &io, &c->bytes_up, &c->bytes_dn)) {
	case PX_MITM_CLOSE:
		px_conn_close(c, io.reason);
		return;
	case PX_MITM_LINGER:
		/* the answer is out: read the client to its end (CLOSING has a timeout) */
		if (c->dead_reason == NULL)
			c->dead_reason = io.reason;
		c->close_after_msg = 1;
		px_conn_set_state(c, PX_STATE_CLOSING);
		return;
	case PX_MITM_OK:
	default:
		break;
	}
	if (io.progress)
		c->last_ms = px_now_ms();
	set_watch(c, 0, io.ev_client);
	set_watch(c, 1, io.ev_upstream);
}

static void
conn_pump_once(struct px_conn *c)
{
	if (c->dead)
		return;
	switch (c->state) {
	case PX_STATE_ACCEPTED:
	case PX_STATE_REQUEST: {
		int r = read_client(c);

		if (r < 0) {
			px_conn_close(c, c->in_len ? "client closed mid-request" : "closed");
			return;
		}
		if (r > 0)
			conn_start_target(c);
		if (c->dead)
			return;
		if (c->state == PX_STATE_REQUEST && c->in_len == BUF_CAP &&
		    c->proto != PX_PROTO_SOCKS5) {
			http_answer(c, 431, "cordon: request head too large\n");
		}
		if (c->state == PX_STATE_REQUEST || c->state == PX_STATE_ACCEPTED) {
			if (c->msg_len > 0 && flush_msg(c) < 0)
				return;
			set_watch(c, 0, c->msg_len > 0 ? EPOLLOUT : EPOLLIN);
			return;
		}
		return;
	}
	case PX_STATE_POLICY:
	case PX_STATE_CONNECTING:
		/* wait for the resolver / connect; do not read more from the client */
		set_watch(c, 0, 0);
		return;
	case PX_STATE_TUNNEL:
		if (c->mitm != NULL)
			pump_mitm(c);
		else if (c->proto == PX_PROTO_HTTP)
			pump_http(c);
		else
			pump_tunnel(c);
		return;
	case PX_STATE_CLOSING:
		if (!c->draining && flush_msg(c) < 0)
			return;
		set_watch(c, 1, 0);
		if (!c->draining) {
			set_watch(c, 0, EPOLLOUT);
			return;
		}
		drain_client(c);
		if (!c->dead)
			set_watch(c, 0, EPOLLIN);
		return;
	default:
		px_conn_close(c, "internal error");
		return;
	}
}

/* Run the handler of the current state until the state stops changing. */
static void
conn_pump(struct px_conn *c)
{
	for (int i = 0; i < 8 && !c->dead; i++) {
		enum px_state before = c->state;

		conn_pump_once(c);
		if (c->state == before)
			break;
	}
}

static void
on_client(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct px_conn *c = px_container_of(w, struct px_conn, wc);

	(void)loop;
	if (c->gone)
		return;
	c->refs++;
	if (events & EPOLLERR)
		px_conn_close(c, "client connection reset");
	if (events & EPOLLHUP)
		c->hup_c = 1;
	conn_pump(c);
	conn_unref(c);
}

static void
on_upstream(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct px_conn *c = px_container_of(w, struct px_conn, wu);

	(void)loop;
	if (c->gone)
		return;
	c->refs++;
	if (c->state == PX_STATE_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);

		if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err == 0 && !(events & (EPOLLERR | EPOLLHUP)) &&
		    getpeername(w->fd, (struct sockaddr *)&peer, &pl) < 0 && errno == ENOTCONN) {
			/* a stale event for the previous socket: still connecting */
		} else if (err == 0 && !(events & (EPOLLERR | EPOLLHUP))) {
			on_connected(c);
		} else {
			close_upstream(c);
			c->i_addr++;
			try_connect(c);
		}
	} else if (events & EPOLLERR) {
		px_conn_close(c, "upstream connection reset");
	} else if (events & EPOLLHUP) {
		c->hup_u = 1;
	}
	conn_pump(c);
	conn_unref(c);
}

static void
on_timer(struct px_loop *loop, struct px_timer *t)
{
	struct px_conn *c = px_container_of(t, struct px_conn, timer);
	uint64_t now = px_now_ms();

	if (c->state == PX_STATE_TUNNEL && now - c->last_ms < PX_TIMEOUT_IDLE_MS) {
		px_timer_arm(loop, t, PX_TIMEOUT_IDLE_MS - (now - c->last_ms));
		return;
	}
	c->refs++;
	switch (c->state) {
	case PX_STATE_ACCEPTED:
	case PX_STATE_REQUEST:
		if (c->in_len > 0 && c->proto != PX_PROTO_SOCKS5)
			http_answer(c, 408, "cordon: request head not received in time\n");
		else
			px_conn_close(c, "request timeout");
		break;
	case PX_STATE_POLICY:
	case PX_STATE_CONNECTING:
		px_resolve_cancel(&c->rreq);
		close_upstream(c);
		fail_upstream(c, 504, PX_S5_TTL, "connect timed out");
		break;
	case PX_STATE_TUNNEL:
		px_conn_close(c, "idle timeout");
		break;
	case PX_STATE_CLOSING:
	default:
		px_conn_close(c, "close timeout");
		break;
	}
	conn_pump(c);
	conn_unref(c);
}

static struct px_conn *
conn_new(struct px_proxy *px, int fd)
{
	struct px_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->px = px;
	c->wu.fd = -1;
	c->p_cu[0] = c->p_cu[1] = c->p_uc[0] = c->p_uc[1] = -1;
	c->proto = PX_PROTO_UNKNOWN;
	c->start_ms = px_now_ms();
	px_timer_init(&c->timer, on_timer);
	if (px_loop_add(px->loop, &c->wc, fd, EPOLLIN, on_client) < 0) {
		close(fd);
		free(c);
		return NULL;
	}
	c->next = px->conns;
	if (px->conns != NULL)
		px->conns->prev = c;
	px->conns = c;
	px->n_conns++;
	px_conn_set_state(c, PX_STATE_ACCEPTED);
	return c;
}

void
px_conn_accept(struct px_proxy *px, int fd)
{
	conn_new(px, fd);
}

void
px_conn_accept_target(struct px_proxy *px, int fd, const char *host, uint16_t port)
{
	struct px_conn *c = conn_new(px, fd);

	if (c == NULL)
		return;
	c->transparent = 1;
	c->proto = PX_PROTO_CONNECT;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
	c->refs++;
	decide(c);
	conn_pump(c);
	conn_unref(c);
}

void
px_conn_reap(struct px_proxy *px)
{
	while (px->graveyard != NULL) {
		struct px_conn *c = px->graveyard;

		px->graveyard = c->next;
		free(c);
	}
}

void
px_conn_close_all(struct px_proxy *px)
{
	while (px->conns != NULL) {
		struct px_conn *c = px->conns;

		c->refs = 0;
		px_conn_close(c, "proxy shutting down");
	}
	px_conn_reap(px);
}
