/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_TLS_SNI_H
#define CORDON_PROXY_TLS_SNI_H

#include <stddef.h>
#include <stdint.h>

/*
 * Bytes of a client's first flight the proxy holds at most to read a whole
 * ClientHello (post-quantum key shares make it about 1.8 kB; the largest
 * plaintext TLS record is 16 kB).
 */
#define PX_SNI_PEEK_MAX 16384

enum px_sni_result {
	PX_SNI_NEED_MORE = 0, /* TLS (or not yet told apart), the ClientHello is not whole yet */
	PX_SNI_FOUND,         /* host filled (lowercase as sent) */
	PX_SNI_NONE,          /* a ClientHello without server_name (or SSLv2-format) */
	PX_SNI_NOT_TLS,       /* the stream does not start a TLS handshake */
	PX_SNI_BAD,           /* TLS, but malformed, or not starting with a ClientHello */
	PX_SNI_TOO_LARGE,     /* a ClientHello longer than PX_SNI_PEEK_MAX */
};

/*
 * Classify the first bytes a client sends in a tunnel, buf[0..len), and
 * extract the server_name of a TLS ClientHello that starts it. The
 * ClientHello may span any number of records, each arriving in pieces
 * (call again with more bytes while NEED_MORE). What counts as TLS: a
 * record header with a TLS content type (20-24) and major version 3, or an
 * SSLv2-format ClientHello (which has no extensions: NONE). A TLS stream
 * whose first record is not a handshake, a server_name extension given
 * twice, or a server_name list that is not exactly one host_name is BAD:
 * servers disagree on which name such a hello means. host gets the name,
 * NUL-terminated. Pure, bounded, no allocation.
 */
enum px_sni_result px_tls_sni(const uint8_t *buf, size_t len, char *host, size_t hostlen);

#endif
