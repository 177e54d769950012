/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_HTTP_H
#define CORDON_PROXY_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxy/allow.h"

/*
 * HTTP/1.x parsing for the proxy: request heads (CONNECT authority-form and
 * absolute-form http://), response heads, and a streaming body framer
 * (Content-Length and chunked). Pure: no syscalls, no allocation. Strict:
 * anything that could be read two ways (CL with TE, differing CLs, obs-fold,
 * bare CR or LF, NUL, unknown transfer codings) is refused.
 */
#define PX_HDR_MAX   16384 /* request or response head, bytes */
#define PX_HDR_LINES 128   /* header fields per head */

struct px_http_req {
	char method[24];
	int is_connect;
	char host[PX_HOST_MAX]; /* as in the target, brackets removed; not normalised */
	uint16_t port;
	size_t path_off, path_len; /* origin-form path+query inside buf (absolute-form) */
	int minor;                 /* HTTP/1.<minor> */
	size_t hdr_len;            /* bytes of the head, final CRLF included */
	int64_t content_length;    /* -1: none */
	int chunked;
	int close;  /* client wants the connection closed after this */
	int status; /* on error: the status to answer (400, 431, 501) */
};

struct px_http_resp {
	int status;
	int minor;
	size_t hdr_len;
	int64_t content_length;
	int chunked;
	int close;
};

/*
 * Parse a request head at the start of buf[0..len). Returns 1 when a whole
 * head was parsed (req filled), 0 when more bytes are needed, -1 when the
 * request is malformed or unsupported (req->status and *why set).
 */
int px_http_parse_request(const char *buf, size_t len, struct px_http_req *req, const char **why);

/*
 * Parse an origin-form request head ("GET /path HTTP/1.1"), as a client
 * sends it inside a tunnel the proxy reads (TLS interception). The same
 * strictness as above; CONNECT and absolute-form targets are refused.
 * req->host and req->port come from the Host header ("" and default_port
 * without one); path_off/path_len cover the whole target. Returns 1, 0 or
 * -1 like px_http_parse_request.
 */
int px_http_parse_origin_request(const char *buf, size_t len, uint16_t default_port,
				 struct px_http_req *req, const char **why);

/*
 * Write the head to send upstream for a parsed absolute-form request:
 * origin-form request line, hop-by-hop proxy headers (Proxy-Connection,
 * Proxy-Authorization, Keep-Alive) removed. Returns its length, or -1 if it
 * does not fit in outlen.
 */
ssize_t px_http_rewrite_request(const char *buf, const struct px_http_req *req, char *out,
				size_t outlen);

/*
 * Parse a response head. head_request: the request was HEAD (no body).
 * Returns 1 parsed, 0 need more, -1 malformed (*why set).
 */
int px_http_parse_response(const char *buf, size_t len, int head_request, struct px_http_resp *resp,
			   const char **why);

enum px_body_mode {
	PX_BODY_NONE = 0, /* no body: done at once */
	PX_BODY_LENGTH,   /* Content-Length bytes */
	PX_BODY_CHUNKED,
	PX_BODY_EOF, /* until the peer closes (responses only) */
};

struct px_body {
	enum px_body_mode mode;
	uint64_t remain; /* LENGTH: bytes left; CHUNKED: bytes left in chunk */
	int state;       /* chunked parser state */
	unsigned digits;
	int last; /* the zero-size chunk was seen */
	int done;
};

/* Start framing a body. */
void px_body_init(struct px_body *b, enum px_body_mode mode, uint64_t length);

/*
 * Feed bytes that follow the head. Returns how many of them belong to the
 * body (the rest is the next message), or -1 on a chunked syntax error.
 * Sets b->done once the body is complete.
 */
ssize_t px_body_feed(struct px_body *b, const char *buf, size_t len);

/* The standard reason phrase for a status code ("Forbidden"). */
const char *px_http_reason(int status);

#define PX_ANSWER_MAX 8192 /* an answer of the proxy's own, head and body */

/*
 * An answer of the proxy's own (an error, a refusal), head and text/plain
 * body, into out: the status and its reason phrase, Content-Length,
 * Connection: close, and X-Cordon: tag ("denied", "limit", "error"; NULL:
 * "denied" for 403, else "error"). The body is cut to fit. Returns the
 * length, or -1 when not even the head fits. Pure; safe after fork.
 */
ssize_t px_http_answer(char *out, size_t outlen, int status, const char *tag, const char *body);

/*
 * The origin-form target of a parsed request in buf ("/path?query"; an
 * absolute-form URL without a path asks for "/", before its query too),
 * into out, NUL-terminated. Its length, or -1 when it does not fit.
 */
ssize_t px_http_origin_target(const char *buf, const struct px_http_req *req, char *out,
			      size_t outlen);

/* The value of a hex digit, or -1. */
int px_hexval(char c);

/*
 * One request/response exchange relayed by the proxy (plain HTTP, or inside
 * a tunnel it reads): where each side stands and how its body is framed.
 */
enum px_xfer_rq { PX_RQ_HEAD = 0, PX_RQ_BODY, PX_RQ_WAIT };
enum px_xfer_rs { PX_RS_HEAD = 0, PX_RS_BODY, PX_RS_DONE };

struct px_xfer {
	enum px_xfer_rq rq;
	enum px_xfer_rs rs;
	struct px_body req_body, resp_body;
	int head_req, req_close, resp_close, upgraded;
	int status; /* the final response's status, 0 before its head */
};

/* The head of req was sent on: frame its body, then wait for the response. */
void px_xfer_request(struct px_xfer *x, const struct px_http_req *req);

/*
 * Classify response bytes buf[*fwd, *len) into heads and bodies, moving
 * *fwd past what may go to the client. Bytes after a complete response are
 * cut off (*len) and the connection is to close (resp_close). 0, or -1 with
 * *why when the response is malformed.
 */
int px_xfer_response(struct px_xfer *x, const char *buf, size_t *fwd, size_t *len,
		     const char **why);

#endif
