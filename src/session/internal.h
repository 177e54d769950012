/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SESSION_INTERNAL_H
#define CORDON_SESSION_INTERNAL_H

/* Between the session's own files; nothing outside src/session/ uses these. */

#include "proxy/proxy.h"
#include "session/session.h"
#include "supervisor/supervisor.h"

/* The egress proxy's port on 127.0.0.1 inside the sandbox (own netns). */
#define SESSION_PROXY_PORT 3128
/* Transparent capture listener inside (sandbox/capture.c), on loopback too. */
#define SESSION_CAPTURE_PORT 3129

/*
 * A test-only switch: the variable name is set and CORDON_TEST_HOOKS=1 is
 * in the environment.
 */
bool session_test_switch(const char *name);

/* Report err through s->report when there is one. */
void session_report(const struct cordon_session *s, const struct cordon_err *err);

/* ---- net.c ---- */

/* Add one proxy rule (pattern borrowed). 0, or -1 with err (too many). */
int session_net_rule(struct session_net *sn, const char *pattern, bool deny,
		     struct cordon_err *err);

/* Warn about allow rules that open more than they seem to (*.com, metadata). */
void session_net_warn(const struct session_net *sn);

/*
 * When the session ends: one line on stderr naming the hosts the proxy
 * refused because no rule named them, with the command that allows them
 * in later sessions. Nothing when there were none or quiet.
 */
void session_net_report(const struct session_net *sn, bool quiet);

/* Start the proxy on the supervisor's loop with the rules. 0 or -1 (err). */
int session_net_start(struct session_net *sn, struct sv_supervisor *sv, struct cordon_err *err);

/*
 * env plus the proxy variables (the host's own proxy settings would point
 * at nothing reachable from inside, so they are replaced), and with
 * ca_bundle the CA variables (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS,
 * REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO) naming the bundle
 * and the CA inside. Returns the new array (env is freed); the strings
 * are static.
 */
char **session_proxy_env(char **env, uint16_t port, bool ca_bundle);

/* ---- tls.c ---- */

/* Inside the sandbox: the merged CA bundle and the interception CA alone. */
#define SESSION_CA_BUNDLE_INSIDE "/run/cordon/ca-bundle.pem"
#define SESSION_CA_CERT_INSIDE   "/run/cordon/ca.crt"

/* The largest file credentials.inject's fromFile reads, bytes. */
#define SESSION_INJECT_FILE_MAX 4096u

/*
 * Where credentials.inject's fromFile is on the host: as given when
 * absolute, `~/` against the session's home. The path is also the name
 * its value is stashed and audited under. 0, or -1 (no home, too long).
 */
int session_inject_file_path(const struct session_policy *sp, const char *from_file, char *buf,
			     size_t len);

/*
 * Before the clone: whether interception is needed (network.rules, or a
 * credentials.inject entry whose variable is set or that reads a file;
 * t->on), the CA made on first use, the merged bundle written, and the
 * mounts: the bundle over the distribution's path and at
 * SESSION_CA_BUNDLE_INSIDE, the CA at SESSION_CA_CERT_INSIDE, and the CA's
 * directory masked (whenever it exists, interception or not). 0 or -1
 * (err).
 */
int session_tls_prepare(struct session_tls *t, const struct session_policy *sp,
			struct sb_mount *mounts, size_t *n_mounts, size_t max,
			struct cordon_err *err);

/*
 * The host's Java trust stores (the distributions' shared ones, $JAVA_HOME's
 * and those of /usr/lib/jvm/'s JDKs, by real path) into t->java, each with
 * its copy holding the CA (PEM ca_pem[0..ca_len)) made or found in dir
 * (session/javastore.c). A store that cannot be read or copied is left
 * out with a warning: Java programs then refuse the interception, which
 * weakens nothing. Returns how many were kept. Not safe after fork.
 */
int session_java_stores(struct session_tls *t, const char *dir, const char *ca_pem, size_t ca_len);

/*
 * After the clone, on the started proxy: the CA loaded, the rules, the
 * credentials read from sp's stash (which is closed). 0 or -1 (err).
 */
int session_tls_start(struct session_tls *t, struct session_policy *sp, struct px_proxy *px,
		      struct cordon_err *err);

/* ---- audit.c ---- */

/* audit.path, audit.otlpEndpoint, audit.failClosed, audit.syslog; flags given win. */
void session_audit_from_policy(struct session_audit *sa, const struct cordon_policy *pol);

/*
 * Open the log, mask it inside the sandbox (one more entry in mounts), turn
 * on the exec notification. Nothing may run when this fails.
 */
int session_audit_begin(struct session_audit *sa, struct sb_spec *spec, struct sb_mount *mounts,
			size_t *n_mounts, size_t max, struct cordon_err *err);

/* The session's start record: before the command runs, beside the mounts. */
int session_audit_record_start(struct session_audit *sa, struct cordon_err *err);

/* After sv_attach: the exec audit and the exporter. 0 or -1 (err). */
int session_audit_attach(struct session_audit *sa, struct sv_supervisor *sv,
			 struct cordon_err *err);

/*
 * Write the session end and close the log (once; later calls return status
 * unchanged). Returns the exit status to use: status, or 125 when a record
 * could not be written under failClosed (reported through s).
 */
int session_audit_end(struct cordon_session *s, int status, const char *reason);

/* ---- walls.c ---- */

/*
 * Fill spec's wall fields from the effective policy (pol may be NULL), then
 * the command line's walls, the test switches (CORDON_TEST_HOOKS=1 only),
 * and the connect notification for the unix-socket policy.
 */
void session_walls_apply(struct session_walls *w, struct sb_spec *spec,
			 const struct cordon_policy *pol, bool allow_degraded);

/* After sv_attach, before sv_run: serve the unix-socket policy. 0 or -1 (err). */
int session_walls_attach(struct session_walls *w, struct sv_supervisor *sv,
			 const struct sb_spec *spec, struct cordon_err *err);

/* After the sandbox ended: say when a limit killed it, remove the cgroup. */
void session_walls_end(const struct cordon_session *s, struct sb_session *sess, int status);

/* Release the walls' strings. */
void session_walls_free(struct session_walls *w);

#endif
