/* SPDX-License-Identifier: MIT */
/*
 * Plain HTTP through the proxy (absolute-form requests): each request head
 * is rewritten to origin-form and both bodies are framed (Content-Length,
 * chunked, or to EOF for responses), so that the next request on a
 * keep-alive connection is parsed and checked against the policy like the
 * first. Bytes go through two fixed user-space buffers (c->in, c->rbuf):
 * a side is read only while its buffer has room.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "proxy/conn.h"

#define BUF_CAP PX_HDR_MAX

int
px_http_relay_same_target(struct px_conn *c, const struct px_http_req *req)
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

/* The record of the exchange that just ended (or of none). */
static void
end_record(struct px_conn *c)
{
	px_req_end(c->px, &c->rec, c->norm, c->port, c->addr_str,
		   c->transparent ? PX_PROTO_TRANSPARENT : c->proto, 0, c->xf.status, c->bytes_up,
		   c->bytes_dn);
}

void
px_http_relay_request(struct px_conn *c, const struct px_http_req *req)
{
	char target[PX_HDR_MAX + 2];
	ssize_t n, tl;

	if (px_budget_buf(c, &c->up, &c->up_cap, BUF_CAP) < 0 ||
	    px_budget_buf(c, &c->rbuf, &c->r_cap, BUF_CAP) < 0)
		return;
	n = px_http_rewrite_request(c->in, req, c->up, c->up_cap);
	if (n < 0) {
		px_conn_http_answer(c, 431, "cordon: request head too large\n");
		return;
	}
	tl = px_http_origin_target(c->in, req, target, sizeof(target));
	end_record(c);
	px_req_begin(&c->rec, req->method, target, tl < 0 ? 0 : (size_t)tl,
		     c->rec_rule[0] ? c->rec_rule : c->rule, c->bytes_up, c->bytes_dn);
	c->up_len = (size_t)n;
	c->up_off = 0;
	px_conn_consume_in(c, req->hdr_len);
	px_xfer_request(&c->xf, req);
	c->in_fwd = 0;
}

/* Classify upstream bytes into response heads and bodies. 0, or -1 (closed). */
static int
frame_response(struct px_conn *c)
{
	const char *why = NULL;

	if (px_xfer_response(&c->xf, c->rbuf, &c->r_fwd, &c->r_len, &why) == 0)
		return 0;
	px_conn_verbose(c, "bad response from %s: %s", c->norm, why);
	px_conn_close(c, "bad response from upstream");
	return -1;
}

void
px_http_relay_pump(struct px_conn *c)
{
	uint32_t ec = 0, eu = 0;
	int progress = 1;

	while (progress && !c->dead) {
		progress = 0;
		if (c->msg_len > 0) {
			if (px_conn_flush_msg(c) <= 0)
				break;
		}
		if (c->state != PX_STATE_TUNNEL)
			return;
		/* client -> upstream */
		if (c->up_len > 0 && px_conn_flush_up(c) < 0)
			return;
		if (c->up_len == 0 && c->in_fwd > 0) {
			ssize_t n = px_conn_write_some(c->wu.fd, c->in, c->in_fwd);

			if (n < 0) {
				px_conn_close(c, "upstream write failed");
				return;
			}
			if (n > 0) {
				px_conn_consume_in(c, (size_t)n);
				c->in_fwd -= (size_t)n;
				c->bytes_up += (uint64_t)n;
				progress = 1;
			}
		}
		/* while a response is pending, the next request is only buffered */
		if ((c->xf.rq == PX_RQ_BODY || c->xf.rq == PX_RQ_WAIT) && !c->client_eof &&
		    c->in_len < BUF_CAP) {
			int r = px_conn_read_client(c);

			if (r < 0 && c->dead)
				return;
			if (r > 0)
				progress = 1;
		}
		if (c->xf.rq == PX_RQ_BODY && c->in_fwd < c->in_len) {
			ssize_t n =
			    px_body_feed(&c->xf.req_body, c->in + c->in_fwd, c->in_len - c->in_fwd);

			if (n < 0) {
				px_conn_http_answer(c, 400, "cordon: bad chunked request body\n");
				continue;
			}
			c->in_fwd += (size_t)n;
			if (c->xf.req_body.done)
				c->xf.rq = PX_RQ_WAIT;
		}
		if (c->xf.rq == PX_RQ_BODY && c->client_eof) {
			if (c->xf.upgraded && c->in_fwd == 0 && !c->shut_u) {
				shutdown(c->wu.fd, SHUT_WR);
				c->shut_u = 1;
			} else if (!c->xf.upgraded) {
				px_conn_close(c, "client closed mid-request");
				return;
			}
		}
		/* upstream -> client */
		if (c->r_fwd > 0) {
			ssize_t n = px_conn_write_some(c->wc.fd, c->rbuf, c->r_fwd);

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
		if (c->xf.rs != PX_RS_DONE && c->r_len < c->r_cap && c->wu.fd >= 0) {
			ssize_t n = recv(c->wu.fd, c->rbuf + c->r_len, c->r_cap - c->r_len, 0);

			if (n > 0) {
				c->r_len += (size_t)n;
				progress = 1;
				if (frame_response(c) < 0)
					return;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				if (c->xf.rs == PX_RS_BODY && c->xf.resp_body.mode == PX_BODY_EOF) {
					c->xf.rs = PX_RS_DONE;
					c->xf.resp_close = 1;
				} else if (c->xf.rs == PX_RS_HEAD && c->r_len == 0 &&
					   c->xf.rq == PX_RQ_HEAD) {
					/* idle keep-alive upstream went away */
					c->up_reusable = 0;
					px_conn_close_upstream(c);
				} else {
					px_conn_close(c, "upstream closed mid-response");
					return;
				}
			}
		}
		if (c->xf.rs == PX_RS_DONE && c->r_len == 0) {
			end_record(c);
			if (c->xf.resp_close || c->xf.req_close || c->xf.rq == PX_RQ_BODY ||
			    c->xf.upgraded || (c->client_eof && c->in_len == 0)) {
				shutdown(c->wc.fd, SHUT_WR);
				px_conn_close(c, "closed");
				return;
			}
			/* ready for the next request on this connection */
			c->xf.rq = PX_RQ_HEAD;
			c->xf.rs = PX_RS_HEAD;
			c->last_ms = px_now_ms();
			if (c->in_len > 0) {
				px_conn_http_head(c);
				progress = 1;
				if (c->state != PX_STATE_TUNNEL)
					return;
			}
		}
		if (c->xf.rq == PX_RQ_HEAD && c->xf.rs == PX_RS_HEAD && !c->client_eof &&
		    c->in_len < BUF_CAP) {
			int r = px_conn_read_client(c);

			if (r < 0) {
				if (!c->dead)
					px_conn_close(c, "closed");
				return;
			}
			if (r > 0) {
				px_conn_http_head(c);
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
	if ((c->xf.rq != PX_RQ_HEAD || c->xf.rs == PX_RS_HEAD) && !c->client_eof &&
	    c->in_len < BUF_CAP)
		ec |= EPOLLIN;
	if (c->up_len > 0 || c->in_fwd > 0)
		eu |= EPOLLOUT;
	if (c->xf.rs != PX_RS_DONE && c->r_len < c->r_cap)
		eu |= EPOLLIN;
	px_conn_set_watch(c, 0, ec);
	px_conn_set_watch(c, 1, eu);
}
