/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_TLS_SNI_H
#define CORDON_PROXY_TLS_SNI_H

#include <stddef.h>
#include <stdint.h>

#define PX_SNI_PEEK_MAX 16384 /* bytes of ClientHello we wait for at most */

enum px_sni_result {
	PX_SNI_NEED_MORE = 0, /* the ClientHello is not complete yet */
	PX_SNI_FOUND,         /* host filled (lowercase as sent) */
	PX_SNI_NONE,          /* a ClientHello without server_name */
	PX_SNI_NOT_TLS,       /* not a TLS handshake record */
	PX_SNI_BAD,           /* malformed ClientHello */
};

/*
 * Extract the server_name from a TLS ClientHello at the start of
 * buf[0..len) (one or more handshake records). host gets the first
 * host_name entry, NUL-terminated. Pure, bounded, no allocation.
 */
enum px_sni_result px_tls_sni(const uint8_t *buf, size_t len, char *host, size_t hostlen);

#endif
