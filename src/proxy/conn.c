/* SPDX-License-Identifier: MIT */
/*
 * One client connection of the egress proxy, as an explicit state machine:
 *
 *   ACCEPTED -> REQUEST -> POLICY -> CONNECTING -> TUNNEL -> CLOSING
 *
 * The first byte tells SOCKS5 (0x05) from HTTP. CONNECT and SOCKS5 become
 * spliced tunnels (tunnel.c: the client's first flight is checked when it is
 * a TLS ClientHello, on every port, and a tunnel to a host that
 * network.rules or credentials.inject name is then read by tls_mitm.c);
 * absolute-form HTTP is relayed through buffers with both bodies framed
 * (http_relay.c), so that every request on a keep-alive connection is
 * checked against the policy, network.rules included.
 *
 * Handlers run with a reference held; px_conn_close() is the only teardown
 * path and, when a handler is running, only marks the connection: the last
 * reference frees it (Redis callHandler, relayd relay_close).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/conn.h"
#include "proxy/http_rules.h"
#include "proxy/socks5.h"
#include "proxy/tls_mitm.h"

#define BUF_CAP  PX_HDR_MAX
#define BUF_INIT 2048 /* a request head usually fits; grows to BUF_CAP */

const char *
px_conn_why(struct px_conn *c, const char *fmt, ...)
{
	char buf[800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* a close reason already handed out stays valid: keep the first */
	if (c->why != NULL && c->dead_reason == c->why)
		return c->why;
	free(c->why);
	c->why = strdup(buf);
	return c->why != NULL ? c->why : "refused";
}

void
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

void
px_conn_emit_event(struct px_conn *c, const char *reason)
{
	struct px_proxy *px = c->px;
	struct px_event ev;

	if (px->cfg.on_decision == NULL || (!c->decided && c->host[0] == '\0') || c->recorded)
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
	ev.cut = c->cut;
	ev.unlisted = c->unlisted;
	ev.intercepted = px_mitm_intercepted(c->mitm);
	px->cfg.on_decision(px->cfg.on_decision_arg, &ev);
}

void
px_req_begin(struct px_req_rec *r, const char *method, const char *target, size_t tlen,
	     const char *rule, uint64_t up, uint64_t dn)
{
	char path[PX_HTTP_PATH_MAX];
	const char *why;
	size_t n = 0;

	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->rule, sizeof(r->rule), "%s", rule ? rule : "");
	if (px_http_path_normalize(target, tlen, path, sizeof(path), &why) == 0) {
		target = path;
		tlen = strlen(path);
	}
	/* without the query; as sent when unreadable ("*" of OPTIONS); cut */
	while (n < tlen && n < sizeof(r->path) - 1 && target[n] != '?')
		n++;
	memcpy(r->path, target, n);
	r->path[n] = '\0';
	r->up0 = up;
	r->dn0 = dn;
	r->open = 1;
}

/* One record of its own (a request, a refusal): the fields every such record has. */
static void
event_emit(struct px_proxy *px, struct px_event *ev, const char *host, uint16_t port,
	   const char *addr, enum px_proto proto, const char *rule, int intercepted)
{
	ev->host = host;
	ev->port = port;
	ev->addr = addr ? addr : "";
	ev->proto = proto;
	ev->rule = rule ? rule : "";
	ev->intercepted = intercepted;
	px->cfg.on_decision(px->cfg.on_decision_arg, ev);
}

void
px_event_deny(struct px_proxy *px, const char *host, uint16_t port, const char *addr,
	      enum px_proto proto, const char *rule, const char *reason, const char *method,
	      const char *path, int intercepted)
{
	struct px_event ev = {
		.reason = reason,
		.method = method,
		.path = path,
		.status = method != NULL ? 403 : 0, /* a refused request is answered 403 */
	};

	if (px->cfg.on_decision != NULL)
		event_emit(px, &ev, host, port, addr, proto, rule, intercepted);
}

void
px_req_end(struct px_proxy *px, struct px_req_rec *r, const char *host, uint16_t port,
	   const char *addr, enum px_proto proto, int intercepted, int status, uint64_t up,
	   uint64_t dn)
{
	struct px_event ev = {
		.allowed = 1,
		.bytes_up = up - r->up0,
		.bytes_down = dn - r->dn0,
		.reason = "",
		.method = r->method,
		.path = r->path,
		.status = status,
	};

	if (!r->open)
		return;
	r->open = 0;
	if (px->cfg.on_decision != NULL)
		event_emit(px, &ev, host, port, addr, proto, r->rule, intercepted);
}

void
px_conn_close_upstream(struct px_conn *c)
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
	px_budget_pipe(c->px, -(ssize_t)(c->pend_cu + c->pend_uc));
	c->pend_cu = c->pend_uc = 0;
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

	px_req_end(px, &c->rec, c->norm[0] ? c->norm : c->host, c->port, c->addr_str,
		   c->transparent ? PX_PROTO_TRANSPARENT : c->proto, 0, c->xf.status, c->bytes_up,
		   c->bytes_dn);
	px_mitm_end(c->mitm, c->bytes_up, c->bytes_dn);
	px_conn_emit_event(c, c->dead_reason ? c->dead_reason : "closed");
	px_mitm_free(c->mitm);
	c->mitm = NULL;
	px_budget_release(c);
	px_resolve_cancel(&c->rreq);
	px_timer_disarm(px->loop, &c->timer);
	px_conn_close_upstream(c);
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
	px_budget_free(c, &c->in, &c->in_cap);
	px_budget_free(c, &c->up, &c->up_cap);
	px_budget_free(c, &c->rbuf, &c->r_cap);
	free(c->msg);
	c->msg = NULL;
	free(c->why);
	c->why = NULL;
	px->buf_sock -= c->sock_mem < px->buf_sock ? c->sock_mem : px->buf_sock;
	c->sock_mem = 0;
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

void
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

void
px_conn_set_watch(struct px_conn *c, int upstream, uint32_t ev)
{
	struct px_watch *w = upstream ? &c->wu : &c->wc;
	int hup = upstream ? c->hup_u : c->hup_c;
	int *park = upstream ? &c->park_u : &c->park_c;

	if (w->fd < 0)
		return;
	/*
	 * epoll reports EPOLLHUP whatever we ask for, so a hung-up socket we
	 * have nothing to do with is taken out of the set (parked) instead of
	 * waking the loop forever.
	 */
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

void
px_conn_verbose(struct px_conn *c, const char *fmt, ...)
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

void
px_conn_http_answer(struct px_conn *c, int status, const char *body)
{
	char out[PX_ANSWER_MAX];
	ssize_t n = px_http_answer(out, sizeof(out), status,
				   status == 503 && c->over_limit ? "limit" : NULL, body);

	if (c->transparent) {
		/* a captured connection: refused or failed, it is reset */
		struct linger l = { 1, 0 };

		setsockopt(c->wc.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		px_conn_close(c, status == 403 ? "denied" : "upstream failed");
		return;
	}
	if (n < 0 || queue_msg(c, out, (size_t)n) < 0)
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

/* "host:port" as a rule would name it (IPv6 in brackets; no port for 80/443). */
static void
rule_for(const struct px_conn *c, char *out, size_t len, int with_port)
{
	const char *h = c->norm[0] ? c->norm : c->host;
	int v6 = c->is_ip && strchr(h, ':') != NULL;

	if (with_port)
		snprintf(out, len, "%s%s%s:%u", v6 ? "[" : "", h, v6 ? "]" : "", c->port);
	else
		snprintf(out, len, "%s%s%s", v6 ? "[" : "", h, v6 ? "]" : "");
}

/*
 * Refuse the current request with an explanation (403 / SOCKS5 0x02).
 * port_rule: an allow rule that matches the host on other ports only.
 */
static void
deny(struct px_conn *c, const char *why, const struct px_rule *port_rule)
{
	char body[2048], want[PX_HOST_MAX + 16], how[1024];
	const char *cmd = c->px->cfg.allow_cmd;
	const char *h = c->norm[0] ? c->norm : c->host;
	int web = c->port == PX_PORT_HTTP || c->port == PX_PORT_HTTPS;

	c->allowed = 0;
	c->decided = 1;
	rule_for(c, want, sizeof(want), port_rule != NULL || !web);
	if (cmd != NULL)
		snprintf(how, sizeof(how), "To allow it: %s %s\n", cmd, want);
	else
		snprintf(how, sizeof(how),
			 "To allow it: cordon allow %s (this session), or --allow-domain %s\n",
			 want, want);
	if (c->addr_str[0] != '\0') {
		snprintf(body, sizeof(body),
			 "cordon: access to %s:%u denied: %s resolves to %s, %s.\n"
			 "Rule: %s\n"
			 "cordon refuses loopback, private, link-local and metadata addresses "
			 "unless the policy allows that range by CIDR.\n",
			 h, c->port, h, c->addr_str, why, c->rule[0] ? c->rule : "(none)");
		px_conn_why(c, "denied: %s (%s)", why, c->addr_str);
	} else if (c->rule[0] != '\0') {
		snprintf(body, sizeof(body),
			 "cordon: access to %s:%u denied by rule \"%s\" (%s).\n"
			 "A deny rule beats every allow rule; remove it from the policy to allow "
			 "this host.\n",
			 h, c->port, c->rule, why);
		px_conn_why(c, "denied: %s", why);
	} else if (port_rule != NULL) {
		snprintf(body, sizeof(body),
			 "cordon: access to %s:%u denied: port %u is not allowed for %s.\n"
			 "Rule: %s allows %s only.\n%s",
			 h, c->port, c->port, h, port_rule->text,
			 port_rule->port ? "its own port" : "ports 80 and 443", how);
		px_conn_why(
		    c, "denied: port %u is not allowed (rule %s; allow it with --allow-domain %s)",
		    c->port, port_rule->text, want);
		why = "port not allowed";
	} else {
		snprintf(body, sizeof(body),
			 "cordon: access to %s:%u denied: %s.\n"
			 "Rule: none (the network policy allows only listed domains)\n%s",
			 h, c->port, why, how);
		px_conn_why(c, "denied: %s", why);
	}
	px_conn_verbose(c, "denied %s %s:%u: %s", proto_name(c->proto), h, c->port, why);
	if (c->proto == PX_PROTO_SOCKS5)
		s5_answer(c, PX_S5_NOT_ALLOWED);
	else
		px_conn_http_answer(c, 403, body);
}

static void
fail_upstream(struct px_conn *c, int status, uint8_t s5code, const char *why)
{
	char body[512];

	px_conn_verbose(c, "%s %s:%u failed: %s", proto_name(c->proto), c->host, c->port, why);
	if (c->proto == PX_PROTO_SOCKS5) {
		s5_answer(c, s5code);
		return;
	}
	snprintf(body, sizeof(body), "cordon: %s:%u: %s\n", c->norm[0] ? c->norm : c->host, c->port,
		 why);
	px_conn_http_answer(c, status, body);
}

/* Accepted beyond max_conns: say so, never decide or connect. */
static void
refuse_over_limit(struct px_conn *c)
{
	char body[512];
	unsigned max = c->px->max_conns;

	c->allowed = 0;
	c->decided = 1;
	px_conn_why(c, "refused: the session has %u proxy connections open, its limit", max);
	px_conn_verbose(c, "refused %s %s:%u: %u connections open (the limit)",
			proto_name(c->proto), c->host, c->port, max);
	if (c->proto == PX_PROTO_SOCKS5) {
		s5_answer(c, PX_S5_GENERAL);
		return;
	}
	snprintf(body, sizeof(body),
		 "cordon: too many proxy connections: this session already has %u open, its "
		 "limit.\nThis one is refused; close connections you no longer use (or reuse "
		 "them) and retry.\n",
		 max);
	px_conn_http_answer(c, 503, body);
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
			deny(c,
			     m.verdict == PX_VERDICT_DENY_RULE ? "an address denied by rule"
							       : m.why,
			     NULL);
			goto out;
		}
		c->addrs[i] = addrs[i];
	}
	c->n_addrs = n;
	c->i_addr = 0;
	try_connect(c);
out:
	px_conn_pump(c);
	conn_unref(c);
}

/*
 * network.rules on a plain-HTTP request to a host the policy allows (req,
 * or the head still at the start of c->in): 1 when refused (a 403 queued,
 * the refusal recorded by px_http_guard), 0 when it may go on.
 */
static int
http_rules_refuse(struct px_conn *c, const struct px_http_req *req)
{
	struct px_http_req again;
	const char *why;
	char body[4096];

	if (req == NULL) {
		if (px_http_parse_request(c->in, c->in_len, &again, &why) != 1)
			return 0; /* cannot happen: the head was parsed before */
		req = &again;
	}
	if (!px_http_guard(c->px, req, c->in, body, sizeof(body), c->rec_rule, sizeof(c->rec_rule)))
		return 0;
	px_conn_http_answer(c, 403, body);
	return 1;
}

static void
decide(struct px_conn *c)
{
	struct px_match m;
	size_t n;

	px_conn_set_state(c, PX_STATE_POLICY);
	c->rule[0] = c->addr_str[0] = '\0';
	free(c->why);
	c->why = NULL;
	c->allowed = 0;
	c->recorded = 0;
	if (c->over_limit) {
		refuse_over_limit(c);
		return;
	}
	if (px_host_normalize(c->host, c->norm, sizeof(c->norm), &c->is_ip, &c->addrs[0]) < 0) {
		c->norm[0] = '\0';
		if (c->proto == PX_PROTO_SOCKS5)
			s5_answer(c, PX_S5_HOST_UNREACH);
		else
			px_conn_http_answer(c, 400, "cordon: not a valid host name\n");
		return;
	}
	px_rules_match(&c->px->rules, c->host, c->port, &m);
	if (m.rule != NULL)
		snprintf(c->rule, sizeof(c->rule), "%s", m.rule->text);
	switch (m.verdict) {
	case PX_VERDICT_ALLOW:
		break;
	case PX_VERDICT_DENY_RULE:
		deny(c, "deny rule", NULL);
		return;
	case PX_VERDICT_DENY_ADDRESS:
		px_addr_str(&c->addrs[0], c->addr_str, sizeof(c->addr_str));
		deny(c, m.why, NULL);
		return;
	case PX_VERDICT_DENY_DEFAULT:
	default:
		c->unlisted = 1;
		deny(c, m.why ? m.why : "no allow rule matches this host", m.port_rule);
		return;
	}
	c->allowed = 1;
	c->decided = 1;
	if (c->proto == PX_PROTO_HTTP && http_rules_refuse(c, NULL)) {
		c->recorded = 1; /* the refusal is its record: no "allowed" one */
		return;
	}
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
on_connected(struct px_conn *c)
{
	int one = 1;

	setsockopt(c->wu.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	px_conn_verbose(c, "allowed %s %s:%u via %s", proto_name(c->proto), c->norm, c->port,
			c->addr_str);
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
		px_http_relay_request(c, &req);
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
	px_tunnel_start(c);
}

/* ---- request parsing ---- */

void
px_conn_consume_in(struct px_conn *c, size_t n)
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
		px_conn_consume_in(c, (size_t)r);
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
	px_conn_consume_in(c, req.len);
	snprintf(c->host, sizeof(c->host), "%s", req.host);
	c->port = req.port;
	decide(c);
}

void
px_conn_http_head(struct px_conn *c)
{
	struct px_http_req req;
	const char *why;
	int r;

	r = px_http_parse_request(c->in, c->in_len, &req, &why);
	if (r == 0)
		return;
	if (r < 0) {
		char body[256];

		snprintf(body, sizeof(body), "cordon: bad proxy request: %s\n", why);
		px_conn_verbose(c, "bad request: %s", why);
		px_conn_http_answer(c, req.status, body);
		return;
	}
	if (req.is_connect) {
		if (c->proto == PX_PROTO_HTTP) {
			/* CONNECT after plain requests on the same connection */
			px_conn_emit_event(c, "next request");
			px_conn_close_upstream(c);
		}
		c->proto = PX_PROTO_CONNECT;
		snprintf(c->host, sizeof(c->host), "%s", req.host);
		c->port = req.port;
		px_conn_consume_in(c, req.hdr_len);
		decide(c);
		return;
	}
	if (px_http_relay_same_target(c, &req)) {
		if (!http_rules_refuse(c, &req))
			px_http_relay_request(c, &req);
		return;
	}
	if (c->proto == PX_PROTO_HTTP && c->decided) {
		px_conn_emit_event(c, "next request");
		px_conn_close_upstream(c);
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
		px_conn_http_head(c);
}

/* ---- I/O ---- */

ssize_t
px_conn_write_some(int fd, const char *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	return n;
}

int
px_conn_flush_msg(struct px_conn *c)
{
	while (c->msg_off < c->msg_len) {
		ssize_t n =
		    px_conn_write_some(c->wc.fd, c->msg + c->msg_off, c->msg_len - c->msg_off);

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
	px_conn_close(c, c->why ? c->why : c->allowed ? "error answered" : "denied");
}

int
px_conn_flush_up(struct px_conn *c)
{
	while (c->up_off < c->up_len) {
		ssize_t n = px_conn_write_some(c->wu.fd, c->up + c->up_off, c->up_len - c->up_off);

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

int
px_conn_read_client(struct px_conn *c)
{
	ssize_t n;

	if (c->in_len == c->in_cap) {
		size_t want = c->in_cap == 0 ? BUF_INIT : c->in_cap * 2;

		if (c->in_cap >= BUF_CAP)
			return 0;
		if (want > BUF_CAP)
			want = BUF_CAP;
		if (px_budget_buf(c, &c->in, &c->in_cap, want) < 0)
			return -1;
	}
	n = recv(c->wc.fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
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

static void
conn_pump_once(struct px_conn *c)
{
	if (c->dead)
		return;
	switch (c->state) {
	case PX_STATE_ACCEPTED:
	case PX_STATE_REQUEST: {
		int r = px_conn_read_client(c);

		if (r < 0) {
			if (!c->dead)
				px_conn_close(c,
					      c->in_len ? "client closed mid-request" : "closed");
			return;
		}
		if (r > 0)
			conn_start_target(c);
		if (c->dead)
			return;
		if (c->state == PX_STATE_REQUEST && c->in_len == BUF_CAP &&
		    c->proto != PX_PROTO_SOCKS5) {
			px_conn_http_answer(c, 431, "cordon: request head too large\n");
		}
		if (c->state == PX_STATE_REQUEST || c->state == PX_STATE_ACCEPTED) {
			if (c->msg_len > 0 && px_conn_flush_msg(c) < 0)
				return;
			px_conn_set_watch(c, 0, c->msg_len > 0 ? EPOLLOUT : EPOLLIN);
			return;
		}
		return;
	}
	case PX_STATE_POLICY:
	case PX_STATE_CONNECTING:
		/* wait for the resolver / connect; do not read more from the client */
		px_conn_set_watch(c, 0, 0);
		return;
	case PX_STATE_TUNNEL:
		if (c->proto == PX_PROTO_HTTP)
			px_http_relay_pump(c);
		else
			px_tunnel_pump(c);
		return;
	case PX_STATE_CLOSING:
		if (!c->draining && px_conn_flush_msg(c) < 0)
			return;
		px_conn_set_watch(c, 1, 0);
		if (!c->draining) {
			px_conn_set_watch(c, 0, EPOLLOUT);
			return;
		}
		drain_client(c);
		if (!c->dead)
			px_conn_set_watch(c, 0, EPOLLIN);
		return;
	default:
		px_conn_close(c, "internal error");
		return;
	}
}

void
px_conn_pump(struct px_conn *c)
{
	/* run the handler of the current state until the state stops changing */
	for (int i = 0; i < 8 && !c->dead; i++) {
		enum px_state before = c->state;

		conn_pump_once(c);
		if (c->state == before)
			break;
	}
}

void
px_conn_kick(struct px_conn *c)
{
	if (c->gone)
		return;
	c->refs++;
	px_conn_pump(c);
	conn_unref(c);
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
	px_conn_pump(c);
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
			px_conn_close_upstream(c);
			c->i_addr++;
			try_connect(c);
		}
	} else if (events & EPOLLERR) {
		px_conn_close(c, "upstream connection reset");
	} else if (events & EPOLLHUP) {
		c->hup_u = 1;
	}
	px_conn_pump(c);
	conn_unref(c);
}

static void
on_timer(struct px_loop *loop, struct px_timer *t)
{
	struct px_conn *c = px_container_of(t, struct px_conn, timer);
	uint64_t now = px_now_ms();

	c->refs++;
	if (c->state == PX_STATE_TUNNEL && px_tunnel_hello_expired(c, now))
		goto out;
	if (c->state == PX_STATE_TUNNEL && now - c->last_ms < PX_TIMEOUT_IDLE_MS) {
		uint64_t ms = PX_TIMEOUT_IDLE_MS - (now - c->last_ms);

		if (c->hello_deadline != 0 && c->hello_deadline - now < ms)
			ms = c->hello_deadline > now ? c->hello_deadline - now : 0;
		px_timer_arm(loop, t, ms);
		goto out;
	}
	switch (c->state) {
	case PX_STATE_ACCEPTED:
	case PX_STATE_REQUEST:
		if (c->in_len > 0 && c->proto != PX_PROTO_SOCKS5)
			px_conn_http_answer(c, 408, "cordon: request head not received in time\n");
		else
			px_conn_close(c, "request timeout");
		break;
	case PX_STATE_POLICY:
	case PX_STATE_CONNECTING:
		px_resolve_cancel(&c->rreq);
		px_conn_close_upstream(c);
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
	px_conn_pump(c);
out:
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
	px_budget_client_socket(fd);
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
	if (px->n_conns > px->max_conns) {
		char msg[160];

		c->over_limit = 1;
		snprintf(msg, sizeof(msg),
			 "%u proxy connections open, the session's limit: further connections "
			 "are refused until some close",
			 px->max_conns);
		px_budget_report(px, 0, px->max_conns, msg);
	}
	px_conn_set_state(c, PX_STATE_ACCEPTED);
	px_budget_arm(px);
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
	px_conn_pump(c);
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
