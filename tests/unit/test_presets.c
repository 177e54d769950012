/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void
strv_free(struct preset_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static int
test_url_host(void)
{
	static const struct {
		const char *url, *host;
	} ok[] = {
		{ "https://Registry.Example.TEST/", "registry.example.test" },
		{ "http://u:p@h.example.test:8080/x?y", "h.example.test" },
		{ "sparse+https://cargo.example.test/index/", "cargo.example.test" },
		{ "https://[2001:DB8::1]:443/", "2001:db8::1" },
		{ "https://example.test./", "example.test" },
	};
	static const char *const bad[] = { "ftp://x.test/",  "https://",          "https:///x",
					   "x.test",         "https://a b.test/", "https://[zz]/",
					   "https://-x.test" };
	char host[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK(preset_url_host(ok[i].url, strlen(ok[i].url), host, sizeof(host)) == 0);
		CHECK_STR(host, ok[i].host);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (preset_url_host(bad[i], strlen(bad[i]), host, sizeof(host)) == 0) {
			printf("# accepted %s -> %s\n", bad[i], host);
			return -1;
		}
	CHECK(preset_url_host("https://abcdef.test/", 20, host, 4) == -1);
	return 0;
}

static int
test_npmrc(void)
{
	static const char rc[] = "; comment\n"
				 "registry=https://npm.mirror.example.test/\n"
				 "@corp:registry = \"https://corp.example.test/npm/\"\n"
				 "//corp.example.test/npm/:_authToken=${NPM_TOKEN}\n"
				 "always-auth=true\r\n";
	struct preset_strv v = { 0 };

	preset_parse_npmrc(rc, strlen(rc), &v);
	CHECK(v.n == 2);
	CHECK(has(&v, "npm.mirror.example.test"));
	CHECK(has(&v, "corp.example.test"));
	strv_free(&v);
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
				   "trusted-host = files.example.test:443 other.example.test\n";
	struct preset_strv v = { 0 };

	preset_parse_pipconf(conf, strlen(conf), &v);
	CHECK(has(&v, "pypi.mirror.example.test"));
	CHECK(has(&v, "extra1.example.test"));
	CHECK(has(&v, "extra2.example.test"));
	CHECK(has(&v, "files.example.test"));
	CHECK(has(&v, "other.example.test"));
	CHECK(!has(&v, "not-a-continuation.example.test"));
	CHECK(v.n == 5);
	strv_free(&v);
	return 0;
}

static int
test_toml(void)
{
	static const char conf[] = "[registries.corp]\n"
				   "index = \"sparse+https://cargo.example.test/index/\"\n"
				   "[source.crates-io]\n"
				   "replace-with = \"corp\"\n"
				   "[[index]]\n"
				   "url = \"https://uv.example.test/simple\"\n"
				   "homepage = \"https://ignored.example.test/\"\n"
				   "extra-index-url = [\n"
				   "  \"https://a.example.test/\",\n"
				   "  \"https://b.example.test/\" ]\n"
				   "x = { index = 'https://inline.example.test/', y = 1 }\n";
	static const char *const keys[] = { "index", "url", "extra-index-url", NULL };
	struct preset_strv v = { 0 };

	preset_parse_toml_urls(conf, strlen(conf), keys, &v);
	CHECK(has(&v, "cargo.example.test"));
	CHECK(has(&v, "uv.example.test"));
	CHECK(has(&v, "a.example.test"));
	CHECK(has(&v, "b.example.test"));
	CHECK(has(&v, "inline.example.test"));
	CHECK(!has(&v, "ignored.example.test"));
	strv_free(&v);
	return 0;
}

static int
test_goproxy_xml_gradle(void)
{
	static const char gp[] = "https://goproxy.example.test,https://g2.example.test|direct";
	static const char xml[] = "<settings><mirrors><mirror><url>\n  "
				  "https://maven.example.test/repo\n</url></mirror></mirrors>"
				  "<url>http://m2.example.test</url></settings>";
	static const char gradle[] =
	    "distributionUrl=https\\://gradle.example.test/distributions/gradle-8.5-bin.zip\n"
	    "repositories { maven { url = uri(\"https://repo.example.test/maven2\") } }\n"
	    "// url \"https://commented.example.test/\"\n"
	    "def x = \"https://not-a-repo.example.test/\"\n";
	struct preset_strv v = { 0 };

	preset_parse_goproxy(gp, strlen(gp), &v);
	CHECK(v.n == 2 && has(&v, "goproxy.example.test") && has(&v, "g2.example.test"));
	strv_free(&v);
	preset_parse_xml_urls(xml, strlen(xml), &v);
	CHECK(v.n == 2 && has(&v, "maven.example.test") && has(&v, "m2.example.test"));
	strv_free(&v);
	preset_parse_gradle(gradle, strlen(gradle), &v);
	CHECK(has(&v, "gradle.example.test"));
	CHECK(has(&v, "repo.example.test"));
	CHECK(!has(&v, "commented.example.test"));
	CHECK(!has(&v, "not-a-repo.example.test"));
	strv_free(&v);
	return 0;
}

static int
test_lookup(void)
{
	const struct cordon_preset *p = preset_lookup("claude");
	size_t n;

	CHECK(p != NULL && p->kind == PRESET_AGENT);
	CHECK_STR(p->program, "claude");
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

static int
test_resolve_claude(void)
{
	struct preset_env env = { .home = "/home/u",
				  .workspace = "/home/u/proj",
				  .self = "/usr/bin/cordon",
				  .run_tools = false };
	struct preset_resolved r = { 0 };
	struct cordon_err err;

	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(has(&r.domains, "api.anthropic.com"));
	CHECK(has(&r.writable, "/home/u/.claude"));
	CHECK(has(&r.writable, "/home/u/.claude.json"));
	CHECK(has(&r.readonly, "/home/u/.claude/settings.json"));
	CHECK(has(&r.readonly, "/home/u/proj/.claude/settings.local.json"));
	CHECK(has(&r.env_set, "IS_SANDBOX=1"));
	CHECK(has(&r.env_set, "CORDON_PROFILE=claude"));
	CHECK(has(&r.env_pass, "ANTHROPIC_API_KEY"));
	CHECK(r.agent_args.n == 2);
	CHECK_STR(r.agent_args.v[0], "--settings");
	CHECK(strstr(r.agent_args.v[1], "\"command\":\"/usr/bin/cordon hook claude\"") != NULL);
	CHECK(strstr(r.agent_args.v[1], "\"sandbox\":{\"enabled\":false}") != NULL);
	preset_resolved_free(&r);
	/* A binary path that would break the JSON falls back to "cordon". */
	env.self = "/opt/we\"ird/cordon";
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == 0);
	CHECK(strstr(r.agent_args.v[1], "\"command\":\"cordon hook claude\"") != NULL);
	preset_resolved_free(&r);
	env.home = "relative";
	CHECK(preset_resolve(preset_lookup("claude"), &env, &r, &err) == -1);
	CHECK(strstr(err.msg, "home") != NULL);
	preset_resolved_free(&r);
	return 0;
}

/* Registry hosts come from the user's files, never from cordon. */
static int
test_resolve_reads_user_config(void)
{
	char home[] = "/tmp/cordon-presets.XXXXXX";
	char path[512];
	struct preset_env env = { .run_tools = false };
	struct preset_resolved r = { 0 };
	struct cordon_err err;
	int rc = 0;

	if (mkdtemp(home) == NULL)
		return -1;
	env.home = home;
	env.workspace = home;
	snprintf(path, sizeof(path), "%s/.npmrc", home);
	write_file(path, "registry=https://npm.corp.example.test/\n");
	snprintf(path, sizeof(path), "%s/.config", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.config/pip", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.config/pip/pip.conf", home);
	write_file(path, "[global]\nindex-url=https://pypi.corp.example.test/simple\n");
	unsetenv("PIP_INDEX_URL");
	unsetenv("npm_config_registry");
	unsetenv("NPM_CONFIG_REGISTRY");
	unsetenv("NPM_CONFIG_USERCONFIG");
	unsetenv("PIP_CONFIG_FILE");
	setenv("GOPROXY", "https://goproxy.corp.example.test,direct", 1);
	unsetenv("GOSUMDB");
	if (preset_resolve(preset_lookup("node"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("python"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("go"), &env, &r, &err) < 0 ||
	    preset_resolve(preset_lookup("rust"), &env, &r, &err) < 0)
		rc = -1;
	if (rc == 0 && !(has(&r.domains, "npm.corp.example.test") &&
			 has(&r.domains, "pypi.corp.example.test") &&
			 has(&r.domains, "goproxy.corp.example.test")))
		rc = -1;
	for (size_t i = 0; i < r.notes.n; i++)
		printf("# note: %s\n", r.notes.v[i]);
	for (size_t i = 0; i < r.domains.n; i++)
		printf("# domain: %s\n", r.domains.v[i]);
	if (rc == 0 && !has(&r.writable, strcat(strcpy(path, home), "/.npm")))
		rc = -1;
	preset_resolved_free(&r);
	snprintf(path, sizeof(path), "rm -rf '%s'", home);
	if (system(path) != 0)
		rc = -1;
	return rc;
}

int
main(void)
{
	TAP_RUN(test_url_host);
	TAP_RUN(test_npmrc);
	TAP_RUN(test_pipconf);
	TAP_RUN(test_toml);
	TAP_RUN(test_goproxy_xml_gradle);
	TAP_RUN(test_lookup);
	TAP_RUN(test_resolve_claude);
	TAP_RUN(test_resolve_reads_user_config);
	return tap_done();
}
