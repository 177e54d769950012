/* SPDX-License-Identifier: MIT */
/* The policy layer: parser, positions, limits, merge rules, environment. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "policy/internal.h"
#include "policy/policy.h"
#include "policy/pos.h"
#include "tap.h"

static int
parse(struct cordon_policy *pol, const char *text, enum policy_layer layer, unsigned flags,
      struct cordon_err *err)
{
	policy_init(pol);
	memset(err, 0, sizeof(*err));
	return policy_parse(pol, text, strlen(text), "t.json", layer, flags, err);
}

/* Parse, expect failure, compare the message. */
static int
parse_fails_with(const char *text, const char *msg)
{
	struct cordon_policy pol;
	struct cordon_err err;
	int r = parse(&pol, text, POLICY_LAYER_USER, 0, &err);

	policy_free(&pol);
	CHECK(r == -1);
	CHECK_STR(err.msg, msg);
	CHECK(err.hint[0] != '\0');
	return 0;
}

static int
test_parse_full_example(void)
{
	static const char text[] =
	    "{\"sandbox\": {\n"
	    "  \"failIfUnavailable\": true,\n"
	    "  \"filesystem\": {\"allowWrite\": [\"~/.cache/pip\"], \"denyWrite\": [],\n"
	    "                 \"denyRead\": [\"~/.kube\"], \"allowRead\": []},\n"
	    "  \"network\": {\"allowedDomains\": [\"github.com\", \"*.github.com\"], "
	    "\"deniedDomains\": [],\n"
	    "              \"allowUnixSockets\": [], \"allowLocalBinding\": false,\n"
	    "              \"rules\": [{\"host\": \"github.com\", \"methods\": [\"GET\", "
	    "\"HEAD\"], \"paths\": [\"/myorg/*\"]}]},\n"
	    "  \"credentials\": {\"files\": [{\"path\": \"~/.ssh\", \"mode\": \"deny\"}],\n"
	    "                  \"envVars\": [{\"name\": \"GITHUB_TOKEN\", \"mode\": \"deny\"}],\n"
	    "                  \"inject\": [{\"host\": \"api.anthropic.com\", \"header\": "
	    "\"x-api-key\", \"fromEnv\": \"ANTHROPIC_API_KEY\"}]},\n"
	    "  \"resources\": {\"memory\": \"4g\", \"cpus\": 2, \"pids\": 512},\n"
	    "  \"audit\": {\"path\": \"/var/log/cordon.jsonl\", \"otlpEndpoint\": "
	    "\"http://127.0.0.1:4318\", \"failClosed\": true}}}\n";
	struct cordon_policy pol;
	struct cordon_err err;

	CHECK(parse(&pol, text, POLICY_LAYER_USER, 0, &err) == 0);
	CHECK(pol.lists[POLICY_FS_ALLOW_WRITE].n == 1);
	CHECK_STR(pol.lists[POLICY_FS_ALLOW_WRITE].v[0].value, "~/.cache/pip");
	CHECK(pol.lists[POLICY_FS_ALLOW_WRITE].v[0].origin.line == 3);
	CHECK(pol.lists[POLICY_FS_ALLOW_WRITE].v[0].origin.col == 33);
	CHECK(pol.lists[POLICY_NET_ALLOWED_DOMAINS].n == 2);
	CHECK(pol.n_net_rules == 1);
	CHECK_STR(pol.net_rules[0].methods[1], "HEAD");
	CHECK(pol.net_rules[0].methods[2] == NULL);
	CHECK(pol.lists[POLICY_CRED_FILES_DENY].n == 1);
	CHECK(pol.lists[POLICY_CRED_ENV_DENY].n == 1);
	CHECK(pol.n_inject == 1);
	CHECK_STR(pol.inject[0].from_env, "ANTHROPIC_API_KEY");
	CHECK(pol.scalars[POLICY_RES_MEMORY].u == 4ull << 30);
	CHECK(pol.scalars[POLICY_RES_CPUS].num == 2);
	CHECK(pol.scalars[POLICY_RES_PIDS].u == 512);
	CHECK(pol.scalars[POLICY_FAIL_IF_UNAVAILABLE].set &&
	      pol.scalars[POLICY_FAIL_IF_UNAVAILABLE].b);
	policy_free(&pol);
	return 0;
}

static int
test_error_positions(void)
{
	if (parse_fails_with("{\n  \"sandbox\": {\n    \"filesystem\": {\n      \"denyRead\": "
			     "[\"~/.kube\", \"x\", 3]\n    }\n  }\n}\n",
			     "t.json:4:36: key `sandbox.filesystem.denyRead[2]`: expected string, "
			     "got number") < 0)
		return -1;
	if (parse_fails_with("{\"sandbox\": {\"filesystem\": {\"denyreed\": []}}}",
			     "t.json:1:29: key `sandbox.filesystem.denyreed`: unknown key") < 0)
		return -1;
	if (parse_fails_with("{\"sandbox\": {\"network\": {\"allowedDomains\": [\"a.com\",]}}}",
			     "t.json:1:52: invalid JSON: an extra comma before ']'") < 0)
		return -1;
	if (parse_fails_with("{\"sandbox\": {\n  \"network\": {},\n\t\n}}",
			     "t.json:2:16: invalid JSON: an extra comma before '}'") < 0)
		return -1;
	/* A comma that is not the last thing before the bracket is left alone. */
	if (parse_fails_with("{\"sandbox\": {\"network\": {\"allowedDomains\": [,]}}}",
			     "t.json:1:45: invalid JSON: unexpected token near ','") < 0)
		return -1;
	if (parse_fails_with("\xef\xbb\xbf{\"sandbox\": {}}",
			     "t.json:1:1: invalid JSON: the file starts with a UTF-8 byte order "
			     "mark (BOM)") < 0)
		return -1;
	{
		char deep[2 * 2100 + 16];
		size_t o = 0;

		o += (size_t)snprintf(deep, sizeof(deep), "{\"sandbox\":");
		memset(deep + o, '[', 2100);
		memset(deep + o + 2100, ']', 2100);
		strcpy(deep + o + 4200, "}");
		if (parse_fails_with(deep, "t.json:1:2059: invalid JSON: nested deeper than 2048 "
					   "levels") < 0)
			return -1;
	}
	/* Escaped key names are found too. */
	if (parse_fails_with("{\"sandbox\": {\"\\u0066ilesystem\": {\"allowWrite\": \"x\"}}}",
			     "t.json:1:48: key `sandbox.filesystem.allowWrite`: expected array of "
			     "paths, got string") < 0)
		return -1;
	return 0;
}

static int
test_duplicate_key_refused(void)
{
	struct cordon_policy pol;
	struct cordon_err err;

	CHECK(parse(&pol,
		    "{\"sandbox\": {\"failIfUnavailable\": true, \"failIfUnavailable\": "
		    "false}}",
		    POLICY_LAYER_USER, 0, &err) == -1);
	CHECK(strstr(err.msg, "duplicate") != NULL);
	policy_free(&pol);
	return 0;
}

static int
test_claude_settings_ignore_other_keys(void)
{
	struct cordon_policy pol;
	struct cordon_err err;

	CHECK(parse(&pol,
		    "{\"permissions\": {\"allow\": []}, \"hooks\": {}, \"sandbox\": "
		    "{\"enabled\": true, \"filesystem\": {\"denyRead\": [\"~/x\"]}}}",
		    POLICY_LAYER_CLAUDE, POLICY_PARSE_CLAUDE, &err) == 0);
	CHECK(pol.lists[POLICY_FS_DENY_READ].n == 1);
	CHECK(pol.n_notes == 1);
	policy_free(&pol);
	/* The same file as cordon settings: top-level keys are checked. */
	CHECK(parse(&pol, "{\"permissions\": {}}", POLICY_LAYER_USER, 0, &err) == -1);
	CHECK_STR(err.msg, "t.json:1:2: key `permissions`: unknown key");
	policy_free(&pol);
	return 0;
}

static int
test_value_checks(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "{\"sandbox\": {\"network\": {\"allowedDomains\": [\"*\"]}}}",
		  "t.json:1:45: key `sandbox.network.allowedDomains[0]`: a bare `*` would allow "
		  "every host; name the domains (`*.example.com` covers its subdomains)" },
		{ "{\"sandbox\": {\"network\": {\"allowedDomains\": [\"a.*.com\"]}}}",
		  "t.json:1:45: key `sandbox.network.allowedDomains[0]`: a wildcard must be a "
		  "whole "
		  "first label, as in `*.example.com`" },
		{ "{\"sandbox\": {\"filesystem\": {\"denyRead\": [\"~bob/x\"]}}}",
		  "t.json:1:42: key `sandbox.filesystem.denyRead[0]`: `~name` paths are not "
		  "supported; expected `~`, `~/...`, an absolute path or a path relative to the "
		  "workspace" },
		{ "{\"sandbox\": {\"resources\": {\"memory\": \"4x\"}}}",
		  "t.json:1:38: key `sandbox.resources.memory`: expected a size such as \"512m\" "
		  "or "
		  "\"4g\" (units k, m, g, t)" },
		{ "{\"sandbox\": {\"resources\": {\"pids\": 0}}}",
		  "t.json:1:36: key `sandbox.resources.pids`: expected an integer from 1 to "
		  "4194304" },
		{ "{\"sandbox\": {\"credentials\": {\"files\": [{\"path\": \"~/.x\", \"mode\": "
		  "\"maybe\"}]}}}",
		  "t.json:1:65: key `sandbox.credentials.files[0].mode`: expected \"deny\" or "
		  "\"allow\"" },
		{ "{\"sandbox\": {\"lock\": [\"network\"]}}",
		  "t.json:1:14: key `sandbox.lock`: locks are only allowed in the managed "
		  "settings" },
		{ "{\"sandbox\": {\"network\": {\"rules\": [{\"methods\": [\"get\"]}]}}}",
		  "t.json:1:36: key `sandbox.network.rules[0]`: missing required key \"host\"" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		printf("# case %zu\n", i);
		if (parse_fails_with(cases[i].text, cases[i].msg) < 0)
			return -1;
	}
	return 0;
}

static int
test_domains(void)
{
	static const char *const good[] = { "example.com",       "*.example.com",
					    "example.com:443",   "example.com.",
					    "192.0.2.1",         "192.0.2.0/24",
					    "[2001:db8::1]:443", "2001:db8::/32",
					    "xn--bcher-kva.test" };
	static const char *const bad[] = { "",
					   "*",
					   "a..b",
					   "*example.com",
					   "ex ample.com",
					   "example.com:0",
					   "example.com:70000",
					   "a.com/8",
					   "192.0.2.0/33" };
	char why[160];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!policy_check_domain(good[i], why, sizeof(why))) {
			printf("# good %s: %s\n", good[i], why);
			return -1;
		}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (policy_check_domain(bad[i], why, sizeof(why))) {
			printf("# bad accepted: %s\n", bad[i]);
			return -1;
		}
	return 0;
}

static int
test_memory(void)
{
	uint64_t b = 0;
	char why[160];

	CHECK(policy_parse_memory("512m", &b, why, sizeof(why)) && b == 512ull << 20);
	CHECK(policy_parse_memory("4G", &b, why, sizeof(why)) && b == 4ull << 30);
	CHECK(policy_parse_memory("1024", &b, why, sizeof(why)) && b == 1024);
	CHECK(!policy_parse_memory("0", &b, why, sizeof(why)));
	CHECK(!policy_parse_memory("-1g", &b, why, sizeof(why)));
	CHECK(!policy_parse_memory("99999999999999999999", &b, why, sizeof(why)));
	CHECK(!policy_parse_memory("99999999999t", &b, why, sizeof(why)));
	return 0;
}

/* Limits: each compile-time limit is enforced with a clear message. */
static char *
big_list(const char *key, size_t n, const char *item)
{
	size_t cap = 64 + n * (strlen(item) + 2) + strlen(key) * 2, o = 0;
	char *s = malloc(cap);
	const char *dot = strchr(key, '.');

	o += (size_t)snprintf(s + o, cap - o, "{\"sandbox\": {\"%.*s\": {\"%s\": [",
			      (int)(dot - key), key, dot + 1);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s%s", i ? "," : "", item);
	snprintf(s + o, cap - o, "]}}}");
	return s;
}

static int
test_limits(void)
{
	struct cordon_policy pol;
	struct cordon_err err;
	_cleanup_free_ char *rules = big_list("filesystem.denyRead", POLICY_MAX_RULES + 1, "\"x\"");
	_cleanup_free_ char *nets =
	    big_list("network.rules", POLICY_MAX_NET_RULES + 1, "{\"host\": \"a.test\"}");
	_cleanup_free_ char *inj = big_list("credentials.inject", POLICY_MAX_INJECT + 1,
					    "{\"host\": \"a.test\", \"header\": \"h\", "
					    "\"fromEnv\": \"X\"}");
	_cleanup_free_ char *longstr = NULL;
	_cleanup_free_ char *huge = NULL;

	CHECK(parse(&pol, rules, POLICY_LAYER_USER, 0, &err) == -1);
	CHECK(strstr(err.msg, "more than 1024 entries") != NULL);
	policy_free(&pol);
	CHECK(parse(&pol, nets, POLICY_LAYER_USER, 0, &err) == -1);
	CHECK(strstr(err.msg, "more than 256 rules") != NULL);
	policy_free(&pol);
	CHECK(parse(&pol, inj, POLICY_LAYER_USER, 0, &err) == -1);
	CHECK(strstr(err.msg, "more than 64 entries") != NULL);
	policy_free(&pol);
	longstr = malloc(POLICY_MAX_STRING + 64);
	memset(longstr, 'a', POLICY_MAX_STRING + 63);
	memcpy(longstr, "{\"sandbox\": {\"audit\": {\"path\": \"", 32);
	memcpy(longstr + POLICY_MAX_STRING + 58, "\"}}}", 5);
	CHECK(parse(&pol, longstr, POLICY_LAYER_USER, 0, &err) == -1);
	CHECK(strstr(err.msg, "string longer than 4096 bytes") != NULL);
	policy_free(&pol);
	huge = malloc(POLICY_MAX_FILE_SIZE + 2);
	memset(huge, ' ', POLICY_MAX_FILE_SIZE + 1);
	huge[0] = '{';
	huge[POLICY_MAX_FILE_SIZE] = '}';
	huge[POLICY_MAX_FILE_SIZE + 1] = '\0';
	CHECK(parse(&pol, huge, POLICY_LAYER_USER, 0, &err) == -1);
	CHECK(strstr(err.msg, "larger than 1048576 bytes") != NULL);
	policy_free(&pol);
	{
		_cleanup_free_ char *locks = NULL;
		size_t cap = 64 + (POLICY_MAX_LOCKS + 1) * 12, o = 0;

		locks = malloc(cap);
		o += (size_t)snprintf(locks + o, cap - o, "{\"sandbox\": {\"lock\": [");
		for (size_t i = 0; i <= POLICY_MAX_LOCKS; i++)
			o += (size_t)snprintf(locks + o, cap - o, "%s\"network\"", i ? "," : "");
		snprintf(locks + o, cap - o, "]}}");
		CHECK(parse(&pol, locks, POLICY_LAYER_MANAGED, POLICY_PARSE_MANAGED, &err) == -1);
		CHECK(strstr(err.msg, "more than 64 locks") != NULL);
		policy_free(&pol);
	}
	return 0;
}

static int
merge_text(struct cordon_policy *eff, const char *text, enum policy_layer layer, bool trusted,
	   const struct cordon_policy *locks, struct cordon_err *err)
{
	struct cordon_policy one;
	int r;

	r = parse(&one, text, layer, layer == POLICY_LAYER_MANAGED ? POLICY_PARSE_MANAGED : 0, err);
	if (r == 0)
		r = policy_merge(eff, &one, layer, trusted, locks, err);
	policy_free(&one);
	return r;
}

static int
test_untrusted_project_only_tightens(void)
{
	static const char *const widen[] = {
		"{\"sandbox\": {\"filesystem\": {\"allowRead\": [\"~/.ssh\"]}}}",
		"{\"sandbox\": {\"filesystem\": {\"allowWrite\": [\"~\"]}}}",
		"{\"sandbox\": {\"network\": {\"allowedDomains\": [\"evil.test\"]}}}",
		"{\"sandbox\": {\"network\": {\"allowLocalBinding\": true}}}",
		"{\"sandbox\": {\"terminal\": {\"allowClipboard\": true}}}",
		"{\"sandbox\": {\"failIfUnavailable\": false}}",
		"{\"sandbox\": {\"credentials\": {\"envVars\": [{\"name\": \"GITHUB_TOKEN\", "
		"\"mode\": \"allow\"}]}}}",
		"{\"sandbox\": {\"credentials\": {\"inject\": [{\"host\": \"evil.test\", "
		"\"header\": "
		"\"x\", \"fromEnv\": \"HOME\"}]}}}",
		"{\"sandbox\": {\"audit\": {\"path\": \"log.jsonl\"}}}",
		"{\"sandbox\": {\"tls\": {\"bypass\": [\"pinned.test\"]}}}",
	};
	struct cordon_policy eff;
	struct cordon_err err;

	for (size_t i = 0; i < ARRAY_SIZE(widen); i++) {
		policy_init(&eff);
		policy_builtin(&eff);
		CHECK(merge_text(&eff, widen[i], POLICY_LAYER_PROJECT, false, NULL, &err) == -1);
		if (strstr(err.msg, "widens the policy, and an untrusted workspace may only "
				    "tighten it") == NULL) {
			printf("# case %zu: %s\n", i, err.msg);
			return -1;
		}
		CHECK(strstr(err.hint, "cordon trust") != NULL);
		policy_free(&eff);
		/* Trusted, the same file merges. */
		policy_init(&eff);
		CHECK(merge_text(&eff, widen[i], POLICY_LAYER_PROJECT, true, NULL, &err) == 0);
		policy_free(&eff);
	}
	policy_init(&eff);
	CHECK(merge_text(&eff,
			 "{\"sandbox\": {\"filesystem\": {\"denyRead\": [\"secrets\"]}, "
			 "\"network\": {\"deniedDomains\": [\"x.test\"]}, \"resources\": "
			 "{\"pids\": 10}}}",
			 POLICY_LAYER_PROJECT, false, NULL, &err) == 0);
	CHECK(eff.lists[POLICY_FS_DENY_READ].n == 1);
	CHECK(eff.scalars[POLICY_RES_PIDS].u == 10);
	/* Raising a limit set below is widening. */
	CHECK(merge_text(&eff, "{\"sandbox\": {\"resources\": {\"pids\": 100}}}",
			 POLICY_LAYER_PROJECT, false, NULL, &err) == -1);
	policy_free(&eff);
	return 0;
}

static int
test_managed_locks(void)
{
	struct cordon_policy managed, eff, cli;
	struct cordon_err err;

	CHECK(parse(&managed,
		    "{\"sandbox\": {\"lock\": [\"network.allowedDomains\", "
		    "\"filesystem\"], \"network\": {\"allowedDomains\": [\"ok.test\"]}}}",
		    POLICY_LAYER_MANAGED, POLICY_PARSE_MANAGED, &err) == 0);
	CHECK(policy_locked(&managed, "network.allowedDomains"));
	CHECK(policy_locked(&managed, "filesystem.allowWrite"));
	CHECK(!policy_locked(&managed, "network.deniedDomains"));
	policy_init(&eff);
	/* A user file: the locked allow entry is dropped with a note; denies still add. */
	CHECK(merge_text(&eff,
			 "{\"sandbox\": {\"network\": {\"allowedDomains\": [\"more.test\"]}, "
			 "\"filesystem\": {\"denyRead\": [\"~/x\"], \"allowWrite\": [\"/w\"]}}}",
			 POLICY_LAYER_USER, true, &managed, &err) == 0);
	CHECK(eff.lists[POLICY_NET_ALLOWED_DOMAINS].n == 0);
	CHECK(eff.lists[POLICY_FS_ALLOW_WRITE].n == 0);
	CHECK(eff.lists[POLICY_FS_DENY_READ].n == 1);
	CHECK(eff.n_notes == 2);
	CHECK(strstr(eff.notes[0], "locked by managed t.json") != NULL);
	/* The command line: an error. */
	policy_init(&cli);
	CHECK(policy_add_rule(&cli, POLICY_NET_ALLOWED_DOMAINS, "more.test", POLICY_LAYER_CLI,
			      &err) == 0);
	CHECK(policy_merge(&eff, &cli, POLICY_LAYER_CLI, true, &managed, &err) == -1);
	CHECK(strstr(err.msg, "command line: key `sandbox.network.allowedDomains` is locked by "
			      "the managed settings") != NULL);
	policy_free(&cli);
	CHECK(policy_merge(&eff, &managed, POLICY_LAYER_MANAGED, true, &managed, &err) == 0);
	CHECK(eff.lists[POLICY_NET_ALLOWED_DOMAINS].n == 1);
	CHECK_STR(eff.lists[POLICY_NET_ALLOWED_DOMAINS].v[0].value, "ok.test");
	policy_free(&eff);
	policy_free(&managed);
	return 0;
}

static int
test_env(void)
{
	struct cordon_policy pol;
	struct cordon_err err;
	char *envp[] = { "PATH=/bin",         "GITHUB_TOKEN=x",   "github_token=y",
			 "MY_SECRET_THING=z", "AWS_REGION=eu",    "DB_PASSWORD=p",
			 "SSH_AUTH_SOCK=/s",  "OPENAI_API_KEY=k", "CORDON_SANDBOX=0",
			 "KEEP_TOKEN=ok",     "HOME=/h",          NULL };
	char **out;
	size_t gone = 0;

	policy_init(&pol);
	policy_builtin(&pol);
	CHECK(policy_env_denied(&pol, "GITHUB_TOKEN"));
	CHECK(policy_env_denied(&pol, "ANTHROPIC_API_KEY"));
	CHECK(!policy_env_denied(&pol, "PATH"));
	CHECK(policy_add_rule(&pol, POLICY_CRED_ENV_ALLOW, "KEEP_TOKEN", POLICY_LAYER_CLI, &err) ==
	      0);
	CHECK(!policy_env_denied(&pol, "KEEP_TOKEN"));
	/* An exact deny beats an allow pattern. */
	CHECK(policy_add_rule(&pol, POLICY_CRED_ENV_ALLOW, "HOME*", POLICY_LAYER_CLI, &err) == 0);
	CHECK(policy_add_rule(&pol, POLICY_CRED_ENV_DENY, "HOME", POLICY_LAYER_CLI, &err) == 0);
	CHECK(policy_env_denied(&pol, "HOME"));
	out = policy_env_scrub(&pol, envp, &gone);
	CHECK_STR(out[0], "PATH=/bin");
	CHECK_STR(out[1], "KEEP_TOKEN=ok");
	CHECK_STR(out[2], "CORDON_SANDBOX=1");
	CHECK(out[3] == NULL);
	CHECK(gone == 8);
	free(out);
	policy_free(&pol);
	return 0;
}

/* Values that are credentials whatever the variable's name. */
static int
test_env_values(void)
{
	static const char *const secret[] = {
		"postgres://user:pw@db.example.test:5432/app",
		"mongodb+srv://u:p%40ss@cluster.example.test/db",
		"redis://:hunter2@cache.example.test:6379",
		"https://u:tok@git.example.test/org/repo.git",
		"host=db user=app password=s3cret dbname=x",
		"Server=db;Uid=app;Pwd=s3cret;",
		"ghp_abcdefghijklmnopqrstuvwxyz0123456789",
		"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789",
		"sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
		"AKIAIOSFODNN7EXAMPLE",
		"xoxb-123456789012-abcdefghijklmnop",
		"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r\n",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
	};
	static const char *const plain[] = {
		"/usr/local/bin:/usr/bin",
		"https://example.test/path?q=1",
		"ssh://git@github.example.test/org/repo.git",
		"git@github.example.test:org/repo.git",
		"user@host",
		"password=",
		"sk-short",
		"AKIA",
		"en_US.UTF-8",
		"xterm-256color",
		"eyJhbGciOiJIUzI1NiJ9",
		"http://proxy.example.test:3128",
		"",
	};
	struct cordon_policy pol;
	struct cordon_err err;

	for (size_t i = 0; i < ARRAY_SIZE(secret); i++)
		CHECK(policy_env_value_secret(secret[i]));
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
		CHECK(!policy_env_value_secret(plain[i]));
	policy_init(&pol);
	policy_builtin(&pol);
	CHECK(policy_env_secret(&pol, "DATABASE_URL", secret[0]));
	CHECK(!policy_env_secret(&pol, "DATABASE_URL", "postgres://db.example.test/app"));
	CHECK(policy_env_secret(&pol, "GITHUB_TOKEN", "x"));
	/* An explicit allow keeps a variable whatever its value. */
	CHECK(policy_add_rule(&pol, POLICY_CRED_ENV_ALLOW, "DATABASE_URL", POLICY_LAYER_CLI,
			      &err) == 0);
	CHECK(!policy_env_secret(&pol, "DATABASE_URL", secret[0]));
	policy_free(&pol);
	return 0;
}

static int
test_pos_find(void)
{
	static const char text[] =
	    "{ \"a\" : [ 1, {\"b\\\"c\": \"x\"}, \"y\" ],\n \"d\": {\"e\": null} }";
	struct policy_jpath p1[] = { { "a", 0 }, { NULL, 2 } };
	struct policy_jpath p2[] = { { "a", 0 }, { NULL, 1 }, { "b\"c", 0 } };
	struct policy_jpath p3[] = { { "d", 0 }, { "e", 0 } };
	struct policy_jpath p4[] = { { "d", 0 }, { "zz", 0 } };
	unsigned line, col, lines[4], cols[4];

	CHECK(policy_pos_find(text, strlen(text), p1, 2, 0, &line, &col) == 0);
	CHECK(line == 1 && col == 29);
	CHECK(policy_pos_find(text, strlen(text), p2, 3, 1, &line, &col) == 0);
	CHECK(line == 1 && col == 15);
	CHECK(policy_pos_find(text, strlen(text), p3, 2, 0, &line, &col) == 0);
	CHECK(line == 2 && col == 13);
	CHECK(policy_pos_find(text, strlen(text), p4, 2, 0, &line, &col) == -1);
	CHECK(policy_pos_elements(text, strlen(text), p1, 1, lines, cols, 4) == 3);
	CHECK(lines[0] == 1 && cols[0] == 11 && cols[1] == 14 && cols[2] == 29);
	/* Not JSON at all: no crash, a position. */
	CHECK(policy_pos_find("[[[[", 4, p1, 2, 0, &line, &col) == -1);
	return 0;
}

static int
test_render(void)
{
	struct cordon_policy pol;
	struct cordon_err err;
	_cleanup_free_ char *text = NULL, *json = NULL;

	CHECK(parse(&pol, "{\"sandbox\": {\"filesystem\": {\"denyRead\": [\"~/x\"]}}}",
		    POLICY_LAYER_USER, 0, &err) == 0);
	text = policy_render_text(&pol);
	json = policy_render_json(&pol);
	CHECK(strstr(text, "filesystem.denyRead") != NULL);
	CHECK(strstr(text, "(user t.json:1:42)") != NULL);
	CHECK(strstr(json, "\"source\": \"t.json:1:42\"") != NULL);
	{
		size_t n = 0;
		const char **v = policy_values(&pol, POLICY_FS_DENY_READ, &n);

		CHECK(n == 1 && v[1] == NULL);
		CHECK_STR(v[0], "~/x");
		free(v);
	}
	/* terminal.allowClipboard: shown with its default, false */
	CHECK(strstr(text, "terminal.allowClipboard      false") != NULL);
	CHECK(!policy_terminal_allow_clipboard(&pol));
	CHECK(!policy_terminal_allow_clipboard(NULL));
	policy_free(&pol);
	free(text);
	free(json);
	CHECK(parse(&pol, "{\"sandbox\": {\"terminal\": {\"allowClipboard\": true}}}",
		    POLICY_LAYER_USER, 0, &err) == 0);
	text = policy_render_text(&pol);
	json = policy_render_json(&pol);
	CHECK(strstr(text, "terminal.allowClipboard      true") != NULL);
	CHECK(strstr(json, "\"terminal\": {") != NULL);
	CHECK(policy_terminal_allow_clipboard(&pol));
	policy_free(&pol);
	/* a wrong type is refused at its position */
	CHECK(parse(&pol, "{\"sandbox\": {\"terminal\": {\"allowClipboard\": 1}}}",
		    POLICY_LAYER_USER, 0, &err) == -1);
	CHECK(strstr(err.msg, "sandbox.terminal.allowClipboard") != NULL);
	policy_free(&pol);
	return 0;
}

/* credentials.inject: the header and Basic forms, from a variable or a file. */
static int
test_inject_forms(void)
{
	static const char text[] =
	    "{\"sandbox\": {\"credentials\": {\"inject\": [\n"
	    "  {\"host\": \"git.test\", \"basic\": {\"user\": \"x-access-token\"}, \"fromEnv\": "
	    "\"GIT_TOKEN\"},\n"
	    "  {\"host\": \"api.test\", \"header\": \"X-Api-Key\", \"fromFile\": \"~/.api-key\", "
	    "\"prefix\": \"token \"},\n"
	    "  {\"host\": \"b.test\", \"basic\": {\"userFromEnv\": \"B_USER\"}, \"fromFile\": "
	    "\"/etc/b-pass\"}]}}}\n";
	struct cordon_policy pol, eff;
	struct cordon_err err;
	_cleanup_free_ char *out = NULL, *json = NULL;

	CHECK(parse(&pol, text, POLICY_LAYER_USER, 0, &err) == 0);
	CHECK(pol.n_inject == 3);
	CHECK(pol.inject[0].header == NULL && pol.inject[0].from_file == NULL);
	CHECK_STR(pol.inject[0].basic_user, "x-access-token");
	CHECK_STR(pol.inject[0].from_env, "GIT_TOKEN");
	CHECK_STR(pol.inject[1].header, "X-Api-Key");
	CHECK_STR(pol.inject[1].from_file, "~/.api-key");
	CHECK_STR(pol.inject[1].prefix, "token ");
	CHECK(pol.inject[1].from_env == NULL && pol.inject[1].basic_user == NULL);
	CHECK_STR(pol.inject[2].basic_user_env, "B_USER");
	CHECK(pol.inject[2].basic_user == NULL);
	CHECK_STR(pol.inject[2].from_file, "/etc/b-pass");
	CHECK(pol.inject[2].origin.line == 4 && pol.inject[2].origin.col == 3);
	/* merged into another policy, every field is kept */
	policy_init(&eff);
	CHECK(policy_merge(&eff, &pol, POLICY_LAYER_USER, true, NULL, &err) == 0);
	CHECK(eff.n_inject == 3);
	CHECK_STR(eff.inject[0].basic_user, "x-access-token");
	CHECK_STR(eff.inject[1].from_file, "~/.api-key");
	CHECK_STR(eff.inject[2].basic_user_env, "B_USER");
	out = policy_render_text(&eff);
	json = policy_render_json(&eff);
	CHECK(strstr(out, "git.test Authorization Basic user x-access-token: from $GIT_TOKEN") !=
	      NULL);
	CHECK(strstr(out, "api.test X-Api-Key \"token ...\": from file ~/.api-key") != NULL);
	CHECK(strstr(out, "b.test Authorization Basic user from $B_USER: from file /etc/b-pass") !=
	      NULL);
	CHECK(strstr(json, "\"basic\": {\n            \"user\": \"x-access-token\"") != NULL);
	CHECK(strstr(json, "\"fromFile\": \"~/.api-key\"") != NULL);
	CHECK(strstr(json, "\"userFromEnv\": \"B_USER\"") != NULL);
	policy_free(&eff);
	policy_free(&pol);
	return 0;
}

/* tls.inspect and tls.bypass: host lists; a bypass a rule or an injection needs is refused. */
static int
test_tls_lists(void)
{
	static const char text[] = "{\"sandbox\": {\"tls\": {\"inspect\": [\"*.docs.test\"],\n"
				   "  \"bypass\": [\"pinned.test:443\", \"*.bank.test\"]}}}\n";
	static const char rule[] =
	    "{\"sandbox\": {\"network\": {\"rules\": [{\"host\": \"api.bank.test\", "
	    "\"methods\": [\"GET\"]}]}}}";
	struct cordon_policy pol, eff;
	struct cordon_err err;
	_cleanup_free_ char *out = NULL;

	CHECK(parse(&pol, text, POLICY_LAYER_USER, 0, &err) == 0);
	CHECK(pol.lists[POLICY_TLS_INSPECT].n == 1 && pol.lists[POLICY_TLS_BYPASS].n == 2);
	CHECK_STR(pol.lists[POLICY_TLS_BYPASS].v[1].value, "*.bank.test");
	CHECK(pol.lists[POLICY_TLS_BYPASS].v[1].origin.line == 2);
	CHECK(policy_check_tls_bypass(&pol, &err) == 0);
	policy_init(&eff);
	CHECK(policy_merge(&eff, &pol, POLICY_LAYER_USER, true, NULL, &err) == 0);
	CHECK(eff.lists[POLICY_TLS_BYPASS].n == 2);
	out = policy_render_text(&eff);
	CHECK(strstr(out, "tls.inspect") != NULL && strstr(out, "*.docs.test") != NULL);
	CHECK(strstr(out, "tls.bypass") != NULL && strstr(out, "pinned.test:443") != NULL);
	/* a rule from another layer for a bypassed host: refused, both named */
	CHECK(merge_text(&eff, rule, POLICY_LAYER_CLI, true, NULL, &err) == 0);
	CHECK(policy_check_tls_bypass(&eff, &err) == -1);
	CHECK(strstr(err.msg, "\"*.bank.test\" conflicts with network.rules \"api.bank.test\"") !=
	      NULL);
	CHECK(strstr(err.hint, "remove one") != NULL);
	policy_free(&eff);
	policy_free(&pol);
	/* a CIDR is not one host; a string is not a list */
	CHECK(parse(&pol, "{\"sandbox\": {\"tls\": {\"inspect\": [\"10.0.0.0/8\"]}}}",
		    POLICY_LAYER_USER, 0, &err) == -1);
	policy_free(&pol);
	CHECK(parse(&pol, "{\"sandbox\": {\"tls\": {\"bypass\": \"x.test\"}}}", POLICY_LAYER_USER,
		    0, &err) == -1);
	policy_free(&pol);
	/* an untrusted project may add inspect (visibility only) */
	policy_init(&eff);
	CHECK(merge_text(&eff, "{\"sandbox\": {\"tls\": {\"inspect\": [\"x.test\"]}}}",
			 POLICY_LAYER_PROJECT, false, NULL, &err) == 0);
	CHECK(eff.lists[POLICY_TLS_INSPECT].n == 1);
	policy_free(&eff);
	/* overlap of host patterns */
	CHECK(policy_hosts_overlap("*.a.test", "b.a.test"));
	CHECK(!policy_hosts_overlap("*.a.test", "a.test"));
	CHECK(policy_hosts_overlap("*.a.test", "*.b.a.test"));
	CHECK(policy_hosts_overlap("A.Test", "a.test:443"));
	CHECK(!policy_hosts_overlap("a.test:443", "a.test:8443"));
	CHECK(!policy_hosts_overlap("a.test", "b.test"));
	CHECK(policy_hosts_overlap("[2001:db8::1]:443", "2001:db8::1"));
	CHECK(policy_hosts_overlap("2001:db8:0::1", "[2001:DB8::1]:443"));
	CHECK(!policy_hosts_overlap("2001:db8::1", "2001:db8::2"));
	/* as the proxy reads names: IDNA, and any port */
	CHECK(policy_hosts_overlap("b\xc3\xbc"
				   "cher.example",
				   "xn--bcher-kva.example"));
	CHECK(policy_hosts_overlap("a.test:*", "a.test:8443"));
	CHECK(!policy_hosts_overlap("[2001:db8::1]:443", "[2001:db8::1]:80"));
	return 0;
}

/* Every refused combination, at its key, with a hint. */
static int
test_inject_refusals(void)
{
#define INJ(entry) "{\"sandbox\": {\"credentials\": {\"inject\": [" entry "]}}}"
#define AT         "t.json:1:"
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"header\": \"X\", \"basic\": "
				   "{\"user\": \"u\"}, \"fromEnv\": \"A\"}"),
			       AT "75: key `sandbox.credentials.inject[0].basic`: \"header\" and "
				  "\"basic\" exclude each other") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"fromEnv\": \"A\"}"),
			       AT "41: key `sandbox.credentials.inject[0]`: missing required key "
				  "\"header\" or \"basic\"") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"header\": \"X\", \"fromEnv\": \"A\", "
				   "\"fromFile\": \"/k\"}"),
			       AT
			       "91: key `sandbox.credentials.inject[0].fromFile`: \"fromEnv\" and "
			       "\"fromFile\" exclude each other") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"header\": \"X\"}"),
			       AT "41: key `sandbox.credentials.inject[0]`: missing required key "
				  "\"fromEnv\" or \"fromFile\"") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"header\": \"X\", \"fromFile\": "
				   "\"k\"}"),
			       AT
			       "87: key `sandbox.credentials.inject[0].fromFile`: expected an "
			       "absolute path or `~/...`: the file is read on the host, where no "
			       "workspace is implied") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"header\": \"X\", \"fromFile\": "
				   "\"~/k*\"}"),
			       AT "87: key `sandbox.credentials.inject[0].fromFile`: expected one "
				  "file, not a pattern") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"basic\": {\"user\": \"u\"}, "
				   "\"fromEnv\": \"A\", \"prefix\": \"x\"}"),
			       AT "100: key `sandbox.credentials.inject[0].prefix`: \"prefix\" "
				  "applies to \"header\", not to \"basic\"") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"header\": \"X\", \"fromEnv\": \"A\", "
				   "\"format\": \"token {value}\"}"),
			       AT
			       "91: key `sandbox.credentials.inject[0].format`: unknown key: the "
			       "text before the value is \"prefix\"") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"basic\": {}, \"fromEnv\": \"A\"}"),
			       AT "69: key `sandbox.credentials.inject[0].basic`: missing required "
				  "key \"user\" or \"userFromEnv\"") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"basic\": {\"user\": \"a:b\"}, "
				   "\"fromEnv\": \"A\"}"),
			       AT
			       "78: key `sandbox.credentials.inject[0].basic.user`: a Basic user "
			       "name cannot hold `:` (RFC 7617)") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"basic\": {\"user\": \"a\", "
				   "\"userFromEnv\": \"B\"}, \"fromEnv\": \"A\"}"),
			       AT "83: key `sandbox.credentials.inject[0].basic.userFromEnv`: "
				  "\"user\" and \"userFromEnv\" exclude each other") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"basic\": \"u\", \"fromEnv\": \"A\"}"),
			       AT "69: key `sandbox.credentials.inject[0].basic`: expected a "
				  "{\"user\"} or {\"userFromEnv\"} object, got string") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"basic\": {\"password\": \"u\"}, "
				   "\"fromEnv\": \"A\"}"),
			       AT "70: key `sandbox.credentials.inject[0].basic.password`: unknown "
				  "key") == 0);
	CHECK(parse_fails_with(INJ("{\"host\": \"h.test\", \"basic\": {\"userFromEnv\": "
				   "\"B-1\"}, \"fromEnv\": \"A\"}"),
			       AT "85: key `sandbox.credentials.inject[0].basic.userFromEnv`: "
				  "expected a variable name (letters, digits, `_`)") == 0);
#undef AT
#undef INJ
	return 0;
}

/* cordon allow --save: the edit keeps every other key and never duplicates. */
static int
test_edit_allow_domain(void)
{
	struct cordon_err err = { 0 };
	struct cordon_policy pol;
	bool added;
	char *out;
	const char *in = "{\"sandbox\": {\"filesystem\": {\"denyRead\": [\"~/x\"]}, "
			 "\"resources\": {\"pids\": 500}}}";

	out = policy_edit_allow_domain(NULL, 0, "s.json", "a.test", &added, &err);
	CHECK(out != NULL && added);
	CHECK(strcmp(out,
		     "{\n  \"sandbox\": {\n    \"network\": {\n      "
		     "\"allowedDomains\": [\n        \"a.test\"\n      ]\n    }\n  }\n}\n") == 0);
	free(out);
	out = policy_edit_allow_domain(in, strlen(in), "s.json", "b.test:8080", &added, &err);
	CHECK(out != NULL && added);
	/* keys in their order, the new list where it belongs */
	CHECK(strstr(out, "\"denyRead\"") < strstr(out, "\"pids\": 500"));
	CHECK(strstr(out, "\"pids\": 500") < strstr(out, "\"allowedDomains\""));
	CHECK(parse(&pol, out, POLICY_LAYER_USER, 0, &err) == 0);
	policy_free(&pol);
	{
		char *again = policy_edit_allow_domain(out, strlen(out), "s.json", "b.test:8080",
						       &added, &err);

		CHECK(again != NULL && !added && strcmp(again, out) == 0);
		free(again);
	}
	free(out);
	/* a document of another shape is refused, naming the key */
	CHECK(policy_edit_allow_domain("[]", 2, "s.json", "a.test", &added, &err) == NULL);
	CHECK(strstr(err.msg, "the document is not an object") != NULL);
	CHECK(policy_edit_allow_domain("{\"sandbox\": {\"network\": {\"allowedDomains\": 1}}}", 47,
				       "s.json", "a.test", &added, &err) == NULL);
	CHECK(strstr(err.msg, "allowedDomains is not a list") != NULL);
	CHECK(policy_edit_allow_domain("{\"a\": ", 6, "s.json", "a.test", &added, &err) == NULL);
	CHECK(strncmp(err.msg, "s.json:1:", 9) == 0);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_parse_full_example);
	TAP_RUN(test_error_positions);
	TAP_RUN(test_duplicate_key_refused);
	TAP_RUN(test_claude_settings_ignore_other_keys);
	TAP_RUN(test_value_checks);
	TAP_RUN(test_domains);
	TAP_RUN(test_memory);
	TAP_RUN(test_limits);
	TAP_RUN(test_untrusted_project_only_tightens);
	TAP_RUN(test_managed_locks);
	TAP_RUN(test_env);
	TAP_RUN(test_inject_forms);
	TAP_RUN(test_tls_lists);
	TAP_RUN(test_inject_refusals);
	TAP_RUN(test_env_values);
	TAP_RUN(test_pos_find);
	TAP_RUN(test_render);
	TAP_RUN(test_edit_allow_domain);
	return tap_done();
}
