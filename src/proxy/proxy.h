/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_PROXY_H
#define CORDON_PROXY_PROXY_H

#include <stdint.h>

#include "common/err.h"
#include "proxy/allow.h"
#include "proxy/loop.h"

/*
 * The egress proxy: HTTP CONNECT, absolute-form plain HTTP and SOCKS5 (told
 * apart by the first byte) on the same listening socket(s), enforcing the
 * domain policy, resolving names itself and refusing loopback, private,
 * link-local and metadata addresses after resolution. Runs on a px_loop
 * owned by the caller (the supervisor's, or `cordon proxy`'s own).
 *
 * What a sandbox can make the host hold is bounded: max_conns connections
 * are served (PX_CONN_REFUSING more are accepted only to be told so, then
 * accepting pauses), and max_buffered bytes in all (user-space buffers,
 * splice pipes, and the socket queues of stalled connections, measured
 * every PX_SWEEP_MS: beyond it no connection reads more, and the stalled
 * connections holding the most are closed).
 */
struct px_proxy;

enum px_proto {
	PX_PROTO_CONNECT = 0,
	PX_PROTO_HTTP,
	PX_PROTO_SOCKS5,
	PX_PROTO_UNKNOWN,
	PX_PROTO_TRANSPARENT, /* a captured connection (capture.c), for records */
	PX_PROTO_DNS,         /* a query to the sandbox's DNS stub, for records */
};

/* One record per connection (per upstream target for keep-alive HTTP). */
struct px_event {
	const char *host; /* as requested ("" when no request was read) */
	uint16_t port;
	const char *addr; /* address connected to, "" if none */
	enum px_proto proto;
	int allowed;         /* the policy allowed it */
	const char *rule;    /* the rule that decided, "" for the default deny */
	uint64_t bytes_up;   /* sandbox -> upstream */
	uint64_t bytes_down; /* upstream -> sandbox */
	uint64_t duration_ms;
	const char *reason; /* why it ended ("closed", "denied: ...", ...) */
	int cut;            /* allowed, but closed by a bound (proxy.buffers) */
	int unlisted;       /* refused because no rule names the host (or its port) */
	/* One request the proxy read (allowed, or refused by network.rules): */
	const char *method; /* its method, NULL for a connection's record */
	const char *path;   /* its path (no query), NULL likewise */
	int status;         /* the response's status (403 for a refusal), 0 if none */
	int intercepted;    /* the proxy read the tunnel (TLS terminated) */
};

typedef void (*px_decision_fn)(void *arg, const struct px_event *ev);

/*
 * A per-session bound was reached (at most one report per bound per
 * PX_LIMIT_REPORT_MS): what the sandbox does beyond it is refused or cut,
 * and the host's memory stays bounded.
 */
struct px_limit_event {
	const char *limit;   /* "proxy.connections", "proxy.buffers" */
	uint64_t max;        /* the bound */
	uint64_t value;      /* what was reached */
	const char *message; /* one sentence for the log */
};

typedef void (*px_limit_fn)(void *arg, const struct px_limit_event *ev);

/* A credential was set on a request (once per connection and credential). */
typedef void (*px_inject_fn)(void *arg, const char *name, const char *host, const char *header);

/* Compile-time limits. */
#define PX_CONN_MAX           16384       /* highest max_conns accepted */
#define PX_CONN_DEFAULT       1024        /* concurrent connections served by default */
#define PX_CONN_REFUSING      64          /* more held only to answer "too many" */
#define PX_BUF_DEFAULT        (64u << 20) /* bytes buffered for all connections */
#define PX_BUF_MIN            (1u << 20)
#define PX_SOCKBUF_CLIENT     (128u << 10) /* SO_RCVBUF/SO_SNDBUF, sandbox side */
#define PX_TIMEOUT_REQUEST_MS 30000        /* to receive a request head */
#define PX_TIMEOUT_CONNECT_MS 10000        /* resolution plus TCP connect */
#define PX_TIMEOUT_HELLO_MS   10000        /* to complete a TLS ClientHello once begun */
#define PX_TIMEOUT_IDLE_MS    600000       /* a tunnel with no traffic either way */
#define PX_SWEEP_MS           250          /* socket memory check of stalled connections */
#define PX_LIMIT_REPORT_MS    60000        /* one limit report per bound per minute */

struct px_config {
	px_decision_fn on_decision; /* may be NULL */
	void *on_decision_arg;
	px_limit_fn on_limit;    /* may be NULL; called with on_decision_arg */
	int verbose;             /* explain denials on stderr */
	const char *allow_cmd;   /* hint in denials, "cordon allow" by default */
	int test_allow_loopback; /* test-only: loopback upstreams allowed */
	unsigned max_conns;      /* 0: PX_CONN_DEFAULT; at most PX_CONN_MAX */
	uint64_t max_buffered;   /* 0: PX_BUF_DEFAULT; at least PX_BUF_MIN */
	px_inject_fn on_inject;  /* may be NULL; called with on_decision_arg */
};

/*
 * Create a proxy on loop. cfg is copied. The resolver reads the system
 * configuration; the host's own addresses are collected (getifaddrs) to be
 * refused; SIGPIPE is ignored from then on (splice has no MSG_NOSIGNAL) and
 * the soft fd limit is raised to the hard one. Call after any fork of the
 * sandbox. NULL with err on failure.
 */
struct px_proxy *px_proxy_new(struct px_loop *loop, const struct px_config *cfg,
			      struct cordon_err *err);

/* Close every connection and listener, free the proxy. Accepts NULL. */
void px_proxy_free(struct px_proxy *px);

/*
 * Add a listening socket (already bound and listen()ed; the proxy takes
 * ownership and makes it non-blocking). 0 or -1 with err.
 */
int px_proxy_add_listener(struct px_proxy *px, int fd, struct cordon_err *err);

/*
 * Add a rule (allow.h grammar); deny != 0 for a deny rule. Usable while
 * running: later connections see it. 0 or -1 with err.
 */
int px_proxy_add_rule(struct px_proxy *px, const char *pattern, int deny, struct cordon_err *err);

/* Test-only resolver override "HOST:ADDR". 0 or -1 with err. */
int px_proxy_add_resolve(struct px_proxy *px, const char *spec, struct cordon_err *err);

/*
 * HTTP method/path rules (network.rules, see http_rules.h): host pattern,
 * NULL-terminated methods and paths (NULL or empty: any), origin for
 * messages (may be NULL). Requests to a host with rules are read: plain
 * HTTP forwards directly, tunnels by interception (needs the CA). 0 or -1.
 */
int px_proxy_add_http_rule(struct px_proxy *px, const char *host, const char *const *methods,
			   const char *const *paths, const char *origin, struct cordon_err *err);

/*
 * A header set on every request to host read inside TLS
 * (credentials.inject): header: prefix + secret. name is the variable or
 * the file, for the audit. The secret is copied and wiped when the proxy is freed.
 * 0 or -1 with err (never naming the value).
 */
int px_proxy_add_inject(struct px_proxy *px, const char *host, const char *header, const char *name,
			const char *prefix, const char *secret, struct cordon_err *err);

/*
 * The same for HTTP Basic: Authorization: Basic base64(user:secret).
 * name is the variable or file, for the audit. 0 or -1 with err.
 */
int px_proxy_add_inject_basic(struct px_proxy *px, const char *host, const char *name,
			      const char *user, const char *secret, struct cordon_err *err);

#define PX_TLS_HOSTS_MAX 1024u /* tls.inspect, tls.bypass hosts each (as the policy's limit) */

/*
 * tls.inspect (bypass 0: read tunnels to host even when no rule or
 * injection names it, a record per request) or tls.bypass (bypass 1:
 * never read them; wins over the other lists). host: allow.h's grammar
 * without CIDR. 0, or -1 with err (bad pattern, too many, ENOMEM).
 */
int px_proxy_add_tls_host(struct px_proxy *px, const char *host, int bypass,
			  struct cordon_err *err);

/*
 * Use the interception CA (ca.h) in these files (checked readable now;
 * set once). OpenSSL and the CA are loaded by a thread started here, off
 * the path of the start and of the loop; the first intercepted tunnel
 * waits for it. A CA that fails to load refuses interception, said on
 * stderr and in each refused tunnel's record. 0 or -1 with err. Call it
 * after any fork (it starts a thread).
 */
int px_proxy_set_ca(struct px_proxy *px, const char *crt_path, const char *key_path,
		    struct cordon_err *err);

/*
 * Transparent capture (capture.c): serve the sandbox's capture listeners
 * (tcp4, tcp6: redirected TCP, the original destination read with
 * SO_ORIGINAL_DST) and its DNS stub (dns: UDP on 127.0.0.1:53; dns_tcp:
 * the TCP listener on the same address, length-prefixed queries). The
 * stub answers names the policy allows with synthetic addresses from
 * 198.18.0.0/15 that map back to the name, and names it refuses with
 * NXDOMAIN; it never sends a query anywhere. A captured connection is
 * handled as a CONNECT to NAME:PORT (or ADDRESS:PORT for an address that
 * is not synthetic). Takes ownership of the fds (-1 for none). NULL with
 * err. Free with px_capture_free before px_proxy_free.
 */
struct px_capture;
struct px_capture *px_capture_new(struct px_proxy *px, int tcp4, int tcp6, int dns, int dns_tcp,
				  struct cordon_err *err);
void px_capture_free(struct px_capture *cap);

/* Number of open client connections (for tests and benches). */
unsigned px_proxy_n_conns(const struct px_proxy *px);

#endif
