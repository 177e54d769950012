/* SPDX-License-Identifier: MIT */
/*
 * CONNECT and SOCKS5 tunnels, once the upstream is connected.
 *
 * First the client's first flight is judged, on every port: bytes that
 * start a TLS handshake are held (at most PX_SNI_PEEK_MAX, and for at most
 * PX_TIMEOUT_HELLO_MS once begun) until the whole ClientHello is there, and
 * its server name must be the tunnel's host. Anything else (plain HTTP,
 * SSH, a database protocol) goes through untouched. Until the client has
 * sent its first byte, upstream bytes are relayed: protocols where the
 * server speaks first (SMTP, SSH banners, MySQL) keep working, and nothing
 * leaves the sandbox before the check.
 *
 * Then bytes move src -> pipe -> dst with splice(2), never through user
 * space. A side is read only while its pipe has room and the session's
 * buffer budget is not spent (budget.c): the side whose peer does not
 * drain stops being read.
 *
 * A tunnel to a host that network.rules or credentials.inject name is read
 * by the proxy instead (tls_mitm.c), once its first flight passed the same
 * check: nothing of the upstream reaches the client before, and its
 * buffers and TLS state are charged to the session's budget. So is a
 * captured connection to port 80 whose first flight is not TLS: a client
 * that ignores the proxy variables gets network.rules and a record per
 * request as a plain-HTTP forward does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/conn.h"
#include "proxy/tls_mitm.h"
#include "proxy/tls_sni.h"

#define PIPE_SMALL (1 << 16)
#define PIPE_BIG   (1 << 20)

void
px_tunnel_start(struct px_conn *c)
{
	/* c->in keeps what followed the request head: the first flight begins there */
	if (c->in_len == 0)
		px_budget_free(c, &c->in, &c->in_cap);
	px_budget_free(c, &c->up, &c->up_cap);
	px_budget_free(c, &c->rbuf, &c->r_cap); /* plain HTTP before a CONNECT */
	c->up_len = c->up_off = c->r_len = c->r_fwd = 0;
	c->tls_check = 1;
	c->hello_deadline = 0;
	c->mitm_wanted = px_mitm_wanted(c->px, c->norm, c->port);
	/*
	 * A captured connection to port 80 is read like a plain-HTTP forward
	 * (network.rules, a record per request) unless it turns out to be TLS.
	 */
	c->http_wanted = c->transparent && c->port == PX_PORT_HTTP;
	/* pipes are made when a direction first carries data (relay_dir) */
	c->cap_cu = c->cap_uc = PIPE_SMALL;
	px_conn_set_state(c, PX_STATE_TUNNEL);
}

/*
 * The proxy reads the tunnel from here on (tls_mitm.c): what was held is
 * its first input. The sockets and the lifecycle stay here.
 */
static void
intercept(struct px_conn *c)
{
	struct px_mitm_target t = { c->norm,     c->port,
				    c->is_ip,    c->transparent ? PX_PROTO_TRANSPARENT : c->proto,
				    c->addr_str, c->rule };
	const char *why = NULL;

	if (px_budget_hold(c, px_mitm_footprint()) < 0) {
		c->allowed = 0; /* refused: its record says why */
		return;
	}
	c->mitm = px_mitm_new(c->px, c->wc.fd, c->wu.fd, &t, c->in, c->in_len, &why);
	px_budget_free(c, &c->in, &c->in_cap);
	c->in_len = c->in_fwd = 0;
	if (c->mitm == NULL) {
		c->allowed = 0;
		px_conn_close(c, why);
	}
}

/* The first flight passed: what was held goes upstream first, then splice. */
static void
first_flight_pass(struct px_conn *c)
{
	c->tls_check = 0;
	c->hello_deadline = 0;
	px_timer_arm(c->px->loop, &c->timer, PX_TIMEOUT_IDLE_MS);
	if (c->mitm_wanted) {
		intercept(c);
		return;
	}
	if (c->in_len > 0) {
		c->up = c->in;
		c->up_cap = c->in_cap;
		c->up_len = c->in_len;
		c->up_off = 0;
		c->in = NULL;
		c->in_cap = c->in_len = c->in_fwd = 0;
	} else {
		px_budget_free(c, &c->in, &c->in_cap);
		c->in_len = c->in_fwd = 0;
	}
}

/*
 * Refuse the tunnel: a fatal access_denied alert tells a TLS client why it
 * failed better than a bare reset; the 200 / SOCKS5 success is already sent.
 */
static void first_flight_refuse(struct px_conn *c, int tls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
first_flight_refuse(struct px_conn *c, int tls, const char *fmt, ...)
{
	static const char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x31 };
	char buf[640];
	const char *why;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	why = px_conn_why(c, "denied: %s", buf);
	c->allowed = 0;
	c->rule[0] = '\0';
	px_conn_verbose(c, "%s %s:%u: %s", c->proto == PX_PROTO_SOCKS5 ? "SOCKS5" : "CONNECT",
			c->norm, c->port, why);
	if (tls)
		(void)px_conn_write_some(c->wc.fd, alert, sizeof(alert));
	px_conn_close(c, why);
}

/* Judge the ClientHello's server name against the tunnel's target. */
static void
judge_name(struct px_conn *c, const char *sni)
{
	char norm[PX_HOST_MAX];
	struct px_addr a;
	struct px_match m;
	int is_ip;

	if (c->is_ip) {
		/*
		 * An address target is allowed by an address rule, whatever name
		 * it serves; only a name the policy denies outright is refused.
		 */
		if (px_rules_match(&c->px->rules, sni, c->port, &m) == PX_VERDICT_DENY_RULE) {
			first_flight_refuse(c, 1, "TLS server name %s is denied by rule %s", sni,
					    m.rule->text);
			return;
		}
		first_flight_pass(c);
		return;
	}
	if (px_host_normalize(sni, norm, sizeof(norm), &is_ip, &a) < 0 || is_ip) {
		first_flight_refuse(c, 1, "TLS server name '%s' is not a host name", sni);
		return;
	}
	if (strcmp(norm, c->norm) != 0) {
		first_flight_refuse(c, 1,
				    "TLS server name %s does not match the tunnel's host %s "
				    "(connect to %s:%u to reach it)",
				    norm, c->norm, norm, c->port);
		return;
	}
	first_flight_pass(c);
}

/* 1 passed (or refused: check c->dead), 0 wait for more bytes. */
static int
first_flight(struct px_conn *c)
{
	char sni[PX_HOST_MAX];
	int r;

	if (c->in_cap == 0) {
		/* an idle tunnel holds no buffer until its client sends */
		char b;
		ssize_t n = recv(c->wc.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
	}
	while (c->in_len < PX_SNI_PEEK_MAX) {
		r = px_conn_read_client(c);
		if (r < 0) {
			if (c->dead)
				return 1;
			c->eof_c = 1;
			break;
		}
		if (r == 0)
			break;
	}
	if (c->in_len == 0) {
		if (!c->eof_c)
			return 0;
		first_flight_pass(c); /* closed without a byte: relay the EOF */
		return 1;
	}
	switch (px_tls_sni((const uint8_t *)c->in, c->in_len, sni, sizeof(sni))) {
	case PX_SNI_NEED_MORE:
		if (c->eof_c) {
			first_flight_refuse(c, 0,
					    "the client closed in the middle of a TLS "
					    "ClientHello");
			return 1;
		}
		if (c->hello_deadline == 0) {
			c->hello_deadline = px_now_ms() + PX_TIMEOUT_HELLO_MS;
			px_timer_arm(c->px->loop, &c->timer, PX_TIMEOUT_HELLO_MS);
		}
		return 0;
	case PX_SNI_NOT_TLS:
		c->mitm_wanted |= c->http_wanted;
		first_flight_pass(c);
		return 1;
	case PX_SNI_FOUND:
		judge_name(c, sni);
		return 1;
	case PX_SNI_NONE:
		if (c->is_ip) {
			first_flight_pass(c);
			return 1;
		}
		first_flight_refuse(c, 1, "TLS without a server name (SNI) to %s", c->norm);
		return 1;
	case PX_SNI_TOO_LARGE:
		first_flight_refuse(c, 1, "TLS ClientHello larger than %d bytes", PX_SNI_PEEK_MAX);
		return 1;
	case PX_SNI_BAD:
	default:
		first_flight_refuse(c, 1, "malformed TLS ClientHello");
		return 1;
	}
}

int
px_tunnel_hello_expired(struct px_conn *c, uint64_t now)
{
	if (!c->tls_check || c->hello_deadline == 0 || now < c->hello_deadline)
		return 0;
	first_flight_refuse(c, 1, "TLS ClientHello not completed within %d s",
			    PX_TIMEOUT_HELLO_MS / 1000);
	return 1;
}

/*
 * Move bytes src -> pipe -> dst. The pipe starts at the kernel default
 * (64 kB, lazily allocated, so idle tunnels cost nothing) and grows to
 * 1 MB once a direction has carried a few MB, while the session's buffer
 * budget is less than half spent: fewer wake-ups for bulk transfers.
 */
static int
relay_dir(struct px_conn *c, int src, int dst, int p[2], size_t *pend, size_t *cap, int *full,
	  int *eof, int *shut, uint64_t *bytes)
{
	struct px_proxy *px = c->px;
	int progress = 0, moved = 1, measured = 0;

	if (*cap == 0)
		*cap = PIPE_SMALL;
	if (p[0] < 0) {
		/* an idle tunnel costs two fds, not six: no pipe before data */
		char b;
		ssize_t n;

		if (*eof)
			goto out;
		if (!px_budget_may_read(c))
			return 0;
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
	if (*bytes > (4u << 20) && *cap < PIPE_BIG && px_budget_may_grow(px)) {
		int r = fcntl(p[1], F_SETPIPE_SZ, PIPE_BIG);

		*cap = r > 0 ? (size_t)r : PIPE_BIG / 2;
	}
	while (moved) {
		ssize_t n;

		moved = 0;
		if (!*eof && *pend < *cap && !*full && px_budget_may_read(c)) {
			n = splice(src, NULL, p[1], NULL, *cap - *pend,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				*pend += (size_t)n;
				px_budget_pipe(px, n);
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
				px_budget_pipe(px, -n);
				*bytes += (uint64_t)n;
				*full = 0;
				moved = 1;
			} else if (n < 0 && errno == EAGAIN) {
				/* dst's queue is full: account what it holds */
				if (!measured)
					px_budget_measure(c);
				measured = 1;
			} else if (n < 0 && errno != EINTR) {
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

/* A tunnel the proxy reads: tls_mitm.c moves the bytes, this keeps the lifecycle. */
static void
pump_mitm(struct px_conn *c)
{
	struct px_mitm_io io;

	/* its buffers are charged already; at the bound it waits like the others */
	if (!px_budget_may_read(c)) {
		px_conn_set_watch(c, 0, 0);
		px_conn_set_watch(c, 1, 0);
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
	px_conn_set_watch(c, 0, io.ev_client);
	px_conn_set_watch(c, 1, io.ev_upstream);
}

void
px_tunnel_pump(struct px_conn *c)
{
	uint32_t ec = 0, eu = 0;

	if (c->msg_len > 0) {
		if (px_conn_flush_msg(c) <= 0)
			goto interest;
	}
	if (c->tls_check && first_flight(c) && c->dead)
		return;
	if (c->mitm != NULL) {
		pump_mitm(c);
		return;
	}
	if (!c->tls_check) {
		if (c->up_len > 0 && px_conn_flush_up(c) < 0)
			return;
		if (c->up_len == 0 &&
		    relay_dir(c, c->wc.fd, c->wu.fd, c->p_cu, &c->pend_cu, &c->cap_cu, &c->full_cu,
			      &c->eof_c, &c->shut_u, &c->bytes_up) < 0) {
			px_conn_close(c, "tunnel error");
			return;
		}
	}
	/*
	 * upstream -> client also before the check: the server may speak first;
	 * not on a tunnel the proxy will read (it reads the upstream itself)
	 */
	if (!(c->tls_check && (c->mitm_wanted || c->http_wanted)) &&
	    relay_dir(c, c->wu.fd, c->wc.fd, c->p_uc, &c->pend_uc, &c->cap_uc, &c->full_uc,
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
	if (c->tls_check) {
		if (!c->eof_c && c->in_len < PX_SNI_PEEK_MAX)
			ec |= EPOLLIN;
	} else if (!c->eof_c && c->pend_cu < c->cap_cu && !c->full_cu && c->up_len == 0 &&
		   !c->starved) {
		ec |= EPOLLIN;
	}
	if (c->up_len > 0 || c->pend_cu > 0)
		eu |= EPOLLOUT;
	if (!c->eof_u && c->pend_uc < c->cap_uc && !c->full_uc && c->msg_len == 0 && !c->starved &&
	    !(c->tls_check && (c->mitm_wanted || c->http_wanted)))
		eu |= EPOLLIN;
	px_conn_set_watch(c, 0, ec);
	px_conn_set_watch(c, 1, eu);
}
