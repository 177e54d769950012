/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "proxy/tls_sni.h"
#include "tap.h"

/* A minimal TLS 1.2-style ClientHello carrying server_name (if sni). */
static size_t
hello(uint8_t *out, const char *sni, int split)
{
	uint8_t body[512];
	size_t b = 0, n = sni ? strlen(sni) : 0, ext_len = sni ? 9 + n : 0;
	size_t o = 0;

	body[b++] = 3;
	body[b++] = 3;
	memset(body + b, 0x11, 32);
	b += 32;
	body[b++] = 0; /* session id */
	body[b++] = 0;
	body[b++] = 2; /* cipher suites */
	body[b++] = 0x13;
	body[b++] = 0x01;
	body[b++] = 1; /* compression */
	body[b++] = 0;
	body[b++] = (uint8_t)(ext_len >> 8);
	body[b++] = (uint8_t)ext_len;
	if (sni) {
		body[b++] = 0; /* server_name */
		body[b++] = 0;
		body[b++] = (uint8_t)((n + 5) >> 8);
		body[b++] = (uint8_t)(n + 5);
		body[b++] = (uint8_t)((n + 3) >> 8);
		body[b++] = (uint8_t)(n + 3);
		body[b++] = 0; /* host_name */
		body[b++] = (uint8_t)(n >> 8);
		body[b++] = (uint8_t)n;
		memcpy(body + b, sni, n);
		b += n;
	}
	/* handshake header + body, in one or two records */
	{
		uint8_t hs[600];
		size_t h = 0, first;

		hs[h++] = 1;
		hs[h++] = 0;
		hs[h++] = (uint8_t)(b >> 8);
		hs[h++] = (uint8_t)b;
		memcpy(hs + h, body, b);
		h += b;
		first = split ? h / 2 : h;
		out[o++] = 0x16;
		out[o++] = 3;
		out[o++] = 1;
		out[o++] = (uint8_t)(first >> 8);
		out[o++] = (uint8_t)first;
		memcpy(out + o, hs, first);
		o += first;
		if (split) {
			out[o++] = 0x16;
			out[o++] = 3;
			out[o++] = 1;
			out[o++] = (uint8_t)((h - first) >> 8);
			out[o++] = (uint8_t)(h - first);
			memcpy(out + o, hs + first, h - first);
			o += h - first;
		}
	}
	return o;
}

static int
test_found(void)
{
	uint8_t buf[1024];
	char host[256];
	size_t n = hello(buf, "Allowed.Test", 0);

	CHECK(px_tls_sni(buf, n, host, sizeof(host)) == PX_SNI_FOUND);
	CHECK_STR(host, "allowed.test");
	return 0;
}

static int
test_split_records_and_partial(void)
{
	uint8_t buf[1024];
	char host[256];
	size_t n = hello(buf, "split.test", 1);

	CHECK(px_tls_sni(buf, n, host, sizeof(host)) == PX_SNI_FOUND);
	CHECK_STR(host, "split.test");
	for (size_t i = 0; i < n; i++)
		CHECK(px_tls_sni(buf, i, host, sizeof(host)) == PX_SNI_NEED_MORE);
	return 0;
}

static int
test_none_and_not_tls(void)
{
	uint8_t buf[1024];
	char host[256];
	size_t n = hello(buf, NULL, 0);

	CHECK(px_tls_sni(buf, n, host, sizeof(host)) == PX_SNI_NONE);
	CHECK(px_tls_sni((const uint8_t *)"GET / HTTP/1.1\r\n", 16, host, sizeof(host)) ==
	      PX_SNI_NOT_TLS);
	return 0;
}

static int
test_malformed(void)
{
	uint8_t buf[1024];
	char host[256];
	size_t n = hello(buf, "x.test", 0);

	buf[5] = 2; /* not a ClientHello */
	CHECK(px_tls_sni(buf, n, host, sizeof(host)) == PX_SNI_BAD);
	n = hello(buf, "x.test", 0);
	buf[n - 7] = 0xff; /* name length past the end */
	CHECK(px_tls_sni(buf, n, host, sizeof(host)) == PX_SNI_BAD);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_found);
	TAP_RUN(test_split_records_and_partial);
	TAP_RUN(test_none_and_not_tls);
	TAP_RUN(test_malformed);
	return tap_done();
}
