/* SPDX-License-Identifier: MIT */
/*
 * Registry configuration parsers: the INI reader under .npmrc, pip.conf and
 * Go's env files, npm's and pip's shipped defaults, the TOML subset of
 * cargo and uv, GOPROXY/GOSUMDB, Maven settings.xml, Gradle, URL hosts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "presets/presets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
count_kv(const struct preset_kv *kv, void *arg)
{
	size_t *n = arg;

	/* Every span lies inside the input. */
	*n += kv->section_len + kv->key_len + kv->value_len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "index", "registry", "url", "index-url", NULL };
	const char *buf = (const char *)data;
	struct preset_strv v = { 0 };
	struct preset_npmrc npm;
	struct preset_pip_conf pip = { 0 };
	struct preset_cargo_conf cargo = { 0 };
	char out[PRESET_URL_MAX];
	uint16_t port;
	size_t n = 0;

	preset_ini_scan(buf, size, 0, count_kv, &n);
	preset_ini_scan(buf, size, PRESET_INI_CONTINUATION | PRESET_INI_COLON, count_kv, &n);
	memset(&npm, 0, sizeof(npm));
	preset_parse_npmrc(buf, size, &npm);
	preset_strv_free(&npm.scoped);
	(void)preset_parse_npm_default(buf, size, out, sizeof(out));
	preset_parse_pipconf(buf, size, &pip);
	preset_strv_free(&pip.index);
	preset_strv_free(&pip.extra);
	(void)preset_parse_pip_default(buf, size, &v);
	preset_parse_cargo(buf, size, &cargo);
	preset_strv_free(&cargo.hosts);
	preset_parse_toml_urls(buf, size, keys, &v);
	(void)preset_parse_goenv(buf, size, "GOPROXY", out, sizeof(out));
	preset_parse_goproxy(buf, size, &v);
	preset_parse_gosumdb(buf, size, &v);
	preset_parse_maven(buf, size, &v);
	preset_parse_gradle(buf, size, &v);
	(void)preset_url_host(buf, size, out, PRESET_HOST_MAX, &port);
	preset_strv_free(&v);
	return 0;
}
