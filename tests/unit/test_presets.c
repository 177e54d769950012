/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/load.h"
#include "policy/policy.h"
#include "presets/presets.h"
#include "tap.h"

static bool
has(const struct preset_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

/* Some entry of v contains s. */
static bool
has_sub(const struct preset_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strstr(v->v[i], s) != NULL)
			return true;
	return false;
}

static int
test_url_host(void)
{
	static const struct {
		const char *url, *host;
		uint16_t port;
	} ok[] = {
		{ "https://Registry.Example.TEST/", "registry.example.test", 0 },
		{ "http://u:p@h.example.test:8080/x?y", "h.example.test", 8080 },
		{ "sparse+https://cargo.example.test/index/", "cargo.example.test", 0 },
		{ "https://[2001:DB8::1]:443/", "2001:db8::1", 443 },
		{ "https://example.test./", "example.test", 0 },
		{ "http://127.0.0.1:4000", "127.0.0.1", 4000 },
	};
	static const char *const bad[] = {
		"ftp://x.test/",
		"https://",
		"https:///x",
		"x.test",
		"https://a b.test/",
		"https://[zz]/",
		"https://-x.test",
		"https://h.test:0/",
		"https://h.test:65536/",
		"https://h.test:8x/",
		"https://[::1]x/",
	};
	char host[256];
	uint16_t port;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK(preset_url_host(ok[i].url, strlen(ok[i].url), host, sizeof(host), &port) ==
		      0);
		CHECK_STR(host, ok[i].host);
		CHECK(port == ok[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (preset_url_host(bad[i], strlen(bad[i]), host, sizeof(host), NULL) == 0) {
			printf("# accepted %s -> %s\n", bad[i], host);
			return -1;
		}
	CHECK(preset_url_host("https://abcdef.test/", 20, host, 4, NULL) == -1);
	return 0;
}

struct kvlog {
	char text[1024];
};

static void
log_kv(const struct preset_kv *kv, void *arg)
{
	struct kvlog *l = arg;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof(l->text) - n, "[%.*s]%.*s=<%.*s>;", (int)kv->section_len,
		 kv->section, (int)kv->key_len, kv->key, (int)kv->value_len, kv->value);
}

static int
test_ini_scan(void)
{
	static const char ini[] = "top = 1\r\n"
				  "; comment = no\n"
				  "# comment = no\n"
				  "[ global ]\n"
				  "a: b\n"
				  "multi =\n"
				  "   one\n"
				  "\n"
				  "   two\n"
				  "last = x";
	struct kvlog l = { "" };

	preset_ini_scan(ini, strlen(ini), 0, log_kv, &l);
	CHECK_STR(l.text, "[]top=<1>;[global]multi=<>;[global]last=<x>;");
	l.text[0] = '\0';
	preset_ini_scan(ini, strlen(ini), PRESET_INI_CONTINUATION | PRESET_INI_COLON, log_kv, &l);
	CHECK_STR(l.text, "[]top=<1>;[global]a=<b>;[global]multi=<\n   one\n\n   two>;"
			  "[global]last=<x>;");
	/* Empty input, a lone header, a key without '=' and an unterminated header. */
	l.text[0] = '\0';
	preset_ini_scan("", 0, PRESET_INI_CONTINUATION, log_kv, &l);
	preset_ini_scan("[x", 2, 0, log_kv, &l);
	preset_ini_scan("novalue\n=x\n", 11, 0, log_kv, &l);
	CHECK_STR(l.text, "");
	return 0;
}

static int
test_npmrc(void)
{
	static const char rc[] = "; comment\n"
				 "registry=https://first.example.test/\n"
				 "registry = \"https://npm.mirror.example.test/\"\n"
				 "@corp:registry = https://old.example.test/npm/\n"
				 "@corp:registry=https://corp.example.test/npm/\n"
				 "@other:registry=${OTHER_REGISTRY}\n"
				 "//corp.example.test/npm/:_authToken=${NPM_TOKEN}\n"
				 "prefix=/opt/node\n"
				 "globalconfig=/etc/npm/npmrc\n"
				 "script-shell=/tmp/evil.sh\n"
				 "always-auth=true\r\n";
	struct preset_npmrc c;

	memset(&c, 0, sizeof(c));
	preset_parse_npmrc(rc, strlen(rc), &c);
	CHECK_STR(c.registry, "https://npm.mirror.example.test/");
	CHECK(c.scoped.n == 1);
	CHECK_STR(c.scoped.v[0], "@corp:registry=https://corp.example.test/npm/");
	CHECK_STR(c.prefix, "/opt/node");
	CHECK_STR(c.globalconfig, "/etc/npm/npmrc");
	preset_strv_free(&c.scoped);
	/* A registry given by ${VAR} is npm's to expand: ignored. */
	memset(&c, 0, sizeof(c));
	preset_parse_npmrc("registry=${REG}\n", 16, &c);
	CHECK_STR(c.registry, "");
	return 0;
}

static int
test_npm_default(void)
{
	static const char defs[] =
	    "  'read-only': new Definition('read-only', {\n    default: false,\n  }),\n"
	    "  registry: new Definition('registry', {\n"
	    "    default: 'https://npm-default.example.test/',\n"
	    "    type: url,\n  }),\n";
	static const char not_literal[] =
	    "registry: new Definition('registry', {\n"
	    "    default: process.env.X,\n    hint: 'https://x.test/',\n";
	static const char defs_npm9[] = "define('registry', {\n"
					"  default: 'https://npm9-default.example.test/',\n"
					"  type: url,\n";
	char url[256];

	CHECK(preset_parse_npm_default(defs, strlen(defs), url, sizeof(url)) == 0);
	CHECK_STR(url, "https://npm-default.example.test/");
	CHECK(preset_parse_npm_default(defs_npm9, strlen(defs_npm9), url, sizeof(url)) == 0);
	CHECK_STR(url, "https://npm9-default.example.test/");
	CHECK(preset_parse_npm_default(not_literal, strlen(not_literal), url, sizeof(url)) == -1);
	CHECK(preset_parse_npm_default("registry", 8, url, sizeof(url)) == -1);
	CHECK(preset_parse_npm_default(defs, strlen(defs), url, 8) == -1);
	return 0;
}

static int
test_pipconf(void)
{
	static const char conf[] = "[global]\n"
				   "index-url = https://pypi.mirror.example.test/simple\n"
				   "extra-index-url =\n"
				   "    https://extra1.example.test/simple\n"
				   "    https://extra2.example.test/simple\n"
				   "timeout = 60\n"
				   "    https://not-a-continuation.example.test/\n"
				   "[install]\n"
				   "find-links: https://links.example.test/\n"
				   "trusted-host = trusted.example.test\n";
	struct preset_pip_conf c = { 0 };

	preset_parse_pipconf(conf, strlen(conf), &c);
	CHECK(c.index.n == 1 && has(&c.index, "pypi.mirror.example.test"));
	CHECK(has(&c.extra, "extra1.example.test"));
	CHECK(has(&c.extra, "extra2.example.test"));
	CHECK(has(&c.extra, "links.example.test"));
	CHECK(c.extra.n == 3);
	CHECK(!has(&c.extra, "not-a-continuation.example.test"));
	CHECK(!has(&c.extra, "trusted.example.test") && !has(&c.index, "trusted.example.test"));
	preset_strv_free(&c.index);
	preset_strv_free(&c.extra);
	return 0;
}

static int
test_pip_default(void)
{
	static const char py[] = "class PackageIndex:\n    pass\n\n"
				 "PyPI = PackageIndex(\"https://pypi-default.example.test/\", "
				 "file_storage_domain=\"files-default.example.test\")\n"
				 "TestPyPI = PackageIndex(\n    \"https://test.example.test/\")\n";
	struct preset_strv v = { 0 };

	CHECK(preset_parse_pip_default(py, strlen(py), &v) == 0);
	CHECK(v.n == 2 && has(&v, "pypi-default.example.test") &&
	      has(&v, "files-default.example.test"));
	preset_strv_free(&v);
	CHECK(preset_parse_pip_default("PyPI = PackageIndex(", 20, &v) == -1 && v.n == 0);
	return 0;
}

static int
test_cargo(void)
{
	static const char conf[] = "[source.crates-io]\n"
				   "replace-with = \"corp\"\n"
				   "[source.corp]\n"
				   "registry = \"sparse+https://cargo.example.test/index/\"\n"
				   "[registries]\n"
				   "other = { index = \"https://other.example.test/git/index\" }\n"
				   "[registries.third]\n"
				   "index = 'https://third.example.test/'\n"
				   "[net]\n"
				   "index = \"https://not-a-registry.example.test/\"\n"
				   "[http]\n"
				   "proxy = \"http://proxy.example.test:3128\"\n";
	struct preset_cargo_conf c = { 0 };

	preset_parse_cargo(conf, strlen(conf), &c);
	CHECK(c.crates_io_replaced);
	CHECK(has(&c.hosts, "cargo.example.test"));
	CHECK(has(&c.hosts, "other.example.test"));
	CHECK(has(&c.hosts, "third.example.test"));
	CHECK(c.hosts.n == 3);
	preset_strv_free(&c.hosts);
	memset(&c, 0, sizeof(c));
	preset_parse_cargo("registries.x.index = \"https://dotted.example.test/\"\n", 52, &c);
	CHECK(!c.crates_io_replaced && c.hosts.n == 1 && has(&c.hosts, "dotted.example.test"));
	preset_strv_free(&c.hosts);
	return 0;
}

static int
test_toml(void)
{
	static const char conf[] = "[[index]]\n"
				   "url = \"https://uv.example.test/simple\"\n"
				   "homepage = \"https://ignored.example.test/\"\n"
				   "extra-index-url = [\n"
				   "  \"https://a.example.test/\",\n"
				   "  \"https://b.example.test/\" ]\n"
				   "x = { index-url = 'https://inline.example.test/', y = 1 }\n";
	static const char *const keys[] = { "index-url", "url", "extra-index-url", NULL };
	struct preset_strv v = { 0 };

	preset_parse_toml_urls(conf, strlen(conf), keys, &v);
	CHECK(has(&v, "uv.example.test"));
	CHECK(has(&v, "a.example.test"));
	CHECK(has(&v, "b.example.test"));
	CHECK(has(&v, "inline.example.test"));
	CHECK(!has(&v, "ignored.example.test"));
	preset_strv_free(&v);
	return 0;
}

static int
test_go(void)
{
	static const char env[] = "GOPROXY=https://goproxy.example.test,direct\n"
				  "GOSUMDB=sum.example.test\n"
				  "GOPROXY=https://later.example.test|off\n";
	char v[256];
	struct preset_strv h = { 0 };

	CHECK(preset_parse_goenv(env, strlen(env), "GOPROXY", v, sizeof(v)) == 0);
	CHECK_STR(v, "https://later.example.test|off");
	CHECK(preset_parse_goenv(env, strlen(env), "GOPRIVATE", v, sizeof(v)) == -1);
	preset_parse_goproxy("https://goproxy.example.test, https://g2.example.test|direct", 61,
			     &h);
	CHECK(h.n == 2 && has(&h, "goproxy.example.test") && has(&h, "g2.example.test"));
	preset_strv_free(&h);
	preset_parse_gosumdb("sum.example.test+033de0ae+Ac4zctda", 35, &h);
	CHECK(h.n == 1 && has(&h, "sum.example.test"));
	preset_strv_free(&h);
	preset_parse_gosumdb("sum.example.test https://sumproxy.example.test/x", 49, &h);
	CHECK(h.n == 1 && has(&h, "sumproxy.example.test"));
	preset_strv_free(&h);
	preset_parse_gosumdb("off", 3, &h);
	CHECK(h.n == 0);
	return 0;
}

static int
test_maven_gradle(void)
{
	static const char xml[] = "<settings><!-- <mirror><url>https://commented.example.test/"
				  "</url></mirror> --><mirrors><mirror><id>m</id><url>\n  "
				  "https://maven.example.test/repo\n</url></mirror></mirrors>"
				  "<profiles><profile><repositories><repository><url>"
				  "https://repo.example.test/r</url></repository></repositories>"
				  "</profile></profiles>"
				  "<url>http://loose.example.test</url><mirror><url>";
	static const char gradle[] =
	    "distributionUrl=https\\://gradle.example.test/distributions/gradle-8.5-bin.zip\n"
	    "repositories { maven { url = uri(\"https://repo.example.test/maven2\") } }\n"
	    "// url \"https://commented.example.test/\"\n"
	    "def x = \"https://not-a-repo.example.test/\"\n";
	struct preset_strv v = { 0 };

	preset_parse_maven(xml, strlen(xml), &v);
	CHECK(v.n == 2 && has(&v, "maven.example.test") && has(&v, "repo.example.test"));
	preset_strv_free(&v);
	preset_parse_gradle(gradle, strlen(gradle), &v);
	CHECK(has(&v, "gradle.example.test"));
	CHECK(has(&v, "repo.example.test"));
	CHECK(!has(&v, "commented.example.test"));
	CHECK(!has(&v, "not-a-repo.example.test"));
	preset_strv_free(&v);
	return 0;
}

static int
test_lookup(void)
{
	const struct cordon_preset *p = preset_lookup("claude");
	size_t n;

	CHECK(p != NULL && p->kind == PRESET_AGENT);
	CHECK_STR(p->program, "claude");
	CHECK(p->agent_args != NULL && p->agent_args[1] != NULL &&
	      strstr(p->agent_args[1], "\"command\":\"@CORDON@ hook claude\"") != NULL);
	CHECK(preset_lookup("npm") == preset_lookup("node"));
	CHECK(preset_lookup("cargo") == preset_lookup("rust"));
	CHECK(preset_lookup("nope") == NULL);
	CHECK(preset_all(&n) != NULL && n == 8);
	return 0;
}

static int
write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");

	if (f == NULL)
		return -1;
	fputs(s, f);
	return fclose(f);
}

static void
mkdir_p(char *p)
{
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

static void
mkdirs(const char *base, const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	mkdir_p(p);
}

static void
put(const char *base, const char *rel, const char *content)
{
	char p[1024];
	char *slash;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	slash = strrchr(p, '/');
	*slash = '\0';
	mkdir_p(p);
	*slash = '/';
	write_file(p, content);
}

static void
clear_env(void)
{
	static const char *const names[] = {
		"npm_config_registry",
		"NPM_CONFIG_REGISTRY",
		"npm_config_userconfig",
		"NPM_CONFIG_USERCONFIG",
		"npm_config_globalconfig",
		"NPM_CONFIG_GLOBALCONFIG",
		"npm_config_prefix",
		"NPM_CONFIG_PREFIX",
		"PREFIX",
		"PIP_INDEX_URL",
		"PIP_EXTRA_INDEX_URL",
		"PIP_FIND_LINKS",
		"PIP_CONFIG_FILE",
		"VIRTUAL_ENV",
		"XDG_CONFIG_HOME",
		"XDG_CONFIG_DIRS",
		"XDG_CACHE_HOME",
		"UV_INDEX_URL",
		"UV_DEFAULT_INDEX",
		"UV_EXTRA_INDEX_URL",
		"UV_INDEX",
		"GOPROXY",
		"GOSUMDB",
		"GOENV",
		"GOROOT",
		"GOPATH",
		"GOMODCACHE",
		"GOCACHE",
		"CARGO_HOME",
		"ANTHROPIC_BASE_URL",
		"ANTHROPIC_BEDROCK_BASE_URL",
		"ANTHROPIC_VERTEX_BASE_URL",
		"ANTHROPIC_API_KEY",
		"ANTHROPIC_AUTH_TOKEN",
		"CLAUDE_CODE_OAUTH_TOKEN",
		"OPENAI_API_KEY",
		"CODEX_API_KEY",
		"OPENAI_BASE_URL",
		"GEMINI_API_KEY",
		"GOOGLE_API_KEY",
		"GOOGLE_GEMINI_BASE_URL",
		"MAVEN_HOME",
		"M2_HOME",
		"GRADLE_USER_HOME",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
}

static int
test_resolve_claude(void)
{
	struct preset_env env = { .home = "/nonexistent/home/u",
				  .workspace = "/nonexistent/home/u/proj" };
	struct preset_resolved r = { 0 };
	struct cordon_err err;

	clear_env();
	setenv("ANTHROPIC_BASE_URL", "https://gw.example.test:8443/anthropic", 1);
	setenv("ANTHROPIC_VERTEX_BASE_URL", "http://10.1.2.3:9000", 1);
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(has(&r.domains, "api.anthropic.com"));
	CHECK(has(&r.domains, "gw.example.test:8443"));
	CHECK(!has_sub(&r.domains, "10.1.2.3"));
	CHECK(has_sub(&r.notes, "10.1.2.3, an address the proxy refuses"));
	CHECK(has(&r.state, "/nonexistent/home/u/.claude"));
	CHECK(has(&r.state, "/nonexistent/home/u/.claude.json"));
	CHECK(has(&r.readonly, "/nonexistent/home/u/.claude/settings.json"));
	CHECK(has(&r.protect, "/nonexistent/home/u/.claude/settings.json"));
	CHECK(has(&r.readonly, "/nonexistent/home/u/proj/.claude/settings.local.json"));
	CHECK(has(&r.env_set, "IS_SANDBOX=1"));
	CHECK(has(&r.env_set, "CORDON_PROFILE=claude"));
	/* The keys are not passed in (nothing set: nothing injected either). */
	CHECK(!has(&r.env_pass, "ANTHROPIC_API_KEY"));
	CHECK(r.n_inject == 0);
	preset_resolved_free(&r);
	/* A loopback API needs --allow-loopback: said, not allowed. */
	setenv("ANTHROPIC_BASE_URL", "http://localhost:4000", 1);
	unsetenv("ANTHROPIC_VERTEX_BASE_URL");
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(!has_sub(&r.domains, "localhost"));
	CHECK(has_sub(&r.notes, "--allow-loopback 4000"));
	preset_resolved_free(&r);
	setenv("ANTHROPIC_BASE_URL", "http://[::1]/", 1);
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(!has_sub(&r.domains, "::1") && has_sub(&r.notes, "--allow-loopback 80"));
	preset_resolved_free(&r);
	unsetenv("ANTHROPIC_BASE_URL");
	env.home = "relative";
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == -1);
	CHECK(strstr(err.msg, "home") != NULL);
	preset_resolved_free(&r);
	return 0;
}

/* An executable script that leaves a marker when anything runs it. */
static void
tool(const char *base, const char *rel, const char *marker)
{
	char p[1024], s[1200];

	snprintf(s, sizeof(s), "#!/bin/sh\necho ran >> '%s'\n", marker);
	put(base, rel, s);
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	chmod(p, 0755);
}

/*
 * Registry hosts come from the user's files, and where they are silent
 * from the files the tools ship; no tool is run; the workspace's own files
 * never add a host.
 */
/* The inject entry for var and host in r, or NULL. */
static const struct preset_inject *
inject_of(const struct preset_resolved *r, const char *var, const char *host)
{
	for (size_t i = 0; i < r->n_inject; i++)
		if (strcmp(r->inject[i].from_env, var) == 0 && strcmp(r->inject[i].host, host) == 0)
			return &r->inject[i];
	return NULL;
}

/* The rule of r for host that allows method (exactly listed), or NULL. */
static const struct preset_rule *
rule_of(const struct preset_resolved *r, const char *host, const char *method)
{
	for (size_t i = 0; i < r->n_rules; i++) {
		if (strcmp(r->rules[i].host, host) != 0)
			continue;
		for (const char *const *m = r->rules[i].methods; *m != NULL; m++)
			if (strcmp(*m, method) == 0)
				return &r->rules[i];
	}
	return NULL;
}

static int
test_resolve_keys(void)
{
	struct preset_env env = { .home = "/nonexistent/home/u" };
	struct preset_resolved r = { 0 };
	const struct preset_inject *in;
	const struct preset_rule *rule;
	struct cordon_err err;

	clear_env();
	/* Unset: nothing injected, nothing passed; the API host is narrowed all the same. */
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(r.n_inject == 0 && r.env_pass.n == 0);
	CHECK((rule = rule_of(&r, "api.anthropic.com", "POST")) != NULL);
	CHECK(rule != NULL && has(&rule->paths, "/v1/messages"));
	CHECK(rule != NULL && has(&rule->paths, "/v1/messages/count_tokens"));
	CHECK(rule != NULL && !has_sub(&rule->paths, "files"));
	CHECK(rule_of(&r, "api.anthropic.com", "PUT") == NULL);
	CHECK(rule_of(&r, "claude.ai", "POST") == NULL);
	preset_resolved_free(&r);

	/* Set: injected for the API host, in its header, not passed in. */
	setenv("ANTHROPIC_API_KEY", "sk-unit", 1);
	setenv("CLAUDE_CODE_OAUTH_TOKEN", "oat-unit", 1);
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK((in = inject_of(&r, "ANTHROPIC_API_KEY", "api.anthropic.com")) != NULL);
	CHECK(in != NULL && strcmp(in->header, "x-api-key") == 0 && in->prefix == NULL);
	CHECK((in = inject_of(&r, "CLAUDE_CODE_OAUTH_TOKEN", "api.anthropic.com")) != NULL);
	CHECK(in != NULL && strcmp(in->header, "Authorization") == 0 && in->prefix != NULL &&
	      strcmp(in->prefix, "Bearer ") == 0);
	CHECK(inject_of(&r, "ANTHROPIC_AUTH_TOKEN", "api.anthropic.com") == NULL);
	CHECK(r.n_inject == 2 && r.env_pass.n == 0);
	CHECK(has_sub(&r.notes, "$ANTHROPIC_API_KEY stays on the host"));
	preset_resolved_free(&r);

	/* An https base URL: its host too, and its rules below the URL's path. */
	setenv("ANTHROPIC_BASE_URL", "https://gw.example.test:8443/anthropic/", 1);
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(inject_of(&r, "ANTHROPIC_API_KEY", "api.anthropic.com") != NULL);
	CHECK(inject_of(&r, "ANTHROPIC_API_KEY", "gw.example.test:8443") != NULL);
	CHECK((rule = rule_of(&r, "gw.example.test:8443", "POST")) != NULL);
	CHECK(rule != NULL && has(&rule->paths, "/anthropic/v1/messages"));
	CHECK(rule != NULL && !has(&rule->paths, "/v1/messages"));
	CHECK((rule = rule_of(&r, "api.anthropic.com", "POST")) != NULL);
	CHECK(rule != NULL && has(&rule->paths, "/v1/messages"));
	preset_resolved_free(&r);

	/* Plain http or loopback: the proxy cannot add it there; passed in, said so. */
	setenv("ANTHROPIC_BASE_URL", "http://localhost:4000", 1);
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(r.n_inject == 0 && has(&r.env_pass, "ANTHROPIC_API_KEY"));
	CHECK(has_sub(&r.notes, "$ANTHROPIC_API_KEY is passed into the sandbox"));
	preset_resolved_free(&r);
	setenv("ANTHROPIC_BASE_URL", "http://gw.example.test", 1);
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(r.n_inject == 0 && has(&r.env_pass, "ANTHROPIC_API_KEY"));
	CHECK(rule_of(&r, "gw.example.test:80", "POST") != NULL);
	preset_resolved_free(&r);
	clear_env();

	/* Codex: a bearer token; its base URL's /v1 is the rules' base. */
	setenv("OPENAI_API_KEY", "sk-unit", 1);
	CHECK(preset_resolve(preset_lookup("codex"), &env, &r, &err) == 0);
	CHECK((in = inject_of(&r, "OPENAI_API_KEY", "api.openai.com")) != NULL);
	CHECK(in != NULL && strcmp(in->header, "Authorization") == 0 &&
	      strcmp(in->prefix, "Bearer ") == 0);
	CHECK(inject_of(&r, "CODEX_API_KEY", "api.openai.com") == NULL);
	CHECK((rule = rule_of(&r, "api.openai.com", "POST")) != NULL);
	CHECK(rule != NULL && has(&rule->paths, "/v1/responses"));
	CHECK(rule != NULL && has(&rule->paths, "/v1/chat/completions"));
	preset_resolved_free(&r);
	clear_env();

	/* Gemini: x-goog-api-key, the generateContent family. */
	setenv("GEMINI_API_KEY", "g-unit", 1);
	setenv("GOOGLE_API_KEY", "g2-unit", 1);
	CHECK(preset_resolve(preset_lookup("gemini"), &env, &r, &err) == 0);
	CHECK((in = inject_of(&r, "GEMINI_API_KEY", "generativelanguage.googleapis.com")) != NULL);
	CHECK(in != NULL && strcmp(in->header, "x-goog-api-key") == 0 && in->prefix == NULL);
	CHECK(inject_of(&r, "GOOGLE_API_KEY", "generativelanguage.googleapis.com") != NULL);
	CHECK((rule = rule_of(&r, "generativelanguage.googleapis.com", "POST")) != NULL);
	CHECK(rule != NULL && has(&rule->paths, "/v1beta/models/*"));
	preset_resolved_free(&r);
	clear_env();

	/* Toolchains: nothing of the kind. */
	CHECK(preset_resolve(preset_lookup("node"), &env, &r, &err) == 0);
	CHECK(r.n_inject == 0 && r.n_rules == 0);
	preset_resolved_free(&r);
	return 0;
}

/* The policy's inject entries for var: count, and the layer of the last. */
static size_t
injects_for(const struct cordon_policy *pol, const char *var, enum policy_layer *layer)
{
	size_t n = 0;

	for (size_t i = 0; i < pol->n_inject; i++)
		if (pol->inject[i].from_env != NULL && strcmp(pol->inject[i].from_env, var) == 0) {
			n++;
			*layer = pol->inject[i].origin.layer;
		}
	return n;
}

/* Through policy_load: the preset's entries, and the user's word winning. */
static int
test_profile_injects(void)
{
	char dir[] = "/tmp/cordon-inject.XXXXXX", cfg[64], file[64], managed[64];
	struct policy_load_opts o = { .profile = "claude" };
	struct cordon_policy pol;
	struct cordon_err err;
	enum policy_layer layer = POLICY_LAYER__MAX;
	bool rule = false;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cfg, sizeof(cfg), "%s/cfg", dir);
	snprintf(file, sizeof(file), "%s/policy.json", dir);
	snprintf(managed, sizeof(managed), "%s/managed.json", dir);
	CHECK(mkdir(cfg, 0700) == 0);
	setenv("CORDON_TEST_HOOKS", "1", 1);
	setenv("CORDON_TEST_CONFIG_DIR", cfg, 1);
	setenv("CORDON_TEST_MANAGED_SETTINGS", managed, 1);
	o.home = dir;
	clear_env();
	setenv("ANTHROPIC_API_KEY", "sk-unit", 1);

	CHECK(policy_load(&pol, &o, &err) == 0);
	CHECK(injects_for(&pol, "ANTHROPIC_API_KEY", &layer) == 1);
	CHECK(layer == POLICY_LAYER_PROFILE);
	for (size_t i = 0; i < pol.n_net_rules; i++)
		rule = rule || (strcmp(pol.net_rules[i].host, "api.anthropic.com") == 0 &&
				pol.net_rules[i].origin.layer == POLICY_LAYER_PROFILE);
	CHECK(rule);
	CHECK(policy_env_denied(&pol, "ANTHROPIC_API_KEY"));
	policy_free(&pol);

	/* The user's own entry for the variable: the only one. */
	CHECK(write_file(file,
			 "{\"sandbox\": {\"credentials\": {\"inject\": [{\"host\": \"gw.test\", "
			 "\"header\": \"x-api-key\", \"fromEnv\": \"ANTHROPIC_API_KEY\"}]}}}\n") ==
	      0);
	o.policy_file = file;
	CHECK(policy_load(&pol, &o, &err) == 0);
	CHECK(injects_for(&pol, "ANTHROPIC_API_KEY", &layer) == 1);
	CHECK(layer == POLICY_LAYER_CLI && strcmp(pol.inject[0].host, "gw.test") == 0);
	policy_free(&pol);

	/* An exact allow: the key itself is passed in, nothing injected, said so. */
	CHECK(write_file(file, "{\"sandbox\": {\"credentials\": {\"envVars\": [{\"name\": "
			       "\"ANTHROPIC_API_KEY\", \"mode\": \"allow\"}]}}}\n") == 0);
	CHECK(policy_load(&pol, &o, &err) == 0);
	CHECK(injects_for(&pol, "ANTHROPIC_API_KEY", &layer) == 0);
	CHECK(!policy_env_denied(&pol, "ANTHROPIC_API_KEY"));
	{
		bool said = false;

		for (size_t i = 0; i < pol.n_notes; i++)
			said = said || strstr(pol.notes[i], "$ANTHROPIC_API_KEY is passed into the "
							    "sandbox, not injected") != NULL;
		CHECK(said);
	}
	policy_free(&pol);

	/* A user's entry from a file (no variable) beside the preset's: both kept. */
	CHECK(write_file(file,
			 "{\"sandbox\": {\"credentials\": {\"inject\": [{\"host\": \"gw.test\", "
			 "\"header\": \"x-token\", \"fromFile\": \"/nonexistent/token\"}]}}}\n") ==
	      0);
	CHECK(policy_load(&pol, &o, &err) == 0);
	CHECK(injects_for(&pol, "ANTHROPIC_API_KEY", &layer) == 1 && layer == POLICY_LAYER_PROFILE);
	CHECK(pol.n_inject == 2);
	policy_free(&pol);

	/* ... and with the envVars opt-out beside it (a note per variable, none for the file). */
	CHECK(write_file(file,
			 "{\"sandbox\": {\"credentials\": {\"envVars\": [{\"name\": "
			 "\"ANTHROPIC_API_KEY\", \"mode\": \"allow\"}], \"inject\": [{\"host\": "
			 "\"gw.test\", \"header\": \"x-token\", \"fromFile\": "
			 "\"/nonexistent/token\"}]}}}\n") == 0);
	CHECK(policy_load(&pol, &o, &err) == 0);
	CHECK(injects_for(&pol, "ANTHROPIC_API_KEY", &layer) == 0 && pol.n_inject == 1);
	policy_free(&pol);

	/* A pattern does not count: still injected. */
	CHECK(write_file(file, "{\"sandbox\": {\"credentials\": {\"envVars\": [{\"name\": "
			       "\"ANTHROPIC_*\", \"mode\": \"allow\"}]}}}\n") == 0);
	CHECK(policy_load(&pol, &o, &err) == 0);
	CHECK(injects_for(&pol, "ANTHROPIC_API_KEY", &layer) == 1 && layer == POLICY_LAYER_PROFILE);
	policy_free(&pol);

	/* Unset on the host: no entry at all. */
	unsetenv("ANTHROPIC_API_KEY");
	o.policy_file = NULL;
	CHECK(policy_load(&pol, &o, &err) == 0);
	CHECK(injects_for(&pol, "ANTHROPIC_API_KEY", &layer) == 0);
	policy_free(&pol);

	unlink(file);
	rmdir(cfg);
	rmdir(dir);
	unsetenv("CORDON_TEST_HOOKS");
	unsetenv("CORDON_TEST_CONFIG_DIR");
	unsetenv("CORDON_TEST_MANAGED_SETTINGS");
	return 0;
}

static int
test_resolve_reads_files_only(void)
{
	char dir[] = "/tmp/cordon-presets.XXXXXX";
	char home[600], ws[600], marker[600], path[1200], *old_path;
	struct preset_env env;
	struct preset_resolved r = { 0 };
	struct cordon_err err;
	int rc = 0;

	if (mkdtemp(dir) == NULL)
		return -1;
	clear_env();
	snprintf(home, sizeof(home), "%s/home", dir);
	snprintf(ws, sizeof(ws), "%s/home/proj", dir);
	snprintf(marker, sizeof(marker), "%s/ran", dir);
	mkdirs(dir, "home/proj");
	env.home = home;
	env.workspace = ws;
	/* Fake installations: npm, node, python3 with pip, go with go.env. */
	tool(dir, "tools/lib/node_modules/npm/bin/npm-cli.js", marker);
	put(dir,
	    "tools/lib/node_modules/npm/node_modules/@npmcli/config/lib/definitions/"
	    "definitions.js",
	    "registry: new Definition('registry', {\n  default: "
	    "'https://npm-default.example.test/',"
	    "\n})\n");
	tool(dir, "tools/bin/node", marker);
	tool(dir, "py/bin/python3", marker);
	put(dir, "py/lib/python3.11/site-packages/pip/_internal/models/index.py",
	    "PyPI = PackageIndex(\"https://pypi-default.example.test/\", "
	    "file_storage_domain=\"files-default.example.test\")\n");
	tool(dir, "goroot/bin/go", marker);
	put(dir, "goroot/go.env",
	    "GOPROXY=https://goproxy-default.example.test,direct\n"
	    "GOSUMDB=sum-default.example.test\n");
	mkdirs(dir, "bin");
	{
		static const char *const links[][2] = {
			{ "../tools/lib/node_modules/npm/bin/npm-cli.js", "bin/npm" },
			{ "../tools/bin/node", "bin/node" },
			{ "../py/bin/python3", "bin/python3" },
			{ "../goroot/bin/go", "bin/go" },
		};

		for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, links[i][1]);
			if (symlink(links[i][0], path) < 0)
				rc = -1;
		}
	}
	/* The workspace's own files name hosts: none may be allowed. */
	put(ws, ".npmrc", "registry=https://ws-npm.example.test/\nscript-shell=/bin/evil\n");
	put(ws, "pip.conf", "[global]\nindex-url=https://ws-pip.example.test/simple\n");
	put(ws, "uv.toml", "index-url = \"https://ws-uv.example.test/\"\n");
	put(ws, ".cargo/config.toml",
	    "[registries.x]\nindex = \"https://ws-cargo.example.test/\"\n");
	put(ws, "pom.xml",
	    "<project><repositories><repository><url>https://ws-maven.example.test/"
	    "</url></repository></repositories></project>\n");
	old_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	snprintf(path, sizeof(path), "%s/bin", dir);
	setenv("PATH", path, 1);

	/* 1. Nothing configured: the tools' own defaults, read from their files. */
	if (preset_resolve(preset_lookup("node"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("python"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("go"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("rust"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("java"), &env, &r, &err) < 0)
		rc = -1;
	for (size_t i = 0; i < r.notes.n; i++)
		printf("# note: %s\n", r.notes.v[i]);
	if (rc == 0 && !(has(&r.domains, "npm-default.example.test") &&
			 has(&r.domains, "pypi-default.example.test") &&
			 has(&r.domains, "files-default.example.test") &&
			 has(&r.domains, "goproxy-default.example.test") &&
			 has(&r.domains, "sum-default.example.test") &&
			 has(&r.env_set, "npm_config_registry=https://npm-default.example.test/")))
		rc = -1;
	for (size_t i = 0; i < r.domains.n; i++)
		if (strncmp(r.domains.v[i], "ws-", 3) == 0) {
			printf("# a workspace file widened the list: %s\n", r.domains.v[i]);
			rc = -1;
		}
	if (!has_sub(&r.notes, "the workspace's .npmrc names ws-npm.example.test") ||
	    !has_sub(&r.notes, "the workspace's pip.conf names ws-pip.example.test") ||
	    !has_sub(&r.notes, "ws-cargo.example.test") ||
	    !has_sub(&r.notes, "ws-maven.example.test") || !has_sub(&r.notes, "no cargo registry"))
		rc = -1;
	preset_resolved_free(&r);

	/* 2. The user's own configuration wins over the defaults. */
	put(home, ".npmrc",
	    "registry=https://npm.corp.example.test/\n"
	    "@corp:registry=https://corp-npm.example.test/\n"
	    "//npm.corp.example.test/:_authToken=secret\n");
	put(home, ".config/pip/pip.conf", "[global]\nindex-url=https://pypi.corp.example.test/s\n");
	put(home, ".config/go/env", "GOPROXY=https://goproxy.corp.example.test\n");
	put(home, ".cargo/config.toml",
	    "[source.crates-io]\nreplace-with = \"m\"\n[source.m]\n"
	    "registry = \"sparse+https://cargo.corp.example.test/\"\n");
	put(home, ".m2/settings.xml",
	    "<settings><mirrors><mirror><url>https://maven.corp.example."
	    "test/</url></mirror><mirror><url>http://0.0.0.0/</url>"
	    "</mirror></mirrors></settings>\n");
	if (preset_resolve(preset_lookup("node"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("python"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("go"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("rust"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("java"), &env, &r, &err) < 0)
		rc = -1;
	for (size_t i = 0; i < r.domains.n; i++)
		printf("# domain: %s\n", r.domains.v[i]);
	if (!(has(&r.domains, "npm.corp.example.test") &&
	      has(&r.domains, "corp-npm.example.test") &&
	      has(&r.domains, "pypi.corp.example.test") &&
	      has(&r.domains, "goproxy.corp.example.test") &&
	      has(&r.domains, "cargo.corp.example.test") &&
	      has(&r.domains, "maven.corp.example.test") && !has(&r.domains, "0.0.0.0") &&
	      !has(&r.domains, "npm-default.example.test") &&
	      !has(&r.domains, "pypi-default.example.test") &&
	      !has(&r.domains, "goproxy-default.example.test") &&
	      has(&r.env_set, "npm_config_registry=https://npm.corp.example.test/") &&
	      has(&r.env_set, "npm_config_@corp:registry=https://corp-npm.example.test/")))
		rc = -1;
	preset_resolved_free(&r);

	/* 3. The environment beats the files. */
	setenv("npm_config_registry", "https://npm.env.example.test/", 1);
	setenv("PIP_INDEX_URL", "https://pip.env.example.test/simple", 1);
	if (preset_resolve(preset_lookup("node"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("python"), &env, &r, &err) < 0 ||
	    !has(&r.domains, "npm.env.example.test") || has(&r.domains, "npm.corp.example.test") ||
	    !has(&r.domains, "pip.env.example.test") || has(&r.domains, "pypi.corp.example.test"))
		rc = -1;
	preset_resolved_free(&r);
	clear_env();

	if (access(marker, F_OK) == 0) {
		printf("# a tool was run while resolving\n");
		rc = -1;
	}
	setenv("PATH", old_path, 1);
	free(old_path);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		rc = -1;
	return rc;
}

static int
test_provide(void)
{
	char dir[] = "/tmp/cordon-provide.XXXXXX";
	char p[1200];
	struct preset_env env;
	struct preset_resolved r = { 0 };
	struct cordon_err err;
	struct stat st;
	int rc = 0;

	if (mkdtemp(dir) == NULL)
		return -1;
	clear_env();
	env.home = dir;
	env.workspace = NULL;
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(preset_resolve(preset_lookup("node"), &env, &r, &err) == 0);
	/* A dry run (policy show) creates nothing and says what a run would. */
	CHECK(preset_provide(&r, dir, NULL, true, &err) == 0);
	snprintf(p, sizeof(p), "%s/.claude", dir);
	CHECK(stat(p, &st) < 0);
	CHECK(has_sub(&r.notes, "~/.claude does not exist yet: `cordon run` creates it"));
	CHECK(has_sub(&r.notes, "not writable inside: ~/.yarn/berry (it does not exist"));
	preset_resolved_free(&r);

	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(preset_resolve(preset_lookup("node"), &env, &r, &err) == 0);
	CHECK(preset_resolve(preset_lookup("python"), &env, &r, &err) == 0);
	CHECK(preset_provide(&r, dir, NULL, false, &err) == 0);
	snprintf(p, sizeof(p), "%s/.claude", dir);
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		rc = -1;
	snprintf(p, sizeof(p), "%s/.claude.json", dir);
	if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != 3)
		rc = -1;
	snprintf(p, sizeof(p), "%s/.claude/settings.json", dir);
	if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
		rc = -1;
	snprintf(p, sizeof(p), "%s/.claude/hooks", dir);
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		rc = -1;
	snprintf(p, sizeof(p), "%s/.npm", dir);
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode) || !has(&r.caches, p))
		rc = -1;
	snprintf(p, sizeof(p), "%s/.cache/pip", dir);
	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode) || !has(&r.caches, p))
		rc = -1; /* the main cache is made, with its parent */
	snprintf(p, sizeof(p), "%s/.cache/uv", dir);
	if (stat(p, &st) == 0 || has(&r.writable, p))
		rc = -1; /* another tool's cache is not made... */
	snprintf(p, sizeof(p), "%s/.yarn/berry", dir);
	if (stat(p, &st) == 0 || has(&r.writable, p))
		rc = -1;
	if (!has_sub(&r.notes, "not writable inside: ~/.yarn/berry"))
		rc = -1; /* ...and said */
	if (!has_sub(&r.notes, "created ~/.claude (agent state"))
		rc = -1;
	preset_resolved_free(&r);

	/* State that cannot be provided stops the run. */
	snprintf(p, sizeof(p), "%s/.codex", dir);
	if (symlink("/nonexistent/cordon-test-target", p) < 0)
		rc = -1;
	CHECK(preset_resolve(preset_lookup("codex"), &env, &r, &err) == 0);
	if (preset_provide(&r, dir, NULL, false, &err) != -1 ||
	    strstr(err.msg, "~/.codex is a symbolic link to nothing") == NULL)
		rc = -1;
	preset_resolved_free(&r);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	if (system(p) != 0)
		rc = -1;
	return rc;
}

int
main(void)
{
	TAP_RUN(test_url_host);
	TAP_RUN(test_ini_scan);
	TAP_RUN(test_npmrc);
	TAP_RUN(test_npm_default);
	TAP_RUN(test_pipconf);
	TAP_RUN(test_pip_default);
	TAP_RUN(test_cargo);
	TAP_RUN(test_toml);
	TAP_RUN(test_go);
	TAP_RUN(test_maven_gradle);
	TAP_RUN(test_lookup);
	TAP_RUN(test_resolve_claude);
	TAP_RUN(test_resolve_keys);
	TAP_RUN(test_profile_injects);
	TAP_RUN(test_resolve_reads_files_only);
	TAP_RUN(test_provide);
	return tap_done();
}
