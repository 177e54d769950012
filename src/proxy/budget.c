/* SPDX-License-Identifier: MIT */
/*
 * What the sandbox can make the host hold through the proxy, bounded per
 * session: the connection count (conn.c refuses beyond max_conns) and the
 * bytes buffered for all connections together (max_buffered):
 *
 *   - user-space buffers (request heads, plain HTTP, a held ClientHello),
 *     charged when allocated, and an intercepted tunnel's buffers and TLS
 *     state, charged as a whole when the proxy starts reading it;
 *   - bytes sitting in splice pipes, charged as they are spliced in;
 *   - the kernel socket queues of connections with bytes pending (a peer
 *     that does not read), measured with SO_MEMINFO every PX_SWEEP_MS.
 *
 * While the total is at the bound no connection reads more (it only
 * drains), and the sweep closes the stalled connections holding the most
 * until it is below. Client sockets (the sandbox side, always local) get
 * small fixed kernel buffers; upstream sockets keep the kernel's
 * autotuning, which long-distance transfers need.
 */
#define _GNU_SOURCE
#include <linux/sock_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/conn.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

static uint64_t
total(const struct px_proxy *px)
{
	return px->buf_user + px->buf_pipe + px->buf_sock;
}

void
px_budget_report(struct px_proxy *px, int kind, uint64_t value, const char *message)
{
	static const char *const names[] = { "proxy.connections", "proxy.buffers" };
	struct px_limit_event ev = {
		.limit = names[kind],
		.max = kind == 0 ? px->max_conns : px->max_buffered,
		.value = value,
		.message = message,
	};
	uint64_t now = px_now_ms();

	if (px->reported_ms[kind] != 0 && now - px->reported_ms[kind] < PX_LIMIT_REPORT_MS)
		return;
	px->reported_ms[kind] = now;
	if (px->cfg.on_limit != NULL)
		px->cfg.on_limit(px->cfg.on_decision_arg, &ev);
}

static void
report_buffers(struct px_proxy *px, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg),
		 "%llu bytes buffered for the session's proxy connections, the limit: %s",
		 (unsigned long long)total(px), what);
	px_budget_report(px, 1, total(px), msg);
}

/* May c take more bytes? If not it is refused and closed: -1. */
static int
admit(struct px_conn *c, size_t more)
{
	struct px_proxy *px = c->px;

	if (total(px) + more <= px->max_buffered)
		return 0;
	report_buffers(px, "connections that need a buffer are refused");
	px_conn_close(c,
		      px_conn_why(c, "refused: the session's proxy buffers are full (%llu bytes)",
				  (unsigned long long)px->max_buffered));
	return -1;
}

int
px_budget_buf(struct px_conn *c, char **b, size_t *cap, size_t want)
{
	struct px_proxy *px = c->px;
	char *n;

	if (*cap >= want)
		return 0;
	if (admit(c, want - *cap) < 0)
		return -1;
	n = realloc(*b, want);
	if (n == NULL) {
		px_conn_close(c, "out of memory");
		return -1;
	}
	px->buf_user += want - *cap;
	*b = n;
	*cap = want;
	return 0;
}

void
px_budget_free(struct px_conn *c, char **b, size_t *cap)
{
	c->px->buf_user -= *cap;
	free(*b);
	*b = NULL;
	*cap = 0;
}

int
px_budget_hold(struct px_conn *c, size_t bytes)
{
	if (admit(c, bytes) < 0)
		return -1;
	c->px->buf_user += bytes;
	c->held += bytes;
	return 0;
}

void
px_budget_release(struct px_conn *c)
{
	c->px->buf_user -= c->held;
	c->held = 0;
}

int
px_budget_may_read(struct px_conn *c)
{
	if (total(c->px) < c->px->max_buffered) {
		c->starved = 0;
		return 1;
	}
	if (!c->starved)
		report_buffers(c->px, "no connection reads more until peers drain");
	c->starved = 1;
	return 0;
}

void
px_budget_pipe(struct px_proxy *px, ssize_t delta)
{
	px->buf_pipe += (uint64_t)delta; /* wraps back for negative deltas */
}

int
px_budget_may_grow(const struct px_proxy *px)
{
	return total(px) < px->max_buffered / 2;
}

void
px_budget_client_socket(int fd)
{
	int sz = PX_SOCKBUF_CLIENT;

	/* the sandbox is on the same host: small buffers cost no throughput */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

/* Bytes queued in a socket's buffers (received unread, and to send). */
static uint64_t
sock_queued(int fd)
{
	uint32_t m[SK_MEMINFO_VARS];
	socklen_t l = sizeof(m);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, m, &l) < 0 ||
	    l < sizeof(uint32_t) * (SK_MEMINFO_WMEM_QUEUED + 1))
		return 0;
	return (uint64_t)m[SK_MEMINFO_RMEM_ALLOC] + m[SK_MEMINFO_WMEM_QUEUED];
}

void
px_budget_measure(struct px_conn *c)
{
	struct px_proxy *px = c->px;
	uint64_t now = sock_queued(c->wc.fd) + sock_queued(c->wu.fd);

	px->buf_sock = px->buf_sock - c->sock_mem + now;
	c->sock_mem = now;
	/* over the bound: cut the stalled ones at once, not at the next sweep */
	if (total(px) > px->max_buffered && !px->sweep_soon) {
		px->sweep_soon = 1;
		px_timer_arm(px->loop, &px->sweep, 0);
	}
}

/*
 * May this connection hold bytes in its socket queues? Bytes wait in it, it
 * moved bytes since the last sweep (its send queue may be full), or it held
 * some at the last sweep. Idle connections are not measured.
 */
static int
may_hold(const struct px_conn *c)
{
	return c->pend_cu > 0 || c->pend_uc > 0 || c->full_cu || c->full_uc || c->up_len > 0 ||
	       c->r_len > 0 || c->in_fwd > 0 || c->msg_len > 0 || c->starved || c->sock_mem > 0 ||
	       c->bytes_up + c->bytes_dn != c->sweep_bytes;
}

static void
on_sweep(struct px_loop *loop, struct px_timer *t)
{
	struct px_proxy *px = px_container_of(t, struct px_proxy, sweep);
	struct px_conn *c, *next;
	uint64_t sock = 0;

	px->sweep_soon = 0;
	for (c = px->conns; c != NULL; c = c->next) {
		c->sock_mem = may_hold(c) ? sock_queued(c->wc.fd) + sock_queued(c->wu.fd) : 0;
		sock += c->sock_mem;
	}
	px->buf_sock = sock;
	/* over the bound: close the stalled connections that hold the most */
	while (total(px) > px->max_buffered) {
		struct px_conn *victim = NULL;
		const char *why;

		for (c = px->conns; c != NULL; c = c->next)
			if (c->sock_mem > 0 && c->bytes_up + c->bytes_dn == c->sweep_bytes &&
			    (victim == NULL ||
			     c->sock_mem + c->pend_cu + c->pend_uc >
				 victim->sock_mem + victim->pend_cu + victim->pend_uc))
				victim = c;
		if (victim == NULL)
			break;
		report_buffers(px, "stalled connections holding the most are closed");
		why = px_conn_why(
		    victim,
		    "closed: the peer does not read and the session's proxy buffers are full "
		    "(%llu bytes held by this connection)",
		    (unsigned long long)(victim->sock_mem + victim->pend_cu + victim->pend_uc));
		px_conn_verbose(victim, "%s:%u %s", victim->norm, victim->port, why);
		victim->cut = 1;
		px_conn_close(victim, why);
	}
	for (c = px->conns; c != NULL; c = c->next)
		c->sweep_bytes = c->bytes_up + c->bytes_dn;
	/* read again where the budget stopped it */
	for (c = px->conns; c != NULL && total(px) < px->max_buffered; c = next) {
		next = c->next;
		if (c->starved) {
			c->starved = 0;
			px_conn_kick(c);
		}
	}
	if (px->n_conns > 0)
		px_timer_arm(loop, t, PX_SWEEP_MS);
}

void
px_budget_arm(struct px_proxy *px)
{
	if (px->sweep.heap_idx == SIZE_MAX)
		px_timer_arm(px->loop, &px->sweep, PX_SWEEP_MS);
}

void
px_budget_init(struct px_proxy *px)
{
	px_timer_init(&px->sweep, on_sweep);
}
