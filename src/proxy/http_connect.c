/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.x heads and body framing for the proxy (see http.h). Pure code:
 * it is fuzzed by fuzz/fuzz_http_connect.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy/http.h"

static int
is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Find the end of the head ("\r\n\r\n"); 0 if not there yet. */
static size_t
head_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

struct hdr_state {
	int64_t content_length;
	int te_chunked, te_other, cl_bad;
	int conn_close, conn_keepalive;
	int n_host;
	char host[PX_HOST_MAX + 8];
	int host_bad;
};

static int
token_in_list(const char *v, size_t vl, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < vl) {
		size_t s, e;

		while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < vl && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return 1;
	}
	return 0;
}

/*
 * Validate the header lines in buf[start..end) (end excludes the final
 * CRLF) and collect what the proxy needs. -1 with *why on a bad field.
 */
static int
scan_headers(const char *buf, size_t start, size_t end, struct hdr_state *h, const char **why)
{
	size_t i = start;
	unsigned lines = 0;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	while (i < end) {
		size_t ls = i, le, colon, vs, ve;

		while (i < end && buf[i] != '\r')
			i++;
		if (i + 1 >= end + 2 || buf[i + 1] != '\n') {
			*why = "bare CR in header";
			return -1;
		}
		le = i;
		i += 2;
		if (++lines > PX_HDR_LINES) {
			*why = "too many header fields";
			return -1;
		}
		if (buf[ls] == ' ' || buf[ls] == '\t') {
			*why = "folded header line";
			return -1;
		}
		for (colon = ls; colon < le && buf[colon] != ':'; colon++)
			if (!is_tchar(buf[colon])) {
				*why = "bad header field name";
				return -1;
			}
		if (colon == le || colon == ls) {
			*why = "header line without a name and colon";
			return -1;
		}
		vs = colon + 1;
		while (vs < le && (buf[vs] == ' ' || buf[vs] == '\t'))
			vs++;
		ve = le;
		while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
			ve--;
		for (size_t k = vs; k < ve; k++)
			if (buf[k] == '\0' || buf[k] == '\n' || buf[k] == '\r') {
				*why = "control character in header value";
				return -1;
			}
#define NAME_IS(s) (colon - ls == sizeof(s) - 1 && strncasecmp(buf + ls, s, sizeof(s) - 1) == 0)
		if (NAME_IS("Content-Length")) {
			int64_t v = 0;

			if (ve == vs || ve - vs > 15)
				h->cl_bad = 1;
			for (size_t k = vs; k < ve; k++) {
				if (buf[k] < '0' || buf[k] > '9') {
					h->cl_bad = 1;
					break;
				}
				v = v * 10 + (buf[k] - '0');
			}
			if (h->content_length >= 0 && h->content_length != v)
				h->cl_bad = 1;
			h->content_length = v;
		} else if (NAME_IS("Transfer-Encoding")) {
			if (ve - vs == 7 && strncasecmp(buf + vs, "chunked", 7) == 0 &&
			    !h->te_chunked)
				h->te_chunked = 1;
			else
				h->te_other = 1;
		} else if (NAME_IS("Connection") || NAME_IS("Proxy-Connection")) {
			if (token_in_list(buf + vs, ve - vs, "close"))
				h->conn_close = 1;
			if (token_in_list(buf + vs, ve - vs, "keep-alive"))
				h->conn_keepalive = 1;
		} else if (NAME_IS("Host")) {
			h->n_host++;
			if (ve - vs >= sizeof(h->host))
				h->host_bad = 1;
			else {
				memcpy(h->host, buf + vs, ve - vs);
				h->host[ve - vs] = '\0';
			}
		}
#undef NAME_IS
	}
	return 0;
}

/* "host[:port]" or "[v6][:port]" -> host (no brackets), port. */
static int
split_authority(const char *s, size_t len, char *host, size_t hostlen, uint16_t *port,
		int port_required)
{
	size_t hl;
	const char *hp = s, *colon = NULL;

	if (len == 0)
		return -1;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL)
			return -1;
		hp = s + 1;
		hl = (size_t)(close - hp);
		if ((size_t)(close - s) + 1 < len) {
			if (close[1] != ':')
				return -1;
			colon = close + 1;
		}
	} else {
		colon = memchr(s, ':', len);
		hl = colon ? (size_t)(colon - s) : len;
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	for (size_t i = 0; i < hl; i++) {
		unsigned char c = (unsigned char)hp[i];

		if (c <= ' ' || c == '/' || c == '@' || c == '?' || c == '#' || c == '\\' ||
		    c == '%' || c == 0x7f || (c == ':' && s[0] != '['))
			return -1;
	}
	memcpy(host, hp, hl);
	host[hl] = '\0';
	if (colon != NULL) {
		unsigned long v = 0;
		size_t pl = len - (size_t)(colon + 1 - s);

		if (pl == 0 || pl > 5)
			return -1;
		for (size_t i = 0; i < pl; i++) {
			if (colon[1 + i] < '0' || colon[1 + i] > '9')
				return -1;
			v = v * 10 + (unsigned long)(colon[1 + i] - '0');
		}
		if (v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	} else if (port_required) {
		return -1;
	}
	return 0;
}

static int
req_fail(struct px_http_req *req, int status, const char **why, const char *msg)
{
	req->status = status;
	*why = msg;
	return -1;
}

/*
 * A request head in proxy form (origin == 0: CONNECT or an absolute
 * http:// URL) or, inside a tunnel the proxy reads (origin != 0), in
 * origin form ("/path"), the host then coming from the Host header.
 */
static int
parse_request(const char *buf, size_t len, struct px_http_req *req, const char **why, int origin,
	      uint16_t default_port)
{
	size_t end, line_end, sp1, sp2, ts, tl;
	struct hdr_state h;

	memset(req, 0, sizeof(*req));
	req->content_length = -1;
	*why = NULL;
	end = head_end(buf, len < PX_HDR_MAX ? len : PX_HDR_MAX);
	/* the head only: a body sent with it may hold any byte */
	for (size_t i = 0; i < (end ? end : len < PX_HDR_MAX ? len : PX_HDR_MAX); i++)
		if (buf[i] == '\0')
			return req_fail(req, 400, why, "NUL byte in request head");
	if (end == 0) {
		if (len >= PX_HDR_MAX)
			return req_fail(req, 431, why, "request head too large");
		return 0;
	}
	for (line_end = 0; buf[line_end] != '\r'; line_end++)
		if (buf[line_end] == '\n')
			return req_fail(req, 400, why, "bare LF in request line");
	if (buf[line_end + 1] != '\n')
		return req_fail(req, 400, why, "bare CR in request line");
	/* METHOD SP target SP HTTP/1.x */
	for (sp1 = 0; sp1 < line_end && buf[sp1] != ' '; sp1++)
		if (!is_tchar(buf[sp1]))
			return req_fail(req, 400, why, "bad method");
	if (sp1 == 0 || sp1 >= line_end || sp1 >= sizeof(req->method))
		return req_fail(req, 400, why, "bad request line");
	memcpy(req->method, buf, sp1);
	req->method[sp1] = '\0';
	for (sp2 = sp1 + 1; sp2 < line_end && buf[sp2] != ' '; sp2++)
		if ((unsigned char)buf[sp2] < 0x21 || buf[sp2] == 0x7f)
			return req_fail(req, 400, why, "bad request target");
	if (sp2 >= line_end || sp2 == sp1 + 1)
		return req_fail(req, 400, why, "bad request line");
	if (line_end - sp2 - 1 != 8 || strncmp(buf + sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (buf[sp2 + 8] != '0' && buf[sp2 + 8] != '1'))
		return req_fail(req, 505, why, "only HTTP/1.0 and HTTP/1.1 are supported");
	req->minor = buf[sp2 + 8] - '0';
	ts = sp1 + 1;
	tl = sp2 - ts;

	if (scan_headers(buf, line_end + 2, end - 2, &h, why) < 0)
		return req_fail(req, 400, why, *why);
	if (h.te_other)
		return req_fail(req, 501, why, "unsupported Transfer-Encoding");
	if (h.cl_bad)
		return req_fail(req, 400, why, "bad Content-Length");
	if (h.te_chunked && h.content_length >= 0)
		return req_fail(req, 400, why, "both Content-Length and Transfer-Encoding");
	if (h.n_host > 1 || h.host_bad)
		return req_fail(req, 400, why, "more than one Host header");
	if (req->minor == 1 && h.n_host == 0)
		return req_fail(req, 400, why, "HTTP/1.1 request without Host");

	if (origin) {
		if (strcmp(req->method, "CONNECT") == 0)
			return req_fail(req, 400, why, "CONNECT inside a tunnel");
		if (buf[ts] != '/' && !(tl == 1 && buf[ts] == '*'))
			return req_fail(req, 400, why,
					"expected an origin-form target (/path) inside the tunnel");
		req->path_off = ts;
		req->path_len = tl;
		if (memchr(buf + ts, '#', tl) != NULL)
			return req_fail(req, 400, why, "fragment in request target");
		req->port = default_port;
		if (h.n_host == 1 && split_authority(h.host, strlen(h.host), req->host,
						     sizeof(req->host), &req->port, 0) < 0)
			return req_fail(req, 400, why, "bad Host header");
		req->hdr_len = end;
		req->content_length = h.content_length;
		req->chunked = h.te_chunked;
		req->close = h.conn_close || (req->minor == 0 && !h.conn_keepalive);
		return 1;
	}
	if (strcmp(req->method, "CONNECT") == 0) {
		req->is_connect = 1;
		if (split_authority(buf + ts, tl, req->host, sizeof(req->host), &req->port, 1) < 0)
			return req_fail(req, 400, why, "CONNECT target must be host:port");
	} else {
		size_t as, ae;

		if (tl < 7 || strncasecmp(buf + ts, "http://", 7) != 0) {
			if (tl >= 8 && strncasecmp(buf + ts, "https://", 8) == 0)
				return req_fail(req, 400, why, "https:// targets must use CONNECT");
			return req_fail(req, 400, why,
					"not a proxy request (absolute http:// URL expected)");
		}
		as = ts + 7;
		for (ae = as; ae < ts + tl && buf[ae] != '/' && buf[ae] != '?' && buf[ae] != '#';
		     ae++)
			;
		req->port = 80;
		if (memchr(buf + as, '@', ae - as) != NULL)
			return req_fail(req, 400, why, "user info in URL");
		if (split_authority(buf + as, ae - as, req->host, sizeof(req->host), &req->port,
				    0) < 0)
			return req_fail(req, 400, why, "bad host in URL");
		req->path_off = ae;
		req->path_len = ts + tl - ae;
		if (memchr(buf + ae, '#', req->path_len) != NULL)
			return req_fail(req, 400, why, "fragment in request target");
	}
	if (h.n_host == 1) {
		char hh[PX_HOST_MAX];
		uint16_t hp = req->is_connect ? req->port : 80;

		if (split_authority(h.host, strlen(h.host), hh, sizeof(hh), &hp, 0) < 0 ||
		    strcasecmp(hh, req->host) != 0 || hp != req->port)
			return req_fail(req, 400, why,
					"Host header does not match the request target");
	}
	req->hdr_len = end;
	req->content_length = h.content_length;
	req->chunked = h.te_chunked;
	req->close = h.conn_close || (req->minor == 0 && !h.conn_keepalive);
	return 1;
}

int
px_http_parse_request(const char *buf, size_t len, struct px_http_req *req, const char **why)
{
	return parse_request(buf, len, req, why, 0, 0);
}

int
px_http_parse_origin_request(const char *buf, size_t len, uint16_t default_port,
			     struct px_http_req *req, const char **why)
{
	return parse_request(buf, len, req, why, 1, default_port);
}

ssize_t
px_http_origin_target(const char *buf, const struct px_http_req *req, char *out, size_t outlen)
{
	/* an empty path is "/" (RFC 9112 3.2.1); a query stays after it */
	int n = snprintf(out, outlen, "%s%.*s",
			 req->path_len == 0 || buf[req->path_off] == '?' ? "/" : "",
			 (int)req->path_len, buf + req->path_off);

	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return n;
}

ssize_t
px_http_rewrite_request(const char *buf, const struct px_http_req *req, char *out, size_t outlen)
{
	size_t o = 0, i;
	ssize_t t;
	int n;

	n = snprintf(out, outlen, "%s ", req->method);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	t = px_http_origin_target(buf, req, out + n, outlen - (size_t)n);
	if (t < 0)
		return -1;
	o = (size_t)n + (size_t)t;
	n = snprintf(out + o, outlen - o, " HTTP/1.%d\r\n", req->minor);
	if (n < 0 || (size_t)n >= outlen - o)
		return -1;
	o += (size_t)n;
	for (i = 0; buf[i] != '\n'; i++)
		;
	i++;
	while (i < req->hdr_len - 2) {
		size_t ls = i, le;

		while (buf[i] != '\n')
			i++;
		le = ++i;
#define DROP(s) (le - ls > sizeof(s) - 1 && strncasecmp(buf + ls, s ":", sizeof(s)) == 0)
		if (DROP("Proxy-Connection") || DROP("Proxy-Authorization") || DROP("Keep-Alive"))
			continue;
#undef DROP
		if (o + (le - ls) >= outlen)
			return -1;
		memcpy(out + o, buf + ls, le - ls);
		o += le - ls;
	}
	if (o + 2 >= outlen)
		return -1;
	memcpy(out + o, "\r\n", 2);
	return (ssize_t)(o + 2);
}

int
px_http_parse_response(const char *buf, size_t len, int head_request, struct px_http_resp *resp,
		       const char **why)
{
	size_t end, line_end;
	struct hdr_state h;

	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
	*why = NULL;
	end = head_end(buf, len < PX_HDR_MAX ? len : PX_HDR_MAX);
	if (end == 0) {
		if (len >= PX_HDR_MAX) {
			*why = "response head too large";
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < end; i++)
		if (buf[i] == '\0') {
			*why = "NUL byte in response head";
			return -1;
		}
	for (line_end = 0; buf[line_end] != '\r'; line_end++)
		;
	if (buf[line_end + 1] != '\n' || line_end < 12 || strncmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
	    (line_end > 12 && buf[12] != ' ')) {
		*why = "bad status line";
		return -1;
	}
	resp->minor = buf[7] - '0';
	resp->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (scan_headers(buf, line_end + 2, end - 2, &h, why) < 0)
		return -1;
	if (h.te_other || h.cl_bad || (h.te_chunked && h.content_length >= 0)) {
		*why = "ambiguous response framing";
		return -1;
	}
	resp->hdr_len = end;
	resp->content_length = h.content_length;
	resp->chunked = h.te_chunked;
	resp->close = h.conn_close || (resp->minor == 0 && !h.conn_keepalive);
	if (head_request || resp->status / 100 == 1 || resp->status == 204 || resp->status == 304) {
		resp->content_length = 0;
		resp->chunked = 0;
	}
	return 1;
}

/* ---- body framing ---- */

enum {
	CH_SIZE = 0, /* hex digits */
	CH_EXT,      /* ";ext" up to CR */
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER_START, /* at the start of a trailer line */
	CH_TRAILER_LINE,
	CH_TRAILER_LF, /* CR seen at the start of a line: end */
	CH_LINE_LF,    /* CR seen inside a trailer line */
};

void
px_body_init(struct px_body *b, enum px_body_mode mode, uint64_t length)
{
	memset(b, 0, sizeof(*b));
	b->mode = mode;
	b->remain = length;
	if (mode == PX_BODY_NONE || (mode == PX_BODY_LENGTH && length == 0))
		b->done = 1;
}

int
px_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t
px_body_feed(struct px_body *b, const char *buf, size_t len)
{
	size_t i = 0;

	if (b->done)
		return 0;
	switch (b->mode) {
	case PX_BODY_NONE:
		b->done = 1;
		return 0;
	case PX_BODY_EOF:
		return (ssize_t)len;
	case PX_BODY_LENGTH:
		if (len >= b->remain) {
			size_t n = (size_t)b->remain;

			b->remain = 0;
			b->done = 1;
			return (ssize_t)n;
		}
		b->remain -= len;
		return (ssize_t)len;
	case PX_BODY_CHUNKED:
		break;
	default:
		return -1;
	}
	while (i < len && !b->done) {
		char c = buf[i];

		switch (b->state) {
		case CH_SIZE: {
			int v = px_hexval(c);

			if (v >= 0) {
				if (++b->digits > 15)
					return -1;
				b->remain = b->remain * 16 + (uint64_t)v;
				i++;
				break;
			}
			if (b->digits == 0)
				return -1;
			if (c == ';' || c == ' ' || c == '\t') {
				b->state = CH_EXT;
				i++;
			} else if (c == '\r') {
				b->state = CH_SIZE_LF;
				i++;
			} else {
				return -1;
			}
			break;
		}
		case CH_EXT:
			if (c == '\r')
				b->state = CH_SIZE_LF;
			else if (c == '\n' || c == '\0')
				return -1;
			i++;
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return -1;
			i++;
			b->digits = 0;
			if (b->remain == 0) {
				b->last = 1;
				b->state = CH_TRAILER_START;
			} else {
				b->state = CH_DATA;
			}
			break;
		case CH_DATA: {
			size_t n = len - i;

			if (n > b->remain)
				n = (size_t)b->remain;
			b->remain -= n;
			i += n;
			if (b->remain == 0)
				b->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (c != '\r')
				return -1;
			b->state = CH_DATA_LF;
			i++;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				return -1;
			b->state = CH_SIZE;
			i++;
			break;
		case CH_TRAILER_START:
			b->state = c == '\r' ? CH_TRAILER_LF : CH_TRAILER_LINE;
			if (c == '\n')
				return -1;
			i++;
			break;
		case CH_TRAILER_LINE:
			if (c == '\r')
				b->state = CH_LINE_LF;
			else if (c == '\n' || c == '\0')
				return -1;
			i++;
			break;
		case CH_LINE_LF:
			if (c != '\n')
				return -1;
			b->state = CH_TRAILER_START;
			i++;
			break;
		case CH_TRAILER_LF:
			if (c != '\n')
				return -1;
			b->done = 1;
			i++;
			break;
		default:
			return -1;
		}
	}
	return (ssize_t)i;
}

const char *
px_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

ssize_t
px_http_answer(char *out, size_t outlen, int status, const char *tag, const char *body)
{
	size_t bl = strlen(body);
	int n;

	if (tag == NULL)
		tag = status == 403 ? "denied" : "error";
	for (;;) {
		n = snprintf(out, outlen,
			     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\nX-Cordon: %s\r\n\r\n",
			     status, px_http_reason(status), bl, tag);
		if (n < 0 || (size_t)n >= outlen)
			return -1;
		if ((size_t)n + bl < outlen)
			break;
		/* cut the body: its length changes the head, so once more */
		bl = outlen - (size_t)n - 1;
	}
	memcpy(out + n, body, bl);
	out[(size_t)n + bl] = '\0';
	return (ssize_t)((size_t)n + bl);
}

void
px_xfer_request(struct px_xfer *x, const struct px_http_req *req)
{
	x->head_req = strcmp(req->method, "HEAD") == 0;
	x->req_close = req->close;
	if (req->chunked)
		px_body_init(&x->req_body, PX_BODY_CHUNKED, 0);
	else if (req->content_length > 0)
		px_body_init(&x->req_body, PX_BODY_LENGTH, (uint64_t)req->content_length);
	else
		px_body_init(&x->req_body, PX_BODY_NONE, 0);
	x->rq = x->req_body.done ? PX_RQ_WAIT : PX_RQ_BODY;
	x->rs = PX_RS_HEAD;
	x->status = 0;
}

int
px_xfer_response(struct px_xfer *x, const char *buf, size_t *fwd, size_t *len, const char **why)
{
	while (*fwd < *len) {
		if (x->rs == PX_RS_HEAD) {
			struct px_http_resp resp;
			int r = px_http_parse_response(buf + *fwd, *len - *fwd, x->head_req, &resp,
						       why);

			if (r == 0)
				return 0;
			if (r < 0)
				return -1;
			*fwd += resp.hdr_len;
			x->resp_close = resp.close;
			if (resp.status == 101) {
				x->upgraded = 1;
				px_body_init(&x->resp_body, PX_BODY_EOF, 0);
			} else if (resp.chunked) {
				px_body_init(&x->resp_body, PX_BODY_CHUNKED, 0);
			} else if (resp.content_length >= 0) {
				px_body_init(&x->resp_body, PX_BODY_LENGTH,
					     (uint64_t)resp.content_length);
			} else {
				px_body_init(&x->resp_body, PX_BODY_EOF, 0);
				x->resp_close = 1;
			}
			x->rs =
			    resp.status / 100 == 1 && resp.status != 101 ? PX_RS_HEAD : PX_RS_BODY;
			if (x->rs == PX_RS_HEAD)
				continue;
			x->status = resp.status;
			if (x->upgraded) {
				px_body_init(&x->req_body, PX_BODY_EOF, 0);
				x->rq = PX_RQ_BODY;
			}
		}
		if (x->rs == PX_RS_BODY) {
			ssize_t n = px_body_feed(&x->resp_body, buf + *fwd, *len - *fwd);

			if (n < 0) {
				*why = "bad chunked response";
				return -1;
			}
			*fwd += (size_t)n;
			if (x->resp_body.done)
				x->rs = PX_RS_DONE;
		}
		if (x->rs == PX_RS_DONE) {
			/* bytes after a complete response: the upstream is confused */
			if (*fwd < *len) {
				*len = *fwd;
				x->resp_close = 1;
			}
			break;
		}
	}
	if (x->rs == PX_RS_BODY && x->resp_body.done)
		x->rs = PX_RS_DONE;
	return 0;
}
