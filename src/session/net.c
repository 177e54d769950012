/* SPDX-License-Identifier: MIT */
/* The session's network side: the proxy's rules, its start, the proxy variables. */
#define _GNU_SOURCE
#include <errno.h>
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
			out[k++] = cli_no_proxy_assignment(name, env);
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

static void
net_event(void *arg, const struct px_event *ev)
{
	static const char *const proto[] = { "http-connect", "http",        "socks5",
					     "unknown",      "transparent", "dns" };
	struct sv_supervisor *sv = arg;
	struct audit_net_event a = {
		.host = ev->host,
		.port = ev->port,
		.address = ev->addr[0] ? ev->addr : NULL,
		.protocol = proto[ev->proto],
		.decision = ev->allowed ? "allow" : "deny",
		.rule = ev->rule[0] ? ev->rule : NULL,
		.reason = ev->allowed ? NULL : ev->reason,
		.bytes_up = ev->bytes_up,
		.bytes_down = ev->bytes_down,
		.duration_ms = ev->duration_ms,
		.method = ev->method,
		.path = ev->path,
		.intercepted = ev->intercepted != 0,
	};
	struct cordon_err err = { 0 };

	if (sv->audit != NULL && audit_net(sv->audit, &a, &err) < 0)
		log_warnx("audit: %s", err.msg);
}

/* A credential set on a request: its name and host, never its value. */
static void
net_inject(void *arg, const char *name, const char *host, const char *header)
{
	struct sv_supervisor *sv = arg;
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
		.on_decision_arg = sv,
		.on_inject = net_inject,
		.verbose = sn->verbose,
	};

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
