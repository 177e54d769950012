/* SPDX-License-Identifier: MIT */
/*
 * Reading tunnels (see tls_mitm.h): TLS termination towards the client,
 * TLS towards the upstream, and the HTTP/1.1 relay between them, with the
 * method/path rules and the injected credentials. Also the rules' check on
 * plain-HTTP forwards.
 *
 * One connection goes SNIFF (is the client speaking TLS?) -> HANDSHAKE
 * (both sides at once; an upstream that fails verification is remembered
 * and answered with a 502 page once the client's handshake is done) ->
 * HTTP (request heads parsed one at a time, bodies framed both ways, the
 * next request only after the previous response) -> an answer of the
 * proxy's own (403, 502) ends it.
 *
 * The client's TLS reads from a memory BIO fed from its socket, so that
 * bytes the client sent with its CONNECT can be handed in first; writes go
 * straight to the socket. The upstream's TLS uses its socket both ways.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/ossl.h" /* first: OpenSSL from libssl.so.3 */

#include "proxy/ca.h"
#include "proxy/conn.h"
#include "proxy/http_rules.h"
#include "proxy/inject.h"
#include "proxy/tls_mitm.h"

#define MITM_BUF  32768               /* plaintext each way */
#define UP_BUF    (PX_HDR_MAX + 8192) /* a rewritten head, injected fields added */
#define RBIO_CAP  32768               /* client ciphertext read ahead */
#define MSG_MAX   PX_ANSWER_MAX       /* the proxy's own answers */
#define SSL_EST   (40u << 10)         /* one TLS side: record buffers and state */
#define INJ_WORDS ((PX_INJECT_MAX + 63) / 64)

struct px_mitm_ctx {
	struct px_http_rules rules;
	struct px_injects injects;
	struct px_host_pat *inspect, *bypass; /* tls.inspect, tls.bypass */
	size_t n_inspect, n_bypass;
	char crt[PATH_MAX], key[PATH_MAX]; /* the CA's files ("" until px_proxy_set_ca) */
	pthread_t warm;                    /* loads OpenSSL and the CA beside the loop */
	int warming;                       /* warm runs or ran and is not joined yet */
	struct px_ca *ca;
	SSL_CTX *sctx; /* towards clients */
	SSL_CTX *cctx; /* towards upstreams */
	int ctx_failed;
	char ctx_err[256];
};

enum phase { M_SNIFF = 0, M_HANDSHAKE, M_HTTP };

struct side {
	int fd;
	SSL *ssl;
	int want_write; /* the last TLS call needs the socket writable */
	int hs_done;
	int sock_eof; /* the socket reached its end (client ciphertext fed) */
	int eof;      /* no more plaintext from this side */
	int shut;
};

struct px_mitm {
	struct px_proxy *px;
	struct px_mitm_ctx *x;
	enum phase phase;
	int tls;
	struct side c, u;
	BIO *crbio; /* client ciphertext, fed from c.fd */
	char host[PX_HOST_MAX];
	char addr[64];
	uint16_t port;
	int is_ip;
	enum px_proto proto;
	char rule[256]; /* the domain rule that allowed the tunnel */
	struct px_req_rec rec;

	char *in; /* client plaintext; [0, in_fwd) is body ready for upstream */
	size_t in_len, in_fwd;
	char *up; /* rewritten head for upstream */
	size_t up_len, up_off;
	char *rbuf; /* upstream plaintext; [0, r_fwd) ready for the client */
	size_t r_len, r_fwd;
	char msg[MSG_MAX]; /* the proxy's own answer */
	size_t msg_len, msg_off;
	int answering;

	struct px_xfer xf;

	int up_failed;
	uint64_t injected[INJ_WORDS]; /* entries already on record for this connection */
	char reason[320];
};

static void verbose(const struct px_proxy *px, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
verbose(const struct px_proxy *px, const char *fmt, ...)
{
	va_list ap;

	if (!px->cfg.verbose)
		return;
	fputs("cordon: proxy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- the proxy's interception state ---- */

static struct px_mitm_ctx *
ctx_of(struct px_proxy *px, struct cordon_err *err)
{
	if (px->mitm == NULL) {
		px->mitm = calloc(1, sizeof(*px->mitm));
		if (px->mitm == NULL)
			cordon_err_set(err, ENOMEM, "interception state");
	}
	return px->mitm;
}

void
px_mitm_ctx_free(struct px_mitm_ctx *x)
{
	if (x == NULL)
		return;
	if (x->warming)
		pthread_join(x->warm, NULL);
	px_http_rules_fini(&x->rules);
	px_injects_fini(&x->injects);
	free(x->inspect);
	free(x->bypass);
	px_ca_free(x->ca);
	SSL_CTX_free(x->sctx);
	SSL_CTX_free(x->cctx);
	free(x);
}

int
px_proxy_add_http_rule(struct px_proxy *px, const char *host, const char *const *methods,
		       const char *const *paths, const char *origin, struct cordon_err *err)
{
	struct px_mitm_ctx *x = ctx_of(px, err);

	return x == NULL ? -1 : px_http_rules_add(&x->rules, host, methods, paths, origin, err);
}

int
px_proxy_add_inject(struct px_proxy *px, const char *host, const char *header, const char *name,
		    const char *prefix, const char *secret, struct cordon_err *err)
{
	struct px_mitm_ctx *x = ctx_of(px, err);

	return x == NULL ? -1
			 : px_injects_add(&x->injects, host, header, name, prefix, secret, err);
}

int
px_proxy_add_inject_basic(struct px_proxy *px, const char *host, const char *name, const char *user,
			  const char *secret, struct cordon_err *err)
{
	struct px_mitm_ctx *x = ctx_of(px, err);

	return x == NULL ? -1 : px_injects_add_basic(&x->injects, host, name, user, secret, err);
}

int
px_proxy_add_tls_host(struct px_proxy *px, const char *host, int bypass, struct cordon_err *err)
{
	struct px_mitm_ctx *x = ctx_of(px, err);
	struct px_host_pat **v, *nv;
	size_t *n;

	if (x == NULL)
		return -1;
	v = bypass ? &x->bypass : &x->inspect;
	n = bypass ? &x->n_bypass : &x->n_inspect;
	if (*n >= PX_TLS_HOSTS_MAX)
		return cordon_err_set(err, E2BIG, "more than %u tls.%s hosts", PX_TLS_HOSTS_MAX,
				      bypass ? "bypass" : "inspect");
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (nv == NULL)
		return cordon_err_set(err, ENOMEM, "tls.%s", bypass ? "bypass" : "inspect");
	*v = nv;
	if (px_host_pat_parse(host, &nv[*n]) < 0)
		return cordon_err_set(err, EINVAL, "tls.%s: not a host: %s",
				      bypass ? "bypass" : "inspect", host);
	(*n)++;
	return 0;
}

static bool
pats_cover(const struct px_host_pat *v, size_t n, const char *norm, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (px_host_pat_match(&v[i], norm, port))
			return true;
	return false;
}

static int ctx_load(struct px_mitm_ctx *x);

static void *
warm_main(void *arg)
{
	struct px_mitm_ctx *x = arg;

	if (ctx_load(x) < 0)
		fprintf(stderr, "cordon: proxy: TLS interception is not available: %s\n",
			x->ctx_err);
	return NULL;
}

int
px_proxy_set_ca(struct px_proxy *px, const char *crt_path, const char *key_path,
		struct cordon_err *err)
{
	struct px_mitm_ctx *x = ctx_of(px, err);

	if (x == NULL)
		return -1;
	if (access(crt_path, R_OK) < 0 || access(key_path, R_OK) < 0)
		return cordon_err_set(err, errno, "interception CA %s", crt_path);
	if ((size_t)snprintf(x->crt, sizeof(x->crt), "%s", crt_path) >= sizeof(x->crt) ||
	    (size_t)snprintf(x->key, sizeof(x->key), "%s", key_path) >= sizeof(x->key))
		return cordon_err_set(err, ENAMETOOLONG, "interception CA %s", crt_path);
	if (x->warming || x->ca != NULL)
		return cordon_err_set(err, EBUSY, "the interception CA is set already");
	/*
	 * OpenSSL's first use (the library, its providers, decoding the key)
	 * takes about 20 ms here: in a thread of its own, off the path of the
	 * sandbox's start and of the loop; the first intercepted tunnel joins it.
	 * Nothing else in the process uses this copy of OpenSSL meanwhile.
	 */
	if (pthread_create(&x->warm, NULL, warm_main, x) == 0)
		x->warming = 1;
	return 0;
}

bool
px_mitm_wanted(const struct px_proxy *px, const char *norm, uint16_t port)
{
	const struct px_mitm_ctx *x = px->mitm;

	/*
	 * A bypassed host is never read, whatever else names it: the policy
	 * refuses a bypass that a rule or an injection needs (validate.c), so
	 * only tls.inspect gives way here.
	 */
	return x != NULL &&
	       (px_http_rules_cover(&x->rules, norm, port) ||
		px_injects_cover(&x->injects, norm, port) ||
		pats_cover(x->inspect, x->n_inspect, norm, port)) &&
	       !pats_cover(x->bypass, x->n_bypass, norm, port); /* only for hosts named */
}

static int
on_alpn(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
	unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";

	(void)s;
	(void)arg;
	/* http/1.1 or nothing: h2 would need its own framing here */
	if (SSL_select_next_proto((unsigned char **)(uintptr_t)out, outlen, h11, sizeof(h11) - 1,
				  in, inlen) == OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_OK;
	return SSL_TLSEXT_ERR_NOACK;
}

/* The client's server name must be the tunnel's host (no fronting). */
static int
on_sni(SSL *s, int *alert, void *arg)
{
	struct px_mitm *m = SSL_get_app_data(s);
	const char *sn = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
	char norm[PX_HOST_MAX];
	struct px_addr a;
	int is_ip;

	(void)arg;
	if (m == NULL || sn == NULL || m->is_ip)
		return SSL_TLSEXT_ERR_OK;
	if (px_host_normalize(sn, norm, sizeof(norm), &is_ip, &a) == 0 &&
	    strcmp(norm, m->host) == 0)
		return SSL_TLSEXT_ERR_OK;
	snprintf(m->reason, sizeof(m->reason),
		 "denied: TLS server name '%.200s' does not match the CONNECT host", sn);
	px_event_deny(m->px, m->host, m->port, m->addr, m->proto, "", m->reason, NULL, NULL, 1);
	verbose(m->px, "denied %s:%u: TLS server name '%s' does not match", m->host, m->port, sn);
	*alert = SSL_AD_UNRECOGNIZED_NAME;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void
ctx_common(SSL_CTX *ctx)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
				     SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_read_ahead(ctx, 1);
}

/* Load the CA and make the two TLS contexts (the warm thread's work). 0 or -1. */
static int
ctx_load(struct px_mitm_ctx *x)
{
	static const unsigned char h11[] = "\x08http/1.1";

	if (x->crt[0] == '\0') {
		snprintf(x->ctx_err, sizeof(x->ctx_err), "no interception CA is set");
		x->ctx_failed = 1;
		return -1;
	}
	if (x->ca == NULL) {
		struct cordon_err err = { 0 };

		x->ca = px_ca_load(x->crt, x->key, &err);
		if (x->ca == NULL) {
			snprintf(x->ctx_err, sizeof(x->ctx_err), "%s", err.msg);
			x->ctx_failed = 1;
			return -1;
		}
	}
	x->sctx = SSL_CTX_new(TLS_server_method());
	x->cctx = SSL_CTX_new(TLS_client_method());
	if (x->sctx == NULL || x->cctx == NULL)
		goto fail;
	ctx_common(x->sctx);
	ctx_common(x->cctx);
	SSL_CTX_set_num_tickets(x->sctx, 0);
	SSL_CTX_set_alpn_select_cb(x->sctx, on_alpn, NULL);
	SSL_CTX_set_tlsext_servername_callback(x->sctx, on_sni);
	/* upstreams: the host's own trust store (SSL_CERT_FILE / SSL_CERT_DIR honoured) */
	if (SSL_CTX_set_default_verify_paths(x->cctx) != 1)
		goto fail;
	SSL_CTX_set_verify(x->cctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_alpn_protos(x->cctx, h11, sizeof(h11) - 1) != 0)
		goto fail;
	return 0;
fail:
	px_ssl_errors(x->ctx_err, sizeof(x->ctx_err));
	SSL_CTX_free(x->sctx);
	SSL_CTX_free(x->cctx);
	x->sctx = x->cctx = NULL;
	x->ctx_failed = 1;
	return -1;
}

/* The CA and the TLS contexts, for the first intercepted tunnel. 0 or -1. */
static int
ctx_ready(struct px_mitm_ctx *x)
{
	if (x->warming) {
		pthread_join(x->warm, NULL);
		x->warming = 0;
	}
	if (x->sctx != NULL && x->cctx != NULL)
		return 0;
	if (x->ctx_failed)
		return -1;
	return ctx_load(x); /* the thread could not be started */
}

/* ---- one connection ---- */

struct px_mitm *
px_mitm_new(struct px_proxy *px, int cfd, int ufd, const struct px_mitm_target *t,
	    const char *early, size_t early_len, const char **why)
{
	struct px_mitm *m = calloc(1, sizeof(*m));

	struct cordon_err err = { 0 };

	*why = "out of memory";
	if (m == NULL)
		return NULL;
	m->px = px;
	/* a captured plain-HTTP connection is read with no rule naming its host */
	m->x = ctx_of(px, &err);
	if (m->x == NULL) {
		free(m);
		return NULL;
	}
	m->c.fd = cfd;
	m->u.fd = ufd;
	m->port = t->port;
	m->is_ip = t->is_ip;
	m->proto = t->proto;
	snprintf(m->host, sizeof(m->host), "%s", t->host);
	snprintf(m->addr, sizeof(m->addr), "%s", t->addr ? t->addr : "");
	snprintf(m->rule, sizeof(m->rule), "%s", t->rule ? t->rule : "");
	m->in = malloc(MITM_BUF);
	m->up = malloc(UP_BUF);
	m->rbuf = malloc(MITM_BUF);
	if (m->in == NULL || m->up == NULL || m->rbuf == NULL || early_len > MITM_BUF) {
		px_mitm_free(m);
		return NULL;
	}
	memcpy(m->in, early, early_len);
	m->in_len = early_len;
	m->phase = M_SNIFF;
	return m;
}

void
px_mitm_free(struct px_mitm *m)
{
	if (m == NULL)
		return;
	SSL_free(m->c.ssl); /* frees crbio and the socket BIO (not the fd) */
	SSL_free(m->u.ssl);
	free(m->in);
	free(m->up);
	free(m->rbuf);
	free(m);
}

size_t
px_mitm_footprint(void)
{
	/* the memory BIO takes up to one read beyond RBIO_CAP (feed_client) */
	return sizeof(struct px_mitm) + 2 * MITM_BUF + UP_BUF + RBIO_CAP + 16384 + 2 * SSL_EST;
}

void
px_mitm_end(struct px_mitm *m, uint64_t up, uint64_t dn)
{
	if (m != NULL)
		px_req_end(m->px, &m->rec, m->host, m->port, m->addr, m->proto, m->tls,
			   m->xf.status, up, dn);
}

bool
px_mitm_intercepted(const struct px_mitm *m)
{
	return m != NULL && m->tls;
}

/* Start TLS on both sides. 0, or -1 with m->reason. */
static int
start_tls(struct px_mitm *m)
{
	struct cordon_err err = { 0 };
	X509 *leaf;
	EVP_PKEY *key;
	BIO *wbio;

	if (ctx_ready(m->x) < 0) {
		snprintf(m->reason, sizeof(m->reason), "cannot intercept: %.280s", m->x->ctx_err);
		return -1;
	}
	if (px_ca_leaf(m->x->ca, m->host, m->is_ip, &leaf, &key, &err) < 0) {
		snprintf(m->reason, sizeof(m->reason), "cannot intercept: %s", err.msg);
		return -1;
	}
	m->c.ssl = SSL_new(m->x->sctx);
	m->u.ssl = SSL_new(m->x->cctx);
	m->crbio = BIO_new(BIO_s_mem());
	wbio = BIO_new_socket(m->c.fd, BIO_NOCLOSE);
	if (m->c.ssl == NULL || m->u.ssl == NULL || m->crbio == NULL || wbio == NULL) {
		BIO_free(m->crbio);
		BIO_free(wbio);
		m->crbio = NULL;
		goto fail;
	}
	SSL_set_bio(m->c.ssl, m->crbio, wbio);
	if (m->in_len > 0 && BIO_write(m->crbio, m->in, (int)m->in_len) != (int)m->in_len)
		goto fail;
	m->in_len = 0;
	SSL_set_app_data(m->c.ssl, m);
	if (SSL_use_certificate(m->c.ssl, leaf) != 1 || SSL_use_PrivateKey(m->c.ssl, key) != 1)
		goto fail;
	SSL_set_accept_state(m->c.ssl);
	if (SSL_set_fd(m->u.ssl, m->u.fd) != 1)
		goto fail;
	if (m->is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(m->u.ssl), m->host) != 1)
			goto fail;
	} else if (SSL_set_tlsext_host_name(m->u.ssl, m->host) != 1 ||
		   SSL_set1_host(m->u.ssl, m->host) != 1) {
		goto fail;
	}
	SSL_set_connect_state(m->u.ssl);
	m->tls = 1;
	return 0;
fail : {
	char why[160];

	px_ssl_errors(why, sizeof(why));
	snprintf(m->reason, sizeof(m->reason), "cannot intercept: %s", why);
	return -1;
}
}

/* Feed the client's ciphertext into its memory BIO. Returns progress. */
static int
feed_client(struct px_mitm *m)
{
	char buf[16384];
	int progress = 0;

	while (!m->c.sock_eof && BIO_ctrl_pending(m->crbio) < RBIO_CAP) {
		ssize_t n = recv(m->c.fd, buf, sizeof(buf), 0);

		if (n > 0) {
			if (BIO_write(m->crbio, buf, (int)n) != (int)n) {
				m->c.sock_eof = 1;
				BIO_set_mem_eof_return(m->crbio, 0);
				break;
			}
			progress = 1;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* end of input: the TLS layer sees EOF once it has read the rest */
		m->c.sock_eof = 1;
		BIO_set_mem_eof_return(m->crbio, 0);
		progress = 1;
	}
	return progress;
}

enum { IO_AGAIN = 0, IO_EOF = -1, IO_ERR = -2 };

static void
tls_error(struct px_mitm *m, const char *what)
{
	char why[160];

	px_ssl_errors(why, sizeof(why));
	snprintf(m->reason, sizeof(m->reason), "%s: %s", what, why);
}

/* Read plaintext from one side: bytes, IO_AGAIN, IO_EOF or IO_ERR (m->reason). */
static ssize_t
side_read(struct px_mitm *m, struct side *s, char *buf, size_t len)
{
	int n;

	if (!m->tls) {
		ssize_t r = recv(s->fd, buf, len, 0);

		if (r > 0)
			return r;
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return IO_AGAIN;
		s->eof = 1;
		return IO_EOF;
	}
	ERR_clear_error();
	n = SSL_read(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0) {
		s->want_write = 0;
		return n;
	}
	switch (SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		s->want_write = 0;
		return IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		s->want_write = 1;
		return IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		s->eof = 1;
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			s->eof = 1;
			return IO_EOF;
		}
		/* fall through */
	default:
		tls_error(m, s == &m->c ? "client TLS error" : "upstream TLS error");
		return IO_ERR;
	}
}

/* Write plaintext to one side: bytes written, IO_AGAIN or IO_ERR. */
static ssize_t
side_write(struct px_mitm *m, struct side *s, const char *buf, size_t len)
{
	int n;

	if (!m->tls) {
		ssize_t r = send(s->fd, buf, len, MSG_NOSIGNAL);

		if (r >= 0)
			return r;
		if (errno == EAGAIN || errno == EINTR)
			return IO_AGAIN;
		snprintf(m->reason, sizeof(m->reason), "%s went away",
			 s == &m->c ? "client" : "upstream");
		return IO_ERR;
	}
	ERR_clear_error();
	n = SSL_write(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0) {
		s->want_write = 0;
		return n;
	}
	switch (SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_WANT_WRITE:
		s->want_write = 1;
		return IO_AGAIN;
	case SSL_ERROR_WANT_READ:
		s->want_write = 0;
		return IO_AGAIN;
	default:
		tls_error(m, s == &m->c ? "client went away" : "upstream went away");
		return IO_ERR;
	}
}

/* End our side of one connection (close_notify, then FIN). */
static void
side_shutdown(struct px_mitm *m, struct side *s)
{
	if (s->shut)
		return;
	s->shut = 1;
	if (m->tls && s->ssl != NULL && s->hs_done) {
		ERR_clear_error();
		SSL_shutdown(s->ssl);
		ERR_clear_error();
	}
	shutdown(s->fd, SHUT_WR);
}

/* ---- the proxy's own answers ---- */

static void
answer(struct px_mitm *m, int status, const char *body)
{
	ssize_t n = px_http_answer(m->msg, sizeof(m->msg), status, NULL, body);

	m->msg_len = n < 0 ? 0 : (size_t)n;
	m->msg_off = 0;
	m->answering = 1;
	if (m->reason[0] == '\0')
		snprintf(m->reason, sizeof(m->reason), "%s",
			 status == 403 ? "denied" : "error answered");
}

/* ---- the upstream's certificate ---- */

static void
upstream_failed(struct px_mitm *m, int ssl_ret)
{
	long v = SSL_get_verify_result(m->u.ssl);
	char why[200];

	if (v != X509_V_OK) {
		snprintf(why, sizeof(why), "certificate not trusted: %s",
			 X509_verify_cert_error_string(v));
		ERR_clear_error();
	} else if (SSL_get_error(m->u.ssl, ssl_ret) == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		snprintf(why, sizeof(why), "TLS handshake: the connection was closed");
	} else {
		char e[160];

		px_ssl_errors(e, sizeof(e));
		snprintf(why, sizeof(why), "TLS handshake failed: %s", e);
	}
	m->up_failed = 1;
	snprintf(m->reason, sizeof(m->reason), "upstream %s", why);
	px_event_deny(m->px, m->host, m->port, m->addr, m->proto, "", m->reason, NULL, NULL, 1);
	verbose(m->px, "refused %s:%u: upstream %s", m->host, m->port, why);
}

/* Drive the handshake of one side. 1 done, 0 in progress, -1 failed. */
static int
handshake(struct px_mitm *m, struct side *s)
{
	int r;

	if (s->hs_done)
		return 1;
	ERR_clear_error();
	r = SSL_do_handshake(s->ssl);
	if (r == 1) {
		s->hs_done = 1;
		s->want_write = 0;
		return 1;
	}
	switch (SSL_get_error(s->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		s->want_write = 0;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		s->want_write = 1;
		return 0;
	default:
		if (s == &m->u) {
			upstream_failed(m, r);
		} else if (m->reason[0] == '\0' && m->c.sock_eof) {
			ERR_clear_error();
			snprintf(m->reason, sizeof(m->reason),
				 "the client closed during the TLS handshake");
		} else if (m->reason[0] == '\0') {
			char why[160];

			px_ssl_errors(why, sizeof(why));
			snprintf(m->reason, sizeof(m->reason),
				 "the client's TLS handshake failed: %s (does the client trust the "
				 "interception CA?)",
				 why);
			verbose(m->px, "%s:%u: %s", m->host, m->port, m->reason);
		}
		return -1;
	}
}

/* ---- requests ---- */

static void
record_injections(struct px_mitm *m, const struct px_inject *const *sel, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = (size_t)(sel[k] - m->x->injects.v);

		if (i >= PX_INJECT_MAX || (m->injected[i / 64] & (1ull << (i % 64))))
			continue;
		m->injected[i / 64] |= 1ull << (i % 64);
		if (m->px->cfg.on_inject != NULL)
			m->px->cfg.on_inject(m->px->cfg.on_decision_arg, sel[k]->name, m->host,
					     sel[k]->header);
		verbose(m->px, "injected %s into %s for %s", sel[k]->name, sel[k]->header, m->host);
	}
}

/*
 * A whole request head is at the start of m->in (or not yet): decide,
 * rewrite, begin its record (up, dn: the connection's byte counts).
 */
static void
handle_head(struct px_mitm *m, uint64_t up, uint64_t dn)
{
	const struct px_inject *sel[PX_INJECT_MAX];
	struct px_http_decision d;
	struct px_http_req req;
	const char *why;
	char body[4096];
	size_t n_sel = 0;
	ssize_t n;
	int r;

	r = px_http_parse_origin_request(m->in, m->in_len, m->port, &req, &why);
	if (r == 0) {
		if (m->in_len >= PX_HDR_MAX)
			answer(m, 431, "cordon: request head too large\n");
		return;
	}
	if (r < 0) {
		snprintf(body, sizeof(body), "cordon: bad request in the tunnel to %s: %s\n",
			 m->host, why);
		answer(m, req.status ? req.status : 400, body);
		return;
	}
	if (m->up_failed) {
		snprintf(body, sizeof(body),
			 "cordon: refused to relay to %s:%u: the %s.\n"
			 "The host's certificate was checked against this machine's trust store.\n",
			 m->host, m->port, m->reason + strlen("upstream "));
		answer(m, 502, body);
		return;
	}
	if (req.host[0] != '\0') {
		char norm[PX_HOST_MAX];
		struct px_addr a;
		int is_ip;

		if (px_host_normalize(req.host, norm, sizeof(norm), &is_ip, &a) < 0 ||
		    strcmp(norm, m->host) != 0) {
			snprintf(m->reason, sizeof(m->reason),
				 "denied: Host header '%.200s' does not match the tunnel's host",
				 req.host);
			px_event_deny(m->px, m->host, m->port, m->addr, m->proto, "", m->reason,
				      req.method, NULL, m->tls);
			snprintf(body, sizeof(body),
				 "cordon: the Host header names %s, but this tunnel goes to %s.\n",
				 req.host, m->host);
			answer(m, 403, body);
			return;
		}
	}
	if (px_http_rules_check(&m->x->rules, m->host, m->port, req.method, m->in + req.path_off,
				req.path_len, &d) == PX_HTTP_DENY) {
		px_http_deny_body(&m->x->rules, &d, m->tls ? "https" : "http", m->host, m->port,
				  req.method, body, sizeof(body));
		snprintf(m->reason, sizeof(m->reason), "denied by network.rules: %s", d.why);
		px_event_deny(m->px, m->host, m->port, m->addr, m->proto,
			      d.rule ? d.rule->text : "", m->reason, req.method,
			      d.path[0] ? d.path : NULL, m->tls);
		verbose(m->px, "denied %s %s%s: %s", req.method, m->host, d.path, d.why);
		answer(m, 403, body);
		return;
	}
	/* credentials only inside TLS: in a plain tunnel they would travel in clear */
	if (m->tls)
		n_sel = px_injects_select(&m->x->injects, m->host, m->port, sel, PX_INJECT_MAX);
	n = px_http_head_set(m->in, req.hdr_len, sel, n_sel, m->up, UP_BUF);
	if (n < 0) {
		answer(m, 431, "cordon: request head too large\n");
		return;
	}
	record_injections(m, sel, n_sel);
	px_req_begin(&m->rec, req.method, m->in + req.path_off, req.path_len,
		     d.verdict == PX_HTTP_ALLOW && d.rule ? d.rule->text : m->rule, up, dn);
	m->up_len = (size_t)n;
	m->up_off = 0;
	memmove(m->in, m->in + req.hdr_len, m->in_len - req.hdr_len);
	m->in_len -= req.hdr_len;
	m->in_fwd = 0;
	px_xfer_request(&m->xf, &req);
}

/* Upstream bytes into response heads and bodies. 0, or -1 with m->reason. */
static int
frame_response(struct px_mitm *m)
{
	const char *why = NULL;

	if (px_xfer_response(&m->xf, m->rbuf, &m->r_fwd, &m->r_len, &why) == 0)
		return 0;
	snprintf(m->reason, sizeof(m->reason), "bad response from upstream: %s", why);
	return -1;
}

/* Send the proxy's answer; LINGER once it is out. */
static enum px_mitm_result
pump_answer(struct px_mitm *m, int *progress)
{
	while (m->msg_off < m->msg_len) {
		ssize_t n = side_write(m, &m->c, m->msg + m->msg_off, m->msg_len - m->msg_off);

		if (n == IO_ERR)
			return PX_MITM_CLOSE;
		if (n <= 0)
			return PX_MITM_OK;
		m->msg_off += (size_t)n;
		*progress = 1;
	}
	side_shutdown(m, &m->c);
	return PX_MITM_LINGER;
}

static enum px_mitm_result
pump_http(struct px_mitm *m, int *progress, uint64_t *bytes_up, uint64_t *bytes_dn)
{
	int more = 1;

	while (more) {
		ssize_t n;

		more = 0;
		if (m->tls)
			more |= feed_client(m);
		if (m->answering)
			return pump_answer(m, progress);
		/* client -> upstream: the head, then body bytes */
		while (m->up_off < m->up_len) {
			n = side_write(m, &m->u, m->up + m->up_off, m->up_len - m->up_off);
			if (n == IO_ERR)
				return PX_MITM_CLOSE;
			if (n <= 0)
				break;
			m->up_off += (size_t)n;
			*bytes_up += (uint64_t)n;
			more = 1;
		}
		if (m->up_off == m->up_len && m->in_fwd > 0) {
			n = side_write(m, &m->u, m->in, m->in_fwd);
			if (n == IO_ERR)
				return PX_MITM_CLOSE;
			if (n > 0) {
				memmove(m->in, m->in + n, m->in_len - (size_t)n);
				m->in_len -= (size_t)n;
				m->in_fwd -= (size_t)n;
				*bytes_up += (uint64_t)n;
				more = 1;
			}
		}
		/* read the client: the next head is only buffered while a response is due */
		if (!m->c.eof && m->in_len < MITM_BUF) {
			n = side_read(m, &m->c, m->in + m->in_len, MITM_BUF - m->in_len);
			if (n == IO_ERR)
				return PX_MITM_CLOSE;
			if (n > 0) {
				m->in_len += (size_t)n;
				more = 1;
			} else if (n == IO_EOF) {
				m->c.eof = 1;
				more = 1;
			}
		}
		if (m->xf.rq == PX_RQ_HEAD && m->in_len > 0) {
			handle_head(m, *bytes_up, *bytes_dn);
			if (m->answering)
				continue;
			if (m->xf.rq != PX_RQ_HEAD)
				more = 1;
		}
		if (m->xf.rq == PX_RQ_BODY && m->in_fwd < m->in_len) {
			n = px_body_feed(&m->xf.req_body, m->in + m->in_fwd, m->in_len - m->in_fwd);
			if (n < 0) {
				answer(m, 400, "cordon: bad chunked request body\n");
				continue;
			}
			m->in_fwd += (size_t)n;
			if (m->xf.req_body.done)
				m->xf.rq = PX_RQ_WAIT;
		}
		if (m->c.eof && m->xf.rq == PX_RQ_HEAD) {
			snprintf(m->reason, sizeof(m->reason), "%s",
				 m->in_len > 0 ? "client closed mid-request" : "closed");
			side_shutdown(m, &m->c);
			return PX_MITM_CLOSE;
		}
		if (m->c.eof && m->xf.rq == PX_RQ_BODY) {
			if (!m->xf.upgraded) {
				snprintf(m->reason, sizeof(m->reason), "client closed mid-request");
				return PX_MITM_CLOSE;
			}
			if (m->in_len == 0 && !m->u.shut)
				side_shutdown(m, &m->u);
		}
		/* upstream -> client */
		if (m->r_fwd > 0) {
			n = side_write(m, &m->c, m->rbuf, m->r_fwd);
			if (n == IO_ERR)
				return PX_MITM_CLOSE;
			if (n > 0) {
				memmove(m->rbuf, m->rbuf + n, m->r_len - (size_t)n);
				m->r_len -= (size_t)n;
				m->r_fwd -= (size_t)n;
				*bytes_dn += (uint64_t)n;
				more = 1;
			}
		}
		if (m->xf.rq != PX_RQ_HEAD && m->xf.rs != PX_RS_DONE && m->r_len < MITM_BUF &&
		    !m->u.eof) {
			n = side_read(m, &m->u, m->rbuf + m->r_len, MITM_BUF - m->r_len);
			if (n == IO_ERR)
				return PX_MITM_CLOSE;
			if (n > 0) {
				m->r_len += (size_t)n;
				more = 1;
				if (frame_response(m) < 0)
					return PX_MITM_CLOSE;
			} else if (n == IO_EOF) {
				if (m->xf.rs == PX_RS_BODY && m->xf.resp_body.mode == PX_BODY_EOF) {
					m->xf.rs = PX_RS_DONE;
					m->xf.resp_close = 1;
					more = 1;
				} else {
					snprintf(m->reason, sizeof(m->reason),
						 "upstream closed mid-response");
					return PX_MITM_CLOSE;
				}
			}
		}
		/* between exchanges the upstream may only close */
		if (m->xf.rq == PX_RQ_HEAD && m->r_len == 0 && !m->u.eof && !m->up_failed) {
			n = side_read(m, &m->u, m->rbuf, MITM_BUF);
			if (n == IO_ERR)
				return PX_MITM_CLOSE;
			if (n > 0) {
				snprintf(m->reason, sizeof(m->reason),
					 "upstream sent data between responses");
				return PX_MITM_CLOSE;
			}
		}
		if (m->xf.rq == PX_RQ_HEAD && m->u.eof) {
			snprintf(m->reason, sizeof(m->reason), "closed");
			side_shutdown(m, &m->c);
			return PX_MITM_CLOSE;
		}
		if (m->xf.rs == PX_RS_DONE && m->r_len == 0 && m->xf.rq != PX_RQ_HEAD) {
			px_mitm_end(m, *bytes_up, *bytes_dn);
			if (m->xf.resp_close || m->xf.req_close || m->xf.rq == PX_RQ_BODY ||
			    m->xf.upgraded) {
				snprintf(m->reason, sizeof(m->reason), "closed");
				side_shutdown(m, &m->c);
				return PX_MITM_CLOSE;
			}
			m->xf.rq = PX_RQ_HEAD;
			m->xf.rs = PX_RS_HEAD;
			more = 1;
		}
		*progress |= more;
	}
	return PX_MITM_OK;
}

static void
interest(struct px_mitm *m, struct px_mitm_io *io)
{
	uint32_t ec = 0, eu = 0;

	if (m->tls) {
		if (!m->c.sock_eof && BIO_ctrl_pending(m->crbio) < RBIO_CAP)
			ec |= EPOLLIN;
	} else if (!m->c.eof && m->in_len < MITM_BUF && !m->answering) {
		ec |= EPOLLIN;
	}
	if (m->c.want_write || m->msg_off < m->msg_len || m->r_fwd > 0)
		ec |= EPOLLOUT;
	if (m->phase == M_HANDSHAKE) {
		if (!m->u.hs_done && !m->up_failed)
			eu |= m->u.want_write ? EPOLLOUT : EPOLLIN;
	} else if (m->phase == M_HTTP && !m->answering && !m->up_failed) {
		if (m->xf.rs != PX_RS_DONE && m->r_len < MITM_BUF && !m->u.eof)
			eu |= EPOLLIN;
		if (m->u.want_write || m->up_off < m->up_len || m->in_fwd > 0)
			eu |= EPOLLOUT;
	}
	io->ev_client = ec;
	io->ev_upstream = eu;
}

enum px_mitm_result
px_mitm_pump(struct px_mitm *m, struct px_mitm_io *io, uint64_t *bytes_up, uint64_t *bytes_dn)
{
	enum px_mitm_result r = PX_MITM_OK;

	memset(io, 0, sizeof(*io));
	io->reason = m->reason;
	if (m->phase == M_SNIFF) {
		unsigned char b;
		ssize_t n = m->in_len > 0 ? 1 : recv(m->c.fd, &b, 1, MSG_PEEK);

		if (m->in_len > 0)
			b = (unsigned char)m->in[0];
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			snprintf(m->reason, sizeof(m->reason), "closed");
			return PX_MITM_CLOSE;
		}
		if (n < 0) {
			io->ev_client = EPOLLIN;
			return PX_MITM_OK;
		}
		if (b == 0x16) {
			if (start_tls(m) < 0) {
				verbose(m->px, "%s:%u: %s", m->host, m->port, m->reason);
				return PX_MITM_CLOSE;
			}
			m->phase = M_HANDSHAKE;
		} else {
			m->phase = M_HTTP;
		}
		io->progress = 1;
	}
	if (m->phase == M_HANDSHAKE) {
		int hc, hu = 1;

		feed_client(m);
		if (!m->up_failed)
			hu = handshake(m, &m->u);
		hc = handshake(m, &m->c);
		if (hc < 0)
			return PX_MITM_CLOSE;
		if (hc == 1 && (hu == 1 || m->up_failed))
			m->phase = M_HTTP;
		io->progress = 1;
	}
	if (m->phase == M_HTTP)
		r = pump_http(m, &io->progress, bytes_up, bytes_dn);
	if (r == PX_MITM_OK)
		interest(m, io);
	return r;
}

/* ---- plain-HTTP forwards ---- */

int
px_http_guard(struct px_proxy *px, const struct px_http_req *req, const char *buf, char *body,
	      size_t len, char *rule, size_t rlen)
{
	const struct px_mitm_ctx *x = px->mitm;
	struct px_http_decision d;
	char norm[PX_HOST_MAX], target[PX_HDR_MAX + 2];
	struct px_addr a;
	ssize_t tl;
	int is_ip;

	rule[0] = '\0';
	if (x == NULL || x->rules.n == 0)
		return 0;
	if (px_host_normalize(req->host, norm, sizeof(norm), &is_ip, &a) < 0)
		return 0; /* refused as a bad host name next */
	tl = px_http_origin_target(buf, req, target, sizeof(target));
	if (tl < 0)
		return 0; /* cannot happen: the head fits in PX_HDR_MAX */
	switch (
	    px_http_rules_check(&x->rules, norm, req->port, req->method, target, (size_t)tl, &d)) {
	case PX_HTTP_ALLOW:
		snprintf(rule, rlen, "%s", d.rule ? d.rule->text : "");
		return 0;
	case PX_HTTP_PASS:
		return 0;
	case PX_HTTP_DENY:
	default:
		break;
	}
	px_http_deny_body(&x->rules, &d, "http", norm, req->port, req->method, body, len);
	{
		char reason[300];

		snprintf(reason, sizeof(reason), "denied by network.rules: %s", d.why);
		px_event_deny(px, req->host, req->port, "", PX_PROTO_HTTP,
			      d.rule ? d.rule->text : "", reason, req->method,
			      d.path[0] ? d.path : NULL, 0);
	}
	verbose(px, "denied %s http://%s%s: %s", req->method, norm, d.path, d.why);
	return 1;
}
