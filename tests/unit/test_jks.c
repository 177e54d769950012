/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fd.h"
#include "session/jks.h"
#include "tap.h"

/* The store is written to a memory stream: s->b, s->n once closed. */
struct bytes {
	FILE *f;
	char *b;
	size_t n;
};

static void
put(struct bytes *s, const void *p, size_t n)
{
	fwrite(p, 1, n, s->f);
}

static void
put_u32(struct bytes *s, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(s, b, 4);
}

static void
put_utf(struct bytes *s, const char *t)
{
	unsigned char b[2] = { strlen(t) >> 8, strlen(t) & 0xff };

	put(s, b, 2);
	put(s, t, strlen(t));
}

static void
put_cert(struct bytes *s, const char *der)
{
	put_utf(s, "X.509");
	put_u32(s, (uint32_t)strlen(der));
	put(s, der, strlen(der));
}

/* Each test's store; the last one stays reachable until exit. */
static struct bytes store;

/* A version-2 store: a key entry (two certificates), then two trusted ones. */
static void
sample(uint32_t extra_tag)
{
	static const unsigned char date[8] = { 0, 0, 1, 2, 3, 4, 5, 6 };
	struct bytes *s = &store;

	free(s->b);
	s->b = NULL;
	s->f = open_memstream(&s->b, &s->n);
	put_u32(s, 0xfeedfeed);
	put_u32(s, 2);
	put_u32(s, extra_tag ? 4 : 3);
	put_u32(s, 1);
	put_utf(s, "mykey");
	put(s, date, 8);
	put_u32(s, 3);
	put(s, "KEY", 3);
	put_u32(s, 2);
	put_cert(s, "chain-0");
	put_cert(s, "chain-1");
	put_u32(s, 2);
	put_utf(s, "debian:first.pem");
	put(s, date, 8);
	put_cert(s, "DER-ONE");
	put_u32(s, 2);
	put_utf(s, "second");
	put(s, date, 8);
	put_cert(s, "DER-TWO");
	if (extra_tag) {
		put_u32(s, extra_tag);
		put_utf(s, "secret");
		put(s, date, 8);
	}
	put(s, "01234567890123456789", 20); /* the SHA-1, not checked */
	fclose(s->f);
}

struct seen {
	char text[256];
	int n;
	int stop_at;
};

static int
collect(void *arg, const char *alias, size_t alias_len, const unsigned char *der, size_t der_len,
	struct cordon_err *err)
{
	struct seen *s = arg;
	size_t l = strlen(s->text);

	if (s->stop_at && s->n + 1 == s->stop_at)
		return cordon_err_set(err, 0, "stopped");
	snprintf(s->text + l, sizeof(s->text) - l, "%.*s=%.*s;", (int)alias_len, alias,
		 (int)der_len, (const char *)der);
	s->n++;
	return 0;
}

static int
test_trusted_entries(void)
{
	struct seen seen = { "", 0, 0 };
	struct cordon_err err = { 0 };

	sample(0);
	CHECK(jks_is((unsigned char *)store.b, store.n));
	CHECK(jks_each_cert((unsigned char *)store.b, store.n, collect, &seen, &err) == 2);
	CHECK_STR(seen.text, "debian:first.pem=DER-ONE;second=DER-TWO;");
	return 0;
}

static int
test_truncated_everywhere(void)
{
	struct cordon_err err = { 0 };

	sample(0);
	/* every shorter store is refused (the trailer moves into the entries) */
	for (size_t n = 0; n < store.n; n++) {
		struct seen seen = { "", 0, 0 };

		if (jks_each_cert((unsigned char *)store.b, n, collect, &seen, &err) != -1) {
			printf("# a store cut at %zu of %zu bytes was accepted\n", n, store.n);
			return -1;
		}
	}
	return 0;
}

static int
test_refusals(void)
{
	struct seen seen = { "", 0, 0 };
	struct cordon_err err = { 0 };

	sample(3); /* a JCEKS secret-key entry */
	CHECK(jks_each_cert((unsigned char *)store.b, store.n, collect, &seen, &err) == -1);
	CHECK(strstr(err.msg, "JCEKS") != NULL);
	sample(0);
	store.b[7] = 3; /* version 3 */
	CHECK(jks_each_cert((unsigned char *)store.b, store.n, collect, &seen, &err) == -1);
	sample(0);
	store.b[8] = 0xff; /* count far beyond the limit */
	CHECK(jks_each_cert((unsigned char *)store.b, store.n, collect, &seen, &err) == -1);
	CHECK(strstr(err.msg, "entries") != NULL);
	sample(0);
	store.b[11] = 2; /* fewer entries than there are: bytes left over */
	CHECK(jks_each_cert((unsigned char *)store.b, store.n, collect, &seen, &err) == -1);
	sample(0);
	store.b[0] = 0x30; /* DER (PKCS12), not JKS */
	CHECK(!jks_is((unsigned char *)store.b, store.n));
	CHECK(jks_each_cert((unsigned char *)store.b, store.n, collect, &seen, &err) == -1);
	/* the callback stops the walk */
	sample(0);
	seen = (struct seen){ "", 0, 2 };
	CHECK(jks_each_cert((unsigned char *)store.b, store.n, collect, &seen, &err) == -1);
	CHECK_STR(err.msg, "stopped");
	return 0;
}

/* The host's own store, when it is JKS (Debian 12's ca-certificates-java). */
static int
test_host_store(void)
{
	int fd = open("/etc/ssl/certs/java/cacerts", O_RDONLY | O_CLOEXEC);
	struct seen seen = { "", 0, 0 };
	struct cordon_err err = { 0 };
	size_t len = 0;
	unsigned char *buf;
	int n;

	if (fd < 0)
		return 77;
	buf = (unsigned char *)fd_read_whole(fd, 16u << 20, &len);
	close(fd);
	if (buf == NULL || !jks_is(buf, len)) {
		free(buf);
		return 77;
	}
	n = jks_each_cert(buf, len, collect, &seen, &err);
	free(buf);
	if (n <= 0)
		printf("# %d: %s\n", n, err.msg);
	CHECK(n > 0 && n == seen.n);
	return 0;
}

int
main(void)
{
	tap_run("trusted entries in order, key entries stepped over", test_trusted_entries);
	tap_run("a store cut short anywhere is refused", test_truncated_everywhere);
	tap_run("JCEKS entries, unknown versions, counts and trailing bytes refused",
		test_refusals);
	tap_run("the host's JKS store reads whole", test_host_store);
	return tap_done();
}
