/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_SOCKS5_H
#define CORDON_PROXY_SOCKS5_H

#include <stddef.h>
#include <stdint.h>

#include "proxy/allow.h"

/*
 * SOCKS5 (RFC 1928) server side, no authentication, CONNECT only. Pure:
 * no syscalls, no allocation.
 */
enum {
	PX_S5_OK = 0x00,
	PX_S5_GENERAL = 0x01,
	PX_S5_NOT_ALLOWED = 0x02, /* connection not allowed by ruleset */
	PX_S5_NET_UNREACH = 0x03,
	PX_S5_HOST_UNREACH = 0x04,
	PX_S5_REFUSED = 0x05,
	PX_S5_TTL = 0x06,
	PX_S5_CMD_UNSUPPORTED = 0x07,
	PX_S5_ATYP_UNSUPPORTED = 0x08,
};

struct px_s5_req {
	uint8_t cmd;            /* 1 CONNECT, 2 BIND, 3 UDP ASSOCIATE */
	uint8_t atyp;           /* 1 IPv4, 3 domain, 4 IPv6 */
	char host[PX_HOST_MAX]; /* domain as sent, or the address as text */
	uint16_t port;
	size_t len;    /* bytes consumed */
	uint8_t reply; /* on error: the reply code to send */
};

/*
 * Parse the greeting (VER NMETHODS METHODS). Returns the bytes consumed (>0)
 * when it is complete and offers "no authentication", 0 when more bytes are
 * needed, -1 when it is not SOCKS5 or offers no acceptable method.
 */
int px_s5_parse_greeting(const uint8_t *buf, size_t len);

/*
 * Parse a request (VER CMD RSV ATYP ADDR PORT). Returns 1 when complete
 * (req filled; req->reply says whether it can be served: PX_S5_OK, or
 * CMD_UNSUPPORTED / ATYP_UNSUPPORTED), 0 when more bytes are needed, -1 when
 * malformed (req->reply = GENERAL).
 */
int px_s5_parse_request(const uint8_t *buf, size_t len, struct px_s5_req *req);

/* Write the 10-byte reply (IPv4 0.0.0.0:0 bound address) into out[10]. */
void px_s5_reply(uint8_t code, uint8_t out[10]);

#endif
