/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_TLS_MITM_H
#define CORDON_PROXY_TLS_MITM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/http.h"
#include "proxy/proxy.h"

/*
 * Internal to proxy/: reading the requests of a tunnel. A CONNECT or
 * SOCKS5 tunnel to a host that network.rules or credentials.inject name is
 * not spliced: the proxy terminates the client's TLS with a leaf
 * certificate of the interception CA, opens its own TLS to the upstream
 * (verified against the host's trust store, name checked), and relays
 * HTTP/1.1 between the two, one request at a time, applying the rules and
 * setting the injected headers. ALPN offers http/1.1 only. A client that
 * speaks plain HTTP in the tunnel is read the same way, without TLS and
 * without injection. tunnel.c hands a tunnel over once the client's first
 * flight passed the ClientHello check; conn.c owns the sockets and the
 * lifecycle; a struct px_mitm is one connection's reader, driven by
 * px_mitm_pump.
 */

struct px_mitm_ctx; /* per proxy: CA, rules, injected headers, TLS contexts */
struct px_mitm;     /* per connection */

/* Free the proxy's interception state; accepts NULL. */
void px_mitm_ctx_free(struct px_mitm_ctx *x);

/*
 * Does the proxy read tunnels to norm:port: a rule, an injection or
 * tls.inspect names it, and tls.bypass does not?
 */
bool px_mitm_wanted(const struct px_proxy *px, const char *norm, uint16_t port);

struct px_mitm_target {
	const char *host; /* normalised name or address text */
	uint16_t port;
	int is_ip;
	enum px_proto proto; /* how the client asked (CONNECT, SOCKS5, captured) */
	const char *addr;    /* the upstream address connected to */
	const char *rule;    /* the domain rule that allowed the tunnel */
};

/*
 * Start reading a tunnel whose upstream is connected (cfd, ufd: owned by
 * the caller, non-blocking). early: bytes the client sent after its
 * request (a pipelined ClientHello), copied. NULL with *why on failure.
 */
struct px_mitm *px_mitm_new(struct px_proxy *px, int cfd, int ufd, const struct px_mitm_target *t,
			    const char *early, size_t early_len, const char **why);

enum px_mitm_result {
	PX_MITM_OK = 0, /* go on; wait for io's events */
	PX_MITM_CLOSE,  /* close the connection now (io->reason) */
	PX_MITM_LINGER, /* an answer was sent: read the client to EOF, then close */
};

struct px_mitm_io {
	uint32_t ev_client, ev_upstream; /* epoll events to wait for */
	int progress;                    /* bytes moved (the idle timer restarts) */
	const char *reason;              /* CLOSE, LINGER: why; lives as long as m */
};

/* Move what can be moved; counts relayed plaintext into bytes_up / bytes_dn. */
enum px_mitm_result px_mitm_pump(struct px_mitm *m, struct px_mitm_io *io, uint64_t *bytes_up,
				 uint64_t *bytes_dn);

/*
 * What one connection's reader holds at most (its buffers, the client's
 * read-ahead, both TLS sides), in bytes: charged to the session's buffer
 * budget when a tunnel is handed over (budget.c).
 */
size_t px_mitm_footprint(void);

/* Was the client's TLS terminated (the tunnel is intercepted)? */
bool px_mitm_intercepted(const struct px_mitm *m);

/* Free m (not the sockets); accepts NULL. */
void px_mitm_free(struct px_mitm *m);

/*
 * Write the record of the request in flight, if any (the connection is
 * closing): up, dn are the connection's byte counts. Accepts NULL.
 */
void px_mitm_end(struct px_mitm *m, uint64_t up, uint64_t dn);

/*
 * A plain-HTTP forward (absolute-form request req in buf) checked against
 * network.rules: 1 when refused (the 403 body written to body, the record
 * emitted), 0 when it may go on, with the text of the rule that allowed it
 * in rule[rlen] ("" when no rule names the host).
 */
int px_http_guard(struct px_proxy *px, const struct px_http_req *req, const char *buf, char *body,
		  size_t len, char *rule, size_t rlen);

#endif
