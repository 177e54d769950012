/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "common/err.h"
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

int
main(void)
{
	TAP_RUN(test_err_set_appends_strerror);
	TAP_RUN(test_err_wrap_prepends);
	TAP_RUN(test_err_truncates);
	TAP_RUN(test_timers_fire_in_order);
	return tap_done();
}
