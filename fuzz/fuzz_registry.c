/* SPDX-License-Identifier: MIT */
/* Registry configuration parsers (npmrc, pip.conf, TOML, GOPROXY, XML, Gradle). */
#include <stdint.h>
#include <stdlib.h>

#include "presets/presets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "index", "registry", "url", "index-url", NULL };
	const char *buf = (const char *)data;
	struct preset_strv v = { 0 };
	char host[256];

	preset_parse_npmrc(buf, size, &v);
	preset_parse_pipconf(buf, size, &v);
	preset_parse_toml_urls(buf, size, keys, &v);
	preset_parse_goproxy(buf, size, &v);
	preset_parse_xml_urls(buf, size, &v);
	preset_parse_gradle(buf, size, &v);
	(void)preset_url_host(buf, size, host, sizeof(host));
	for (size_t i = 0; i < v.n; i++)
		free(v.v[i]);
	free(v.v);
	return 0;
}
