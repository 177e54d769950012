/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "proxy/socks5.h"
#include "tap.h"

static int
test_greeting(void)
{
	static const uint8_t noauth[] = { 5, 1, 0 };
	static const uint8_t two[] = { 5, 2, 2, 0 };
	static const uint8_t pwonly[] = { 5, 1, 2 };
	static const uint8_t v4[] = { 4, 1, 0 };

	CHECK(px_s5_parse_greeting(noauth, 3) == 3);
	CHECK(px_s5_parse_greeting(noauth, 2) == 0);
	CHECK(px_s5_parse_greeting(two, 4) == 4);
	CHECK(px_s5_parse_greeting(pwonly, 3) == -1);
	CHECK(px_s5_parse_greeting(v4, 3) == -1);
	return 0;
}

static int
test_requests(void)
{
	static const uint8_t dom[] = {
		5, 1, 0, 3, 8, 'a', '.', 'e', 'x', '.', 't', 's', 't', 1, 187
	};
	static const uint8_t ip4[] = { 5, 1, 0, 1, 192, 0, 2, 7, 0, 80 };
	static const uint8_t ip6[] = { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
				       0, 0, 0, 0, 0,    0,    0,    0,    1, 0, 80 };
	static const uint8_t bind[] = { 5, 2, 0, 1, 192, 0, 2, 7, 0, 80 };
	static const uint8_t udp[] = { 5, 3, 0, 1, 192, 0, 2, 7, 0, 80 };
	static const uint8_t atyp[] = { 5, 1, 0, 9, 1, 2, 3 };
	static const uint8_t nul[] = { 5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80 };
	struct px_s5_req r;

	CHECK(px_s5_parse_request(dom, sizeof(dom), &r) == 1);
	CHECK(r.reply == PX_S5_OK && r.port == 443 && r.len == sizeof(dom));
	CHECK_STR(r.host, "a.ex.tst");
	CHECK(px_s5_parse_request(dom, sizeof(dom) - 1, &r) == 0);
	CHECK(px_s5_parse_request(ip4, sizeof(ip4), &r) == 1);
	CHECK_STR(r.host, "192.0.2.7");
	CHECK(px_s5_parse_request(ip6, sizeof(ip6), &r) == 1);
	CHECK_STR(r.host, "[2001:db8::1]");
	CHECK(px_s5_parse_request(bind, sizeof(bind), &r) == 1);
	CHECK(r.reply == PX_S5_CMD_UNSUPPORTED);
	CHECK(px_s5_parse_request(udp, sizeof(udp), &r) == 1);
	CHECK(r.reply == PX_S5_CMD_UNSUPPORTED);
	CHECK(px_s5_parse_request(atyp, sizeof(atyp), &r) == 1);
	CHECK(r.reply == PX_S5_ATYP_UNSUPPORTED);
	CHECK(px_s5_parse_request(nul, sizeof(nul), &r) == -1);
	{
		/* a 255-byte name (the wire maximum) does not fit a host name */
		uint8_t big[4 + 1 + 255 + 2];

		memset(big, 'a', sizeof(big));
		memcpy(big, "\x05\x01\x00\x03\xff", 5);
		CHECK(px_s5_parse_request(big, sizeof(big), &r) == -1);
	}
	return 0;
}

static int
test_reply(void)
{
	uint8_t out[10];

	px_s5_reply(PX_S5_NOT_ALLOWED, out);
	CHECK(out[0] == 5 && out[1] == 2 && out[3] == 1);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_greeting);
	TAP_RUN(test_requests);
	TAP_RUN(test_reply);
	return tap_done();
}
