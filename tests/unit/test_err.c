/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/err.h"
#include "common/fd.h"
#include "proxy/loop.h"
#include "tap.h"

static int
test_err_set_appends_strerror(void)
{
	struct cordon_err err;

	CHECK(cordon_err_set(&err, ENOENT, "open %s", "/x") == -1);
	CHECK_STR(err.msg, "open /x: No such file or directory");
	CHECK(err.code == ENOENT);
	CHECK(err.hint[0] == '\0');
	return 0;
}

static int
test_err_wrap_prepends(void)
{
	struct cordon_err err;

	cordon_err_set(&err, 0, "inner");
	cordon_err_wrap(&err, "outer %d", 1);
	CHECK_STR(err.msg, "outer 1: inner");
	return 0;
}

static int
test_err_truncates(void)
{
	struct cordon_err err;
	char big[1000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cordon_err_set(&err, EIO, "%s", big);
	CHECK(strlen(err.msg) == sizeof(err.msg) - 1);
	return 0;
}

static int fired[4], n_fired;

static void
on_timer(struct px_loop *loop, struct px_timer *t)
{
	fired[n_fired++] = (int)t->when_ms;
	if (n_fired == 3)
		px_loop_stop(loop);
}

static int
test_timers_fire_in_order(void)
{
	struct px_loop *loop = px_loop_new();
	struct px_timer t[4];

	CHECK(loop != NULL);
	for (int i = 0; i < 4; i++)
		px_timer_init(&t[i], on_timer);
	px_timer_arm(loop, &t[0], 30);
	px_timer_arm(loop, &t[1], 10);
	px_timer_arm(loop, &t[2], 20);
	px_timer_arm(loop, &t[3], 5);
	px_timer_disarm(loop, &t[3]);
	CHECK(px_loop_run(loop) == 0);
	px_loop_free(loop);
	CHECK(n_fired == 3);
	CHECK(fired[0] < fired[1] && fired[1] < fired[2]);
	CHECK(t[3].heap_idx == SIZE_MAX);
	return 0;
}

static int
hex_is(const unsigned char md[32], const char *want)
{
	char hex[65];

	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, want) != 0) {
		printf("# sha256 %s, want %s\n", hex, want);
		return 0;
	}
	return 1;
}

/* FIPS 180-2 vectors, one-shot and fed in uneven pieces */
static int
test_sha256_vectors(void)
{
	static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	unsigned char md[32];
	struct cordon_sha256 c;

	cordon_sha256("", 0, md);
	CHECK(hex_is(md, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	cordon_sha256("abc", 3, md);
	CHECK(hex_is(md, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	cordon_sha256_init(&c);
	for (size_t i = 0; i < sizeof(two_blocks) - 1; i += 7)
		cordon_sha256_update(&c, two_blocks + i,
				     sizeof(two_blocks) - 1 - i < 7 ? sizeof(two_blocks) - 1 - i
								    : 7);
	cordon_sha256_final(&c, md);
	CHECK(hex_is(md, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
	return 0;
}

/* fd_realpath says what realpath says, errno included */
static int
same_as_realpath(const char *path)
{
	char *a = realpath(path, NULL);
	int ea = errno;
	char *b;
	int eb, same;

	errno = 0;
	b = fd_realpath(path);
	eb = errno;
	same =
	    (a == NULL && b == NULL && ea == eb) || (a != NULL && b != NULL && strcmp(a, b) == 0);
	if (!same)
		printf("# %s: realpath %s (%d), fd_realpath %s (%d)\n", path, a ? a : "NULL", ea,
		       b ? b : "NULL", eb);
	free(a);
	free(b);
	return same;
}

static int
test_fd_realpath(void)
{
	char dir[] = "/tmp/cordon-unit-XXXXXX", p[PATH_MAX];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/real", dir);
	CHECK(mkdir(p, 0700) == 0);
	snprintf(p, sizeof(p), "%s/link", dir);
	CHECK(symlink("real", p) == 0);
	snprintf(p, sizeof(p), "%s/dangling", dir);
	CHECK(symlink("nowhere", p) == 0);
	CHECK(same_as_realpath("/"));
	CHECK(same_as_realpath("."));
	CHECK(same_as_realpath(dir));
	snprintf(p, sizeof(p), "%s/link/../link/.", dir);
	CHECK(same_as_realpath(p));
	snprintf(p, sizeof(p), "%s/missing/deeper", dir);
	CHECK(same_as_realpath(p));
	snprintf(p, sizeof(p), "%s/dangling", dir);
	CHECK(same_as_realpath(p));
	snprintf(p, sizeof(p), "%s/real/file/x", dir);
	CHECK(same_as_realpath(p));
	CHECK(same_as_realpath("/proc/self/exe"));
	snprintf(p, sizeof(p), "%s/link", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/dangling", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/real", dir);
	rmdir(p);
	rmdir(dir);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_err_set_appends_strerror);
	TAP_RUN(test_sha256_vectors);
	TAP_RUN(test_fd_realpath);
	TAP_RUN(test_err_wrap_prepends);
	TAP_RUN(test_err_truncates);
	TAP_RUN(test_timers_fire_in_order);
	return tap_done();
}
