/* SPDX-License-Identifier: MIT */
/*
 * Transparent capture, the supervisor's half (the sandbox's half is
 * sandbox/capture.c): every TCP connection the sandbox makes to a
 * non-loopback address arrives on a capture listener, and names resolve
 * through a DNS stub served here.
 *
 * The stub never resolves anything for real and never forwards a query:
 * a name the policy allows gets a synthetic address from 198.18.0.0/15
 * (RFC 2544's benchmarking range, unused on real networks), remembered so
 * that a connection to it maps back to the name; the connection is then
 * handled as a CONNECT to NAME:PORT by conn.c, which resolves the name
 * itself and applies every check it applies to a proxy client. A name the
 * policy refuses gets NXDOMAIN and a deny record. AAAA and other types of
 * an allowed name get an empty answer, NOERROR with no record (NODATA):
 * IPv4 is enough to be captured, and a definite "no such record" lets a
 * resolver asking A and AAAA together use the A answer at once, where an
 * error (SERVFAIL, REFUSED) or silence would make it retry or wait. A name
 * refused is NXDOMAIN for every type, as for A.
 *
 * The stub answers over UDP and over TCP (length-prefixed, several queries
 * per connection, the same answers): at most DNS_TCP_CONNS connections at
 * once, each closed after DNS_TCP_IDLE_MS without a query, at a length no
 * query has, or when its client does not read its answers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "proxy/conn.h"
#include "proxy/dns.h"
#include "proxy/proxy.h"

#define SYN_BASE        0xc6120000u /* 198.18.0.0 */
#define SYN_SLOTS       4096u       /* names remembered; the oldest is reused */
#define SYN_TTL         60u         /* seconds: a reused slot outlives no cache */
#define RETRY_MS        200
#define DNS_TCP_CONNS   32
#define DNS_TCP_IDLE_MS 10000

struct px_capture;

/* One DNS-over-TCP client of the stub. */
struct dns_tcp {
	struct px_capture *cap;
	int slot;
	struct px_watch w;
	struct px_timer idle;
	uint8_t in[2 + PX_DNS_TCP_MAX];
	size_t in_len;
};

struct px_capture {
	struct px_proxy *px;
	struct px_watch tcp[2], dns, dns_tcp;
	struct dns_tcp *dns_conns[DNS_TCP_CONNS];
	struct px_timer resume;
	int paused;
	char (*names)[PX_HOST_MAX]; /* slot i is 198.18.0.0 + 1 + i */
	unsigned next;
};

/* ---- names and synthetic addresses ---- */

static uint32_t
slot_addr(unsigned i)
{
	return SYN_BASE + 1 + i;
}

static unsigned
slot_for(struct px_capture *cap, const char *norm)
{
	unsigned i;

	for (i = 0; i < SYN_SLOTS; i++)
		if (strcmp(cap->names[i], norm) == 0)
			return i;
	i = cap->next;
	cap->next = (cap->next + 1) % SYN_SLOTS;
	snprintf(cap->names[i], PX_HOST_MAX, "%s", norm);
	return i;
}

/* The name behind a synthetic address, or NULL. */
static const char *
slot_name(const struct px_capture *cap, uint32_t a)
{
	if (a <= SYN_BASE || a > SYN_BASE + SYN_SLOTS)
		return NULL;
	return cap->names[a - SYN_BASE - 1][0] ? cap->names[a - SYN_BASE - 1] : NULL;
}

/*
 * May the sandbox reach norm on some port? An allow rule for it on any
 * port will do (the port is checked again at connect); a deny rule for
 * every port refuses it. rule receives the deciding rule's text.
 */
static int
name_allowed(const struct px_rules *r, const char *norm, char *rule, size_t len)
{
	uint16_t ports[2 + 64];
	size_t n = 0;
	struct px_match m;
	bool any = false;

	rule[0] = '\0';
	/* The ports some allow rule opens: 80 and 443 (portless), its own, any. */
	ports[n++] = PX_PORT_HTTPS;
	ports[n++] = PX_PORT_HTTP;
	for (size_t i = 0; i < r->n; i++) {
		const struct px_rule *k = &r->v[i];

		if (k->deny || k->is_cidr)
			continue;
		any |= k->any_port != 0;
		if (k->port != 0 && n < ARRAY_SIZE(ports))
			ports[n++] = k->port;
	}
	if (any && n < ARRAY_SIZE(ports))
		ports[n++] = 1; /* a ":*" rule: any port will do */
	for (size_t i = 0; i < n; i++) {
		px_rules_match(r, norm, ports[i], &m);
		if (m.verdict == PX_VERDICT_ALLOW) {
			snprintf(rule, len, "%s", m.rule ? m.rule->text : "");
			return 1;
		}
		/* A deny rule over every port denies the name. */
		if (m.verdict == PX_VERDICT_DENY_RULE && m.rule != NULL &&
		    (m.rule->port == 0 || m.rule->any_port)) {
			snprintf(rule, len, "%s", m.rule->text);
			return 0;
		}
	}
	return 0;
}

/* ---- DNS stub ---- */

static size_t
dns_answer(struct px_capture *cap, const uint8_t *in, size_t len, uint8_t *out, size_t cap_out)
{
	struct px_dns_query q;
	char norm[PX_HOST_MAX], rule[PX_HOST_MAX + 16];
	struct px_addr a;
	uint8_t addr[4];
	uint32_t be;
	int is_ip, r = px_dns_parse_query(in, len, &q);

	if (r < 0)
		return 0;
	if (r == 0)
		return px_dns_build_answer(&q, PX_DNS_RCODE_FORMERR, NULL, 0, 0, out, cap_out);
	if (q.qclass != PX_DNS_CLASS_IN)
		return px_dns_build_answer(&q, PX_DNS_RCODE_REFUSED, NULL, 0, 0, out, cap_out);
	if (px_host_normalize(q.name, norm, sizeof(norm), &is_ip, &a) < 0 || is_ip)
		return px_dns_build_answer(&q, PX_DNS_RCODE_NXDOMAIN, NULL, 0, 0, out, cap_out);
	if (!name_allowed(&cap->px->rules, norm, rule, sizeof(rule))) {
		/* one record per refused A query (the AAAA twin would double it) */
		if (q.qtype == PX_DNS_TYPE_A)
			px_event_deny(cap->px, norm, 0, "", PX_PROTO_DNS, rule,
				      rule[0]
					  ? "denied: DNS query for a name a deny rule matches"
					  : "denied: DNS query for a name no allow rule matches",
				      NULL, NULL, 0);
		return px_dns_build_answer(&q, PX_DNS_RCODE_NXDOMAIN, NULL, 0, 0, out, cap_out);
	}
	if (q.qtype != PX_DNS_TYPE_A)
		return px_dns_build_answer(&q, PX_DNS_RCODE_OK, NULL, 0, 0, out, cap_out);
	be = htonl(slot_addr(slot_for(cap, norm)));
	memcpy(addr, &be, 4);
	return px_dns_build_answer(&q, PX_DNS_RCODE_OK, addr, 4, SYN_TTL, out, cap_out);
}

static void
on_dns(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct px_capture *cap = px_container_of(w, struct px_capture, dns);

	(void)loop;
	(void)events;
	for (int i = 0; i < 64; i++) {
		uint8_t in[PX_DNS_MSG_MAX], out[PX_DNS_MSG_MAX];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n =
		    recvfrom(w->fd, in, sizeof(in), MSG_TRUNC, (struct sockaddr *)&from, &fl);
		size_t m;

		if (n < 0)
			return;
		m = dns_answer(cap, in, (size_t)n > sizeof(in) ? sizeof(in) : (size_t)n, out,
			       sizeof(out));
		if (m > 0)
			sendto(w->fd, out, m, MSG_DONTWAIT, (struct sockaddr *)&from, fl);
	}
}

static void
dns_tcp_close(struct dns_tcp *t)
{
	struct px_loop *loop = t->cap->px->loop;

	px_timer_disarm(loop, &t->idle);
	px_loop_del(loop, &t->w);
	close(t->w.fd);
	t->cap->dns_conns[t->slot] = NULL;
	free(t);
}

static void
on_dns_tcp_idle(struct px_loop *loop, struct px_timer *tm)
{
	(void)loop;
	dns_tcp_close(px_container_of(tm, struct dns_tcp, idle));
}

/* Answer every whole query in t->in. 0, or -1 when t is to be closed. */
static int
dns_tcp_answer(struct dns_tcp *t)
{
	const uint8_t *msg;
	size_t mlen, used, off = 0;
	int r;

	while ((r = px_dns_tcp_frame(t->in + off, t->in_len - off, &msg, &mlen, &used)) == 1) {
		uint8_t out[2 + PX_DNS_MSG_MAX];
		size_t m = dns_answer(t->cap, msg, mlen, out + 2, sizeof(out) - 2);

		off += used;
		if (m == 0)
			continue; /* a response, or shorter than a header: dropped, as over UDP */
		out[0] = (uint8_t)(m >> 8);
		out[1] = (uint8_t)m;
		/* the answer fits the socket's buffer unless the client does not read */
		if (send(t->w.fd, out, m + 2, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)(m + 2))
			return -1;
	}
	memmove(t->in, t->in + off, t->in_len - off);
	t->in_len -= off;
	return r < 0 ? -1 : 0;
}

static void
on_dns_tcp_conn(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct dns_tcp *t = px_container_of(w, struct dns_tcp, w);

	(void)events;
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(w->fd, t->in + t->in_len, sizeof(t->in) - t->in_len, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			dns_tcp_close(t);
			return;
		}
		t->in_len += (size_t)n;
		if (dns_tcp_answer(t) < 0) {
			dns_tcp_close(t);
			return;
		}
		px_timer_arm(loop, &t->idle, DNS_TCP_IDLE_MS);
	}
}

static void
on_dns_tcp(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct px_capture *cap = px_container_of(w, struct px_capture, dns_tcp);

	(void)events;
	for (int i = 0; i < 16; i++) {
		struct dns_tcp *t;
		int slot = -1, fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		for (int k = 0; k < DNS_TCP_CONNS && slot < 0; k++)
			if (cap->dns_conns[k] == NULL)
				slot = k;
		/* all slots busy: this client is closed (it may retry over UDP) */
		t = slot >= 0 ? calloc(1, sizeof(*t)) : NULL;
		if (t == NULL || px_loop_add(loop, &t->w, fd, EPOLLIN, on_dns_tcp_conn) < 0) {
			free(t);
			close(fd);
			continue;
		}
		t->cap = cap;
		t->slot = slot;
		px_timer_init(&t->idle, on_dns_tcp_idle);
		px_timer_arm(loop, &t->idle, DNS_TCP_IDLE_MS);
		cap->dns_conns[slot] = t;
	}
}

/* ---- captured connections ---- */

/* Where the sandbox meant to connect, as a CONNECT target. 0 or -1. */
static int
original_target(struct px_capture *cap, int fd, int v6, char *host, size_t len, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (!v6) {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
		const char *name;

		if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &sl) < 0 ||
		    in4->sin_family != AF_INET)
			return -1;
		*port = ntohs(in4->sin_port);
		name = slot_name(cap, ntohl(in4->sin_addr.s_addr));
		if (name != NULL)
			snprintf(host, len, "%s", name);
		else
			inet_ntop(AF_INET, &in4->sin_addr, host, (socklen_t)len);
		return 0;
	}
	if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &sl) < 0 ||
	    ((struct sockaddr_in6 *)&ss)->sin6_family != AF_INET6)
		return -1;
	*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, (socklen_t)len);
	return 0;
}

static void
set_accepting(struct px_capture *cap, uint32_t ev)
{
	for (int k = 0; k < 2; k++)
		if (cap->tcp[k].fd >= 0)
			px_loop_mod(cap->px->loop, &cap->tcp[k], ev);
}

static void
on_resume(struct px_loop *loop, struct px_timer *t)
{
	struct px_capture *cap = px_container_of(t, struct px_capture, resume);

	cap->paused = 0;
	set_accepting(cap, EPOLLIN);
	(void)loop;
}

static void
pause_accepting(struct px_capture *cap)
{
	if (cap->paused)
		return;
	cap->paused = 1;
	set_accepting(cap, 0);
	px_timer_arm(cap->px->loop, &cap->resume, RETRY_MS);
}

static void
accept_captured(struct px_capture *cap, struct px_watch *w, int v6)
{
	for (int i = 0; i < 64; i++) {
		char host[PX_HOST_MAX];
		uint16_t port;
		int fd, one = 1;

		if (px_proxy_n_conns(cap->px) >= PX_CONN_MAX) {
			pause_accepting(cap);
			return;
		}
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				pause_accepting(cap);
			return;
		}
		if (original_target(cap, fd, v6, host, sizeof(host), &port) < 0) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		px_conn_accept_target(cap->px, fd, host, port);
	}
}

static void
on_capture4(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	(void)loop;
	(void)events;
	accept_captured(px_container_of(w, struct px_capture, tcp[0]), w, 0);
}

static void
on_capture6(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	(void)loop;
	(void)events;
	accept_captured(px_container_of(w, struct px_capture, tcp[1]), w, 1);
}

struct px_capture *
px_capture_new(struct px_proxy *px, int tcp4, int tcp6, int dns, int dns_tcp,
	       struct cordon_err *err)
{
	struct px_capture *cap = calloc(1, sizeof(*cap));
	static const px_watch_fn fns[4] = { on_capture4, on_capture6, on_dns, on_dns_tcp };
	int fds[4] = { tcp4, tcp6, dns, dns_tcp };
	struct px_watch *ws[4];

	if (cap != NULL)
		cap->names = calloc(SYN_SLOTS, sizeof(*cap->names));
	if (cap == NULL || cap->names == NULL) {
		free(cap);
		for (int k = 0; k < 4; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		cordon_err_set(err, ENOMEM, "transparent capture");
		return NULL;
	}
	cap->px = px;
	px_timer_init(&cap->resume, on_resume);
	ws[0] = &cap->tcp[0];
	ws[1] = &cap->tcp[1];
	ws[2] = &cap->dns;
	ws[3] = &cap->dns_tcp;
	for (int k = 0; k < 4; k++)
		ws[k]->fd = -1;
	for (int k = 0; k < 4; k++) {
		if (fds[k] < 0)
			continue;
		if (fd_set_nonblock(fds[k], 1) < 0 || fd_set_cloexec(fds[k], 1) < 0 ||
		    px_loop_add(px->loop, ws[k], fds[k], EPOLLIN, fns[k]) < 0) {
			cordon_err_set(err, errno, "watch the transparent capture sockets");
			ws[k]->fd = -1;
			for (int j = k; j < 4; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			px_capture_free(cap);
			return NULL;
		}
	}
	return cap;
}

void
px_capture_free(struct px_capture *cap)
{
	struct px_watch *ws[4];

	if (cap == NULL)
		return;
	for (int k = 0; k < DNS_TCP_CONNS; k++)
		if (cap->dns_conns[k] != NULL)
			dns_tcp_close(cap->dns_conns[k]);
	ws[0] = &cap->tcp[0];
	ws[1] = &cap->tcp[1];
	ws[2] = &cap->dns;
	ws[3] = &cap->dns_tcp;
	for (int k = 0; k < 4; k++) {
		if (ws[k]->fd < 0)
			continue;
		px_loop_del(cap->px->loop, ws[k]);
		close(ws[k]->fd);
	}
	px_timer_disarm(cap->px->loop, &cap->resume);
	free(cap->names);
	free(cap);
}
