/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <string.h>

#include "proxy/tls_sni.h"
#include "tap.h"

/* A growing byte string. */
struct bytes {
	uint8_t b[20000];
	size_t n;
};

static void
put(struct bytes *s, const void *p, size_t n)
{
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void
put8(struct bytes *s, unsigned v)
{
	s->b[s->n++] = (uint8_t)v;
}

static void
put16(struct bytes *s, unsigned v)
{
	put8(s, v >> 8);
	put8(s, v);
}

static void
ext(struct bytes *s, unsigned type, const struct bytes *body)
{
	put16(s, type);
	put16(s, (unsigned)body->n);
	put(s, body->b, body->n);
}

/* The server_name extension body for one host_name. */
static void
sni_body(struct bytes *e, const char *name)
{
	size_t n = strlen(name);

	put16(e, (unsigned)n + 3);
	put8(e, 0);
	put16(e, (unsigned)n);
	put(e, name, n);
}

/*
 * A TLS 1.3 ClientHello as a browser with post-quantum key exchange sends
 * it: server_name (if sni), supported_groups, and a key_share holding an
 * X25519MLKEM768 share (1216 bytes) and an X25519 one, which puts the
 * handshake message at about 1.8 kB. Returns the handshake message
 * (header included) in hs.
 */
static void
client_hello(struct bytes *hs, const char *sni, int pq)
{
	static struct bytes body, exts, e;

	body.n = exts.n = 0;
	put16(&body, 0x0303);
	memset(body.b + body.n, 0x11, 32);
	body.n += 32;
	put8(&body, 32); /* legacy session id */
	memset(body.b + body.n, 0x22, 32);
	body.n += 32;
	put16(&body, 6);
	put16(&body, 0x1301);
	put16(&body, 0x1302);
	put16(&body, 0x1303);
	put8(&body, 1);
	put8(&body, 0);
	if (sni) {
		e.n = 0;
		sni_body(&e, sni);
		ext(&exts, 0, &e);
	}
	e.n = 0;
	put16(&e, 4);
	put16(&e, 0x11ec); /* X25519MLKEM768 */
	put16(&e, 0x001d); /* x25519 */
	ext(&exts, 10, &e);
	if (pq) {
		e.n = 0;
		put16(&e, 4 + 1216 + 4 + 32);
		put16(&e, 0x11ec);
		put16(&e, 1216);
		memset(e.b + e.n, 0x5a, 1216);
		e.n += 1216;
		put16(&e, 0x001d);
		put16(&e, 32);
		memset(e.b + e.n, 0x5b, 32);
		e.n += 32;
		ext(&exts, 51, &e);
		e.n = 0;
		memset(e.b, 0, 512); /* padding, as Chrome adds it */
		e.n = 512;
		ext(&exts, 21, &e);
	}
	put16(&body, (unsigned)exts.n);
	put(&body, exts.b, exts.n);
	hs->n = 0;
	put8(hs, 1);
	put8(hs, (unsigned)(body.n >> 16));
	put16(hs, (unsigned)body.n);
	put(hs, body.b, body.n);
}

/* hs cut into TLS records of at most rec bytes each. */
static void
records(struct bytes *out, const struct bytes *hs, size_t rec)
{
	out->n = 0;
	for (size_t off = 0; off < hs->n; off += rec) {
		size_t n = hs->n - off < rec ? hs->n - off : rec;

		put8(out, 0x16);
		put16(out, off == 0 ? 0x0301 : 0x0303);
		put16(out, (unsigned)n);
		put(out, hs->b + off, n);
	}
}

static struct bytes hs, wire;

static int
test_found(void)
{
	char host[256];

	client_hello(&hs, "Allowed.Test", 0);
	records(&wire, &hs, 16384);
	CHECK(px_tls_sni(wire.b, wire.n, host, sizeof(host)) == PX_SNI_FOUND);
	CHECK_STR(host, "allowed.test");
	return 0;
}

/* Every prefix of a hello is NEED_MORE (one byte at a time on the wire). */
static int
need_more_until_whole(const struct bytes *w, const char *want)
{
	char host[256];

	for (size_t i = 0; i < w->n; i++)
		if (px_tls_sni(w->b, i, host, sizeof(host)) != PX_SNI_NEED_MORE) {
			printf("# prefix of %zu of %zu bytes decided early\n", i, w->n);
			return -1;
		}
	CHECK(px_tls_sni(w->b, w->n, host, sizeof(host)) == PX_SNI_FOUND);
	CHECK_STR(host, want);
	return 0;
}

static int
test_post_quantum_hello_one_record(void)
{
	client_hello(&hs, "pq.test", 1);
	CHECK(hs.n > 1800 && hs.n < 2200);
	records(&wire, &hs, 16384);
	return need_more_until_whole(&wire, "pq.test");
}

static int
test_post_quantum_hello_many_records(void)
{
	/* 1.8 kB split into 23 records of 80 bytes, then of 1 and 3 bytes */
	static const size_t sizes[] = { 80, 1, 3, 1024 };

	client_hello(&hs, "split.pq.test", 1);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		records(&wire, &hs, sizes[i]);
		if (need_more_until_whole(&wire, "split.pq.test") < 0) {
			printf("# records of %zu bytes\n", sizes[i]);
			return -1;
		}
	}
	return 0;
}

static int
test_sni_after_big_key_share(void)
{
	/* the name comes last, past 1.6 kB of key share */
	static struct bytes body;
	char host[256];

	client_hello(&hs, NULL, 1);
	body.n = 0;
	sni_body(&body, "late.test");
	/* append server_name to the extensions block and fix the lengths */
	{
		size_t ext_len_off = 4 + 2 + 32 + 1 + 32 + 2 + 6 + 1 + 1;
		unsigned ext_len = (unsigned)(hs.b[ext_len_off] << 8 | hs.b[ext_len_off + 1]);
		size_t body_len;

		ext(&hs, 0, &body);
		ext_len += 4 + (unsigned)body.n;
		hs.b[ext_len_off] = (uint8_t)(ext_len >> 8);
		hs.b[ext_len_off + 1] = (uint8_t)ext_len;
		body_len = hs.n - 4;
		hs.b[1] = (uint8_t)(body_len >> 16);
		hs.b[2] = (uint8_t)(body_len >> 8);
		hs.b[3] = (uint8_t)body_len;
	}
	records(&wire, &hs, 512);
	CHECK(px_tls_sni(wire.b, wire.n, host, sizeof(host)) == PX_SNI_FOUND);
	CHECK_STR(host, "late.test");
	return 0;
}

static int
test_none_and_not_tls(void)
{
	static const uint8_t v2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15 };
	static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
	char host[256];

	client_hello(&hs, NULL, 1);
	records(&wire, &hs, 700);
	CHECK(px_tls_sni(wire.b, wire.n, host, sizeof(host)) == PX_SNI_NONE);
	CHECK(px_tls_sni((const uint8_t *)"GET / HTTP/1.1\r\n", 16, host, sizeof(host)) ==
	      PX_SNI_NOT_TLS);
	CHECK(px_tls_sni(ssh, sizeof(ssh) - 1, host, sizeof(host)) == PX_SNI_NOT_TLS);
	CHECK(px_tls_sni(ssh, 1, host, sizeof(host)) == PX_SNI_NOT_TLS);
	CHECK(px_tls_sni(wire.b, 0, host, sizeof(host)) == PX_SNI_NEED_MORE);
	/* 0x16 then not version 3: no TLS server takes that */
	CHECK(px_tls_sni((const uint8_t *)"\x16\x02", 2, host, sizeof(host)) == PX_SNI_NOT_TLS);
	/* an SSLv2-format ClientHello has no extensions: no name */
	CHECK(px_tls_sni(v2, 3, host, sizeof(host)) == PX_SNI_NEED_MORE);
	CHECK(px_tls_sni(v2, sizeof(v2), host, sizeof(host)) == PX_SNI_NONE);
	CHECK(px_tls_sni((const uint8_t *)"\x80\x2e\x05", 3, host, sizeof(host)) == PX_SNI_NOT_TLS);
	return 0;
}

static int
test_malformed(void)
{
	static struct bytes e;
	char host[256];

	client_hello(&hs, "x.test", 0);
	records(&wire, &hs, 16384);
	wire.b[5] = 2; /* not a ClientHello */
	CHECK(px_tls_sni(wire.b, wire.n, host, sizeof(host)) == PX_SNI_BAD);
	records(&wire, &hs, 16384);
	wire.b[0] = 0x15; /* an alert first: servers may skip it, so no */
	CHECK(px_tls_sni(wire.b, wire.n, host, sizeof(host)) == PX_SNI_BAD);
	records(&wire, &hs, 20);
	wire.b[25] = 0x17; /* application data in the middle of the hello */
	CHECK(px_tls_sni(wire.b, wire.n, host, sizeof(host)) == PX_SNI_BAD);
	/* two server_name extensions */
	client_hello(&hs, "a.test", 0);
	e.n = 0;
	sni_body(&e, "b.test");
	{
		size_t ext_len_off = 4 + 2 + 32 + 1 + 32 + 2 + 6 + 1 + 1;
		unsigned ext_len = (unsigned)(hs.b[ext_len_off] << 8 | hs.b[ext_len_off + 1]);

		ext(&hs, 0, &e);
		ext_len += 4 + (unsigned)e.n;
		hs.b[ext_len_off] = (uint8_t)(ext_len >> 8);
		hs.b[ext_len_off + 1] = (uint8_t)ext_len;
		hs.b[2] = (uint8_t)((hs.n - 4) >> 8);
		hs.b[3] = (uint8_t)(hs.n - 4);
	}
	records(&wire, &hs, 16384);
	CHECK(px_tls_sni(wire.b, wire.n, host, sizeof(host)) == PX_SNI_BAD);
	/* a name length past the end */
	client_hello(&hs, "x.test", 0);
	records(&wire, &hs, 16384);
	{
		uint8_t *p = memmem(wire.b, wire.n, "x.test", 6);

		CHECK(p != NULL);
		p[-1] = 0xff;
	}
	CHECK(px_tls_sni(wire.b, wire.n, host, sizeof(host)) == PX_SNI_BAD);
	return 0;
}

static int
test_two_names_in_one_list(void)
{
	static struct bytes e;
	char host[256];

	/* server_name list "a.test", "b.test": which one a server takes varies */
	client_hello(&hs, NULL, 0);
	e.n = 0;
	put16(&e, 2 * (3 + 6));
	put8(&e, 0);
	put16(&e, 6);
	put(&e, "a.test", 6);
	put8(&e, 0);
	put16(&e, 6);
	put(&e, "b.test", 6);
	{
		size_t ext_len_off = 4 + 2 + 32 + 1 + 32 + 2 + 6 + 1 + 1;
		unsigned ext_len = (unsigned)(hs.b[ext_len_off] << 8 | hs.b[ext_len_off + 1]);

		ext(&hs, 0, &e);
		ext_len += 4 + (unsigned)e.n;
		hs.b[ext_len_off] = (uint8_t)(ext_len >> 8);
		hs.b[ext_len_off + 1] = (uint8_t)ext_len;
		hs.b[2] = (uint8_t)((hs.n - 4) >> 8);
		hs.b[3] = (uint8_t)(hs.n - 4);
	}
	records(&wire, &hs, 16384);
	CHECK(px_tls_sni(wire.b, wire.n, host, sizeof(host)) == PX_SNI_BAD);
	return 0;
}

static int
test_too_large(void)
{
	static struct bytes big;
	char host[256];

	/* a handshake message announcing 20 kB */
	big.n = 0;
	put8(&big, 0x16);
	put16(&big, 0x0301);
	put16(&big, 4);
	put8(&big, 1);
	put8(&big, 0);
	put16(&big, 20000);
	CHECK(px_tls_sni(big.b, big.n, host, sizeof(host)) == PX_SNI_TOO_LARGE);
	/* records that never complete a hello, up to the peek bound */
	big.n = 0;
	put8(&big, 0x16);
	put16(&big, 0x0301);
	put16(&big, 4);
	put8(&big, 1);
	put8(&big, 0);
	put16(&big, 16300);
	while (big.n < PX_SNI_PEEK_MAX) {
		put8(&big, 0x16);
		put16(&big, 0x0303);
		put16(&big, 1000);
		memset(big.b + big.n, 0, 1000);
		big.n += 1000;
	}
	CHECK(px_tls_sni(big.b, big.n, host, sizeof(host)) == PX_SNI_TOO_LARGE);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_found);
	TAP_RUN(test_post_quantum_hello_one_record);
	TAP_RUN(test_post_quantum_hello_many_records);
	TAP_RUN(test_sni_after_big_key_share);
	TAP_RUN(test_none_and_not_tls);
	TAP_RUN(test_malformed);
	TAP_RUN(test_two_names_in_one_list);
	TAP_RUN(test_too_large);
	return tap_done();
}
