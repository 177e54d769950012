/* SPDX-License-Identifier: MIT */
/* SOCKS5 server-side parsing (see socks5.h). Fuzzed by fuzz/fuzz_socks5.c. */
#include <arpa/inet.h>
#include <string.h>

#include "proxy/socks5.h"

int
px_s5_parse_greeting(const uint8_t *buf, size_t len)
{
	size_t n;

	if (len < 1)
		return 0;
	if (buf[0] != 5)
		return -1;
	if (len < 2)
		return 0;
	n = buf[1];
	if (n == 0)
		return -1;
	if (len < 2 + n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (buf[2 + i] == 0x00)
			return (int)(2 + n);
	return -1;
}

int
px_s5_parse_request(const uint8_t *buf, size_t len, struct px_s5_req *req)
{
	size_t need;

	memset(req, 0, sizeof(*req));
	req->reply = PX_S5_GENERAL;
	if (len < 4)
		return 0;
	if (buf[0] != 5 || buf[2] != 0)
		return -1;
	req->cmd = buf[1];
	req->atyp = buf[3];
	switch (req->atyp) {
	case 1:
		need = 4 + 4 + 2;
		if (len < need)
			return 0;
		inet_ntop(AF_INET, buf + 4, req->host, sizeof(req->host));
		break;
	case 3:
		if (len < 5)
			return 0;
		if (buf[4] == 0 || buf[4] >= sizeof(req->host))
			return -1;
		need = 5 + (size_t)buf[4] + 2;
		if (len < need)
			return 0;
		for (size_t i = 0; i < buf[4]; i++)
			if (buf[5 + i] == 0)
				return -1;
		memcpy(req->host, buf + 5, buf[4]);
		req->host[buf[4]] = '\0';
		break;
	case 4: {
		need = 4 + 16 + 2;
		if (len < need)
			return 0;
		req->host[0] = '[';
		inet_ntop(AF_INET6, buf + 4, req->host + 1, sizeof(req->host) - 2);
		strcat(req->host, "]");
		break;
	}
	default:
		req->reply = PX_S5_ATYP_UNSUPPORTED;
		req->len = len;
		return 1;
	}
	req->port = (uint16_t)(buf[need - 2] << 8 | buf[need - 1]);
	req->len = need;
	if (req->cmd != 1)
		req->reply = PX_S5_CMD_UNSUPPORTED;
	else if (req->port == 0)
		req->reply = PX_S5_GENERAL;
	else
		req->reply = PX_S5_OK;
	return 1;
}

void
px_s5_reply(uint8_t code, uint8_t out[10])
{
	memset(out, 0, 10);
	out[0] = 5;
	out[1] = code;
	out[3] = 1;
}
