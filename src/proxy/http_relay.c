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

void
px_http_relay_request(struct px_conn *c, const struct px_http_req *req)
{
	ssize_t n;

	if (px_budget_buf(c, &c->up, &c->up_cap, BUF_CAP) < 0 ||
	    px_budget_buf(c, &c->rbuf, &c->r_cap, BUF_CAP) < 0)
		return;
	n = px_http_rewrite_request(c->in, req, c->up, c->up_cap);
	if (n < 0) {
		px_conn_http_answer(c, 431, "cordon: request head too large\n");
		return;
	}
	c->up_len = (size_t)n;
	c->up_off = 0;
	px_conn_consume_in(c, req->hdr_len);
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

/* Classify upstream bytes into response heads and bodies. */
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
				px_conn_verbose(c, "bad response from %s: %s", c->norm, why);
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
		if ((c->rq == RQ_BODY || c->rq == RQ_WAIT) && !c->client_eof &&
		    c->in_len < BUF_CAP) {
			int r = px_conn_read_client(c);

			if (r < 0 && c->dead)
				return;
			if (r > 0)
				progress = 1;
		}
		if (c->rq == RQ_BODY && c->in_fwd < c->in_len) {
			ssize_t n =
			    px_body_feed(&c->req_body, c->in + c->in_fwd, c->in_len - c->in_fwd);

			if (n < 0) {
				px_conn_http_answer(c, 400, "cordon: bad chunked request body\n");
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
		if (c->rs != RS_DONE && c->r_len < c->r_cap && c->wu.fd >= 0) {
			ssize_t n = recv(c->wu.fd, c->rbuf + c->r_len, c->r_cap - c->r_len, 0);

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
					px_conn_close_upstream(c);
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
				px_conn_http_head(c);
				progress = 1;
				if (c->state != PX_STATE_TUNNEL)
					return;
			}
		}
		if (c->rq == RQ_HEAD && c->rs == RS_HEAD && !c->client_eof && c->in_len < BUF_CAP) {
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
	if ((c->rq != RQ_HEAD || c->rs == RS_HEAD) && !c->client_eof && c->in_len < BUF_CAP)
		ec |= EPOLLIN;
	if (c->up_len > 0 || c->in_fwd > 0)
		eu |= EPOLLOUT;
	if (c->rs != RS_DONE && c->r_len < c->r_cap)
		eu |= EPOLLIN;
	px_conn_set_watch(c, 0, ec);
	px_conn_set_watch(c, 1, eu);
}
