/* SPDX-License-Identifier: MIT */
/* The session's network side: the proxy's rules, its start, the proxy variables. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
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

char **
session_proxy_env(char **env, uint16_t port)
{
	static char vars[ARRAY_SIZE(proxy_env_names)][256];
	size_t n = 0, k = 0;
	char **out;

	while (env[n] != NULL)
		n++;
	out = xcalloc(n + ARRAY_SIZE(proxy_env_names) + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		bool ours = false;

		for (size_t j = 0; j < ARRAY_SIZE(proxy_env_names); j++) {
			size_t l = strlen(proxy_env_names[j]);

			if (strncmp(env[i], proxy_env_names[j], l) == 0 && env[i][l] == '=')
				ours = true;
		}
		if (!ours)
			out[k++] = env[i];
	}
	for (size_t j = 0; j < ARRAY_SIZE(proxy_env_names); j++) {
		const char *name = proxy_env_names[j];

		if (strcasecmp(name, "NO_PROXY") == 0)
			snprintf(vars[j], sizeof(vars[j]), "%s=localhost,127.0.0.1,::1", name);
		else if (strcmp(name, "NODE_USE_ENV_PROXY") == 0)
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
	static const char *const proto[] = { "http-connect", "http", "socks5", "unknown" };
	struct sv_supervisor *sv = arg;
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
	};
	struct cordon_err err = { 0 };

	if (sv->audit != NULL && audit_net(sv->audit, &a, &err) < 0)
		log_warnx("audit: %s", err.msg);
}

static void
net_limit(void *arg, const struct px_limit_event *ev)
{
	struct sv_supervisor *sv = arg;
	struct audit_limit l = {
		.limit = ev->limit,
		.max = ev->max,
		.value = ev->value,
		.message = ev->message,
	};
	struct cordon_err err = { 0 };

	log_debug("%s: %s: %s", __func__, ev->limit, ev->message);
	if (sv->audit != NULL && audit_limit(sv->audit, &l, &err) < 0)
		log_warnx("audit: %s", err.msg);
}

int
session_net_start(struct session_net *sn, struct sv_supervisor *sv, struct cordon_err *err)
{
	struct px_config cfg = {
		.on_decision = net_event,
		.on_decision_arg = sv,
		.on_limit = net_limit,
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
