/* SPDX-License-Identifier: MIT */
/* The session's network side: the proxy's rules, its start, the proxy variables. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cli/policy_run.h"
#include "proxy/allow.h"
#include "proxy/proxy.h"
#include "session/internal.h"

int
session_net_rule(struct session_net *sn, const char *pattern, bool deny, struct cordon_err *err)
{
	if (sn->n == ARRAY_SIZE(sn->pattern)) {
		cordon_err_set(err, E2BIG, "more than %zu network rules", ARRAY_SIZE(sn->pattern));
		return cordon_err_hint(err, "use wildcards (*.example.com) for families of hosts");
	}
	sn->deny[sn->n] = deny;
	sn->pattern[sn->n++] = pattern;
	return 0;
}

int
session_add_resolve(struct cordon_session *s, const char *arg, struct cordon_err *err)
{
	struct session_net *sn = &s->net;

	if (sn->n_resolve == ARRAY_SIZE(sn->resolve)) {
		cordon_err_set(err, E2BIG, "more than %zu --resolve", ARRAY_SIZE(sn->resolve));
		return cordon_err_hint(err, "--resolve is for tests; use a few");
	}
	sn->resolve[sn->n_resolve++] = arg;
	return 0;
}

static const char *const proxy_env_names[] = {
	"HTTP_PROXY",         "HTTPS_PROXY",
	"ALL_PROXY",          "NO_PROXY",
	"http_proxy",         "https_proxy",
	"all_proxy",          "no_proxy",
	"NODE_USE_ENV_PROXY", "JAVA_TOOL_OPTIONS",
	"npm_config_proxy",   "npm_config_https_proxy",
	"NPM_CONFIG_PROXY",   "NPM_CONFIG_HTTPS_PROXY",
};

/* Set only when the proxy intercepts: the sandbox must trust its CA. */
static const char *const ca_env[] = {
	"SSL_CERT_FILE=" SESSION_CA_BUNDLE_INSIDE,
	"REQUESTS_CA_BUNDLE=" SESSION_CA_BUNDLE_INSIDE,
	"CURL_CA_BUNDLE=" SESSION_CA_BUNDLE_INSIDE,
	"GIT_SSL_CAINFO=" SESSION_CA_BUNDLE_INSIDE,
	"NODE_EXTRA_CA_CERTS=" SESSION_CA_CERT_INSIDE, /* added to node's own list */
};

static bool
named_in(const char *var, const char *const *names, size_t n, bool with_value)
{
	for (size_t j = 0; j < n; j++) {
		size_t l = with_value ? strcspn(names[j], "=") : strlen(names[j]);

		if (strncmp(var, names[j], l) == 0 && var[l] == '=')
			return true;
	}
	return false;
}

char **
session_proxy_env(char **env, uint16_t port, bool ca_bundle)
{
	static char vars[ARRAY_SIZE(proxy_env_names)][256];
	static char *no_proxy[ARRAY_SIZE(proxy_env_names)]; /* built, kept for the run */
	size_t n = 0, k = 0;
	char **out;

	while (env[n] != NULL)
		n++;
	out = xcalloc(n + ARRAY_SIZE(proxy_env_names) + ARRAY_SIZE(ca_env) + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (named_in(env[i], proxy_env_names, ARRAY_SIZE(proxy_env_names), false) ||
		    (ca_bundle && named_in(env[i], ca_env, ARRAY_SIZE(ca_env), true)))
			continue;
		out[k++] = env[i];
	}
	for (size_t j = 0; ca_bundle && j < ARRAY_SIZE(ca_env); j++)
		out[k++] = (char *)(uintptr_t)ca_env[j];
	for (size_t j = 0; j < ARRAY_SIZE(proxy_env_names); j++) {
		const char *name = proxy_env_names[j];

		if (strcasecmp(name, "NO_PROXY") == 0) {
			/* cordon's entries, then the user's own (kept for the run) */
			free(no_proxy[j]);
			no_proxy[j] = cli_no_proxy_assignment(name, env);
			out[k++] = no_proxy[j];
			continue;
		} else if (strcmp(name, "NODE_USE_ENV_PROXY") == 0)
			snprintf(vars[j], sizeof(vars[j]), "%s=1", name);
		else if (strcmp(name, "JAVA_TOOL_OPTIONS") == 0)
			snprintf(vars[j], sizeof(vars[j]),
				 "%s=-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=%u "
				 "-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=%u "
				 "-Dhttp.nonProxyHosts=localhost|127.0.0.1",
				 name, port, port);
		else if (strcasecmp(name, "ALL_PROXY") == 0)
			snprintf(vars[j], sizeof(vars[j]), "%s=socks5h://127.0.0.1:%u", name, port);
		else
			snprintf(vars[j], sizeof(vars[j]), "%s=http://127.0.0.1:%u", name, port);
		out[k++] = vars[j];
	}
	out[k] = NULL;
	free(env);
	return out;
}

/*
 * Keep the hosts refused by the default deny (no rule names them; not an
 * address check, a bound or an HTTP rule's refusal); a host allowed later
 * (cordon allow) leaves the list.
 */
static void
note_refused(struct session_net *sn, const struct px_event *ev)
{
	size_t i;

	if (ev->host == NULL || ev->host[0] == '\0' || ev->method != NULL)
		return;
	for (i = 0; i < sn->n_refused; i++)
		if (sn->refused[i].port == ev->port && strcmp(sn->refused[i].host, ev->host) == 0)
			break;
	if (ev->allowed) {
		if (i < sn->n_refused)
			sn->refused[i] = sn->refused[--sn->n_refused];
		return;
	}
	/* A captured program's name lookup refused by the stub: no port yet. */
	if (!ev->unlisted && !(ev->proto == PX_PROTO_DNS && ev->rule[0] == '\0'))
		return;
	if (i == sn->n_refused) {
		if (i == ARRAY_SIZE(sn->refused) ||
		    strlen(ev->host) >= sizeof(sn->refused[i].host)) {
			sn->refused_more++;
			return;
		}
		snprintf(sn->refused[i].host, sizeof(sn->refused[i].host), "%s", ev->host);
		sn->refused[i].port = ev->port;
		sn->refused[i].times = 0;
		sn->n_refused++;
	}
	sn->refused[i].times++;
}

/* Append printf-style to buf at *o, cutting silently at its end. */
static void __attribute__((format(printf, 4, 5)))
append(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o = (size_t)n < len - *o ? *o + (size_t)n : len - 1;
}

void
session_net_report(const struct session_net *sn, bool quiet)
{
	char list[2048], cmd[2048];
	size_t lo = 0, co = 0;

	if (quiet || sn->n_refused + sn->refused_more == 0)
		return;
	list[0] = cmd[0] = '\0';
	for (size_t i = 0; i < sn->n_refused; i++) {
		const char *h = sn->refused[i].host;
		unsigned port = sn->refused[i].port;
		bool v6 = strchr(h, ':') != NULL;

		if (port == 0) /* a name lookup */
			append(list, sizeof(list), &lo, "%s%s (name lookup)", i ? ", " : "", h);
		else
			append(list, sizeof(list), &lo, "%s%s%s%s:%u", i ? ", " : "", v6 ? "[" : "",
			       h, v6 ? "]" : "", port);
		if (sn->refused[i].times > 1)
			append(list, sizeof(list), &lo, " (%u times)", sn->refused[i].times);
		/* A portless rule means 80 and 443; another port is named. */
		if (port == 0 || port == 80 || port == 443)
			append(cmd, sizeof(cmd), &co, " %s", h);
		else
			append(cmd, sizeof(cmd), &co, " %s%s%s:%u", v6 ? "[" : "", h, v6 ? "]" : "",
			       port);
	}
	if (sn->refused_more > 0)
		append(list, sizeof(list), &lo, "%s%zu more host%s", lo ? " and " : "",
		       sn->refused_more, sn->refused_more == 1 ? "" : "s");
	log_msg(LOG_LEVEL_WARN, 0, "refused, no rule names them: %s%s%s", list,
		co ? "; to allow them in later sessions: cordon allow --save" : "", cmd);
}

static void
net_event(void *arg, const struct px_event *ev)
{
	static const char *const proto[] = { "http-connect", "http",        "socks5",
					     "unknown",      "transparent", "dns" };
	struct session_net *sn = arg;
	struct sv_supervisor *sv = sn->sv;
	struct audit_net_event a = {
		.host = ev->host,
		.port = ev->port,
		.address = ev->addr[0] ? ev->addr : NULL,
		.protocol = proto[ev->proto],
		.decision = ev->allowed ? "allow" : "deny",
		.rule = ev->rule[0] ? ev->rule : NULL,
		.reason = ev->allowed && !ev->cut ? NULL : ev->reason,
		.bytes_up = ev->bytes_up,
		.bytes_down = ev->bytes_down,
		.duration_ms = ev->duration_ms,
		.method = ev->method,
		.path = ev->path,
		.status = ev->status,
		.intercepted = ev->intercepted != 0,
	};
	struct cordon_err err = { 0 };

	note_refused(sn, ev);
	if (sv->audit != NULL && audit_net(sv->audit, &a, &err) < 0)
		log_warnx("audit: %s", err.msg);
}

static void
net_limit(void *arg, const struct px_limit_event *ev)
{
	struct session_net *sn = arg;
	struct sv_supervisor *sv = sn->sv;
	struct audit_limit l = {
		.limit = ev->limit,
		.max = ev->max,
		.value = ev->value,
		.message = ev->message,
	};
	struct cordon_err err = { 0 };

	log_debug("%s: %s", ev->limit, ev->message);
	if (sv->audit != NULL && audit_limit(sv->audit, &l, &err) < 0)
		log_warnx("audit: %s", err.msg);
}

/* A credential set on a request: its name and host, never its value. */
static void
net_inject(void *arg, const char *name, const char *host, const char *header)
{
	struct session_net *sn = arg;
	struct sv_supervisor *sv = sn->sv;
	struct audit_credential a = { .name = name, .host = host, .header = header };
	struct cordon_err err = { 0 };

	if (sv->audit != NULL && audit_credential(sv->audit, &a, &err) < 0)
		log_warnx("audit: %s", err.msg);
}

int
session_net_start(struct session_net *sn, struct sv_supervisor *sv, struct cordon_err *err)
{
	struct px_config cfg = {
		.on_decision = net_event,
		.on_decision_arg = sn,
		.on_limit = net_limit,
		.on_inject = net_inject,
		.verbose = sn->verbose,
	};

	sn->sv = sv;
	if (session_test_switch("CORDON_TEST_PROXY_LOOPBACK")) {
		cfg.test_allow_loopback = strcmp(getenv("CORDON_TEST_PROXY_LOOPBACK"), "1") == 0;
	}
	if (sv_proxy_start(sv, &cfg, NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < sn->n; i++)
		if (px_proxy_add_rule(sv->proxy, sn->pattern[i], sn->deny[i], err) < 0)
			return -1;
	for (size_t i = 0; i < sn->n_resolve; i++)
		if (px_proxy_add_resolve(sv->proxy, sn->resolve[i], err) < 0)
			return -1;
	return 0;
}

/*
 * Allow rules that are valid but rarely what the user meant: a wildcard
 * over a whole top-level domain, or an address (or CIDR) in a range the
 * proxy refuses unless told (loopback, private, link-local, cloud
 * metadata): an explicit rule lets it through, so say what it opens.
 */
void
session_net_warn(const struct session_net *sn)
{
	for (size_t i = 0; i < sn->n; i++) {
		const char *p = sn->pattern[i];
		char host[300], norm[300];
		struct px_addr addr;
		const char *why;
		unsigned block;
		size_t l;
		int is_ip = 0;

		if (sn->deny[i])
			continue;
		if (p[0] == '[') {
			l = strcspn(p + 1, "]");
			snprintf(host, sizeof(host), "[%.*s]", (int)l, p + 1);
		} else {
			l = strcspn(p, ":/");
			snprintf(host, sizeof(host), "%.*s", (int)l, p);
		}
		if (strncmp(host, "*.", 2) == 0 && strchr(host + 2, '.') == NULL) {
			log_warnx("warning: allowed domain `%s` lets the command reach every host "
				  "under .%s; name the domains you mean",
				  p, host + 2);
			continue;
		}
		if (px_host_normalize(host, norm, sizeof(norm), &is_ip, &addr) < 0 || !is_ip)
			continue;
		why = px_addr_refused(&addr, &block);
		/* 127.0.0.1:PORT: a local service the user named on purpose. */
		if (why != NULL && strstr(why, "loopback") != NULL && strchr(p + l, ':') != NULL)
			continue;
		if (why != NULL)
			log_warnx("warning: allowed `%s` opens %s addresses, which the proxy "
				  "refuses unless a rule names them",
				  p, why);
	}
}
