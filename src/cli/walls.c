/* SPDX-License-Identifier: MIT */
/* `cordon run` options for the kernel walls (see cli/walls.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/walls.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "policy/policy.h"
#include "supervisor/unixsock.h"

#define MAX_UNIX_SOCKETS 64

static struct {
	uint64_t memory_max;
	uint32_t cpu_millis, pids_max;
	bool allow_ptrace, no_local_binding;
	char *unix_sockets[MAX_UNIX_SOCKETS]; /* --allow-unix-socket */
	size_t n_unix_sockets;
	char *all[2 * MAX_UNIX_SOCKETS]; /* policy's, then the command line's */
	size_t n_all;
	struct sv_unixsock unixsock;
} walls;

/* "4g", "512m", "100k", "1048576" (bytes); binary units. 0 or -1. */
static int
parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	case 't':
		shift = 40;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (*end != '\0') {
		end++;
		if (tolower((unsigned char)*end) == 'b')
			end++;
	}
	if (*end != '\0' || v == 0 || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* "2", "0.5", "1.25" -> thousandths of a CPU. 0 or -1. */
static int
parse_cpus(const char *s, uint32_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.01) || v > 4096)
		return -1;
	*out = (uint32_t)(v * 1000 + 0.5);
	return 0;
}

int
cli_walls_option(int opt, const char *arg, struct cordon_err *err)
{
	char *end;
	unsigned long v;

	switch (opt) {
	case CLI_OPT_MEMORY:
		if (parse_size(arg, &walls.memory_max) < 0 || walls.memory_max < (4u << 20)) {
			cordon_err_set(err, 0, "bad --memory value '%s'", arg);
			return cordon_err_hint(err, "give a size of at least 4m, e.g. --memory 4g "
						    "or --memory 512m");
		}
		return 1;
	case CLI_OPT_CPUS:
		if (parse_cpus(arg, &walls.cpu_millis) < 0) {
			cordon_err_set(err, 0, "bad --cpus value '%s'", arg);
			return cordon_err_hint(err, "give a number of CPUs, e.g. --cpus 2 or "
						    "--cpus 0.5");
		}
		return 1;
	case CLI_OPT_PIDS:
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno != 0 || end == arg || *end != '\0' || v < 8 || v > 4194304) {
			cordon_err_set(err, 0, "bad --pids value '%s'", arg);
			return cordon_err_hint(err, "give a number of processes from 8 up, e.g. "
						    "--pids 512");
		}
		walls.pids_max = (uint32_t)v;
		return 1;
	case CLI_OPT_ALLOW_UNIX_SOCKET:
		if (arg[0] != '/') {
			cordon_err_set(err, 0, "bad --allow-unix-socket value '%s'", arg);
			return cordon_err_hint(err, "give an absolute path or glob, e.g. "
						    "--allow-unix-socket /run/user/1000/bus");
		}
		if (walls.n_unix_sockets == MAX_UNIX_SOCKETS) {
			cordon_err_set(err, 0, "more than %d --allow-unix-socket",
				       MAX_UNIX_SOCKETS);
			return cordon_err_hint(err, "use a glob for a family of sockets");
		}
		walls.unix_sockets[walls.n_unix_sockets++] = xstrdup(arg);
		return 1;
	case CLI_OPT_ALLOW_PTRACE:
		walls.allow_ptrace = true;
		return 1;
	case CLI_OPT_NO_LOCAL_BINDING:
		walls.no_local_binding = true;
		return 1;
	default:
		return 0;
	}
}

static bool
test_switch(const char *name)
{
	const char *hooks = getenv("CORDON_TEST_HOOKS");

	return hooks != NULL && strcmp(hooks, "1") == 0 && getenv(name) != NULL;
}

/* Policy values first, then the command line's --allow-unix-socket. */
static void
apply_policy(struct sb_spec *spec, const struct cordon_policy *pol, bool allow_degraded)
{
	const struct policy_value *v;
	const char **socks;
	size_t n = 0;

	spec->best_effort = allow_degraded || (pol != NULL && !policy_fail_if_unavailable(pol));
	if (pol == NULL)
		return;
	v = &pol->scalars[POLICY_RES_MEMORY];
	if (v->set && v->u != 0)
		spec->memory_max = v->u;
	v = &pol->scalars[POLICY_RES_CPUS];
	if (v->set && v->num > 0)
		spec->cpu_millis = (uint32_t)(v->num * 1000 + 0.5);
	v = &pol->scalars[POLICY_RES_PIDS];
	if (v->set && v->u != 0)
		spec->pids_max = v->u > UINT32_MAX ? UINT32_MAX : (uint32_t)v->u;
	/* Only an explicit false: the default must not break a dev server inside. */
	v = &pol->scalars[POLICY_NET_ALLOW_LOCAL_BINDING];
	if (v->set && !v->b)
		spec->no_tcp_bind = true;
	socks = policy_values(pol, POLICY_NET_ALLOW_UNIX_SOCKETS, &n);
	for (size_t i = 0; i < n && walls.n_all < ARRAY_SIZE(walls.all); i++)
		walls.all[walls.n_all++] = (char *)xstrdup(socks[i]);
	free(socks);
}

void
cli_walls_apply(struct sb_spec *spec, const struct cordon_policy *pol, bool allow_degraded)
{
	apply_policy(spec, pol, allow_degraded);
	if (walls.memory_max)
		spec->memory_max = walls.memory_max;
	if (walls.cpu_millis)
		spec->cpu_millis = walls.cpu_millis;
	if (walls.pids_max)
		spec->pids_max = walls.pids_max;
	if (walls.allow_ptrace)
		spec->allow_ptrace = true;
	if (walls.no_local_binding)
		spec->no_tcp_bind = true;
	for (size_t i = 0; i < walls.n_unix_sockets && walls.n_all < ARRAY_SIZE(walls.all); i++)
		walls.all[walls.n_all++] = walls.unix_sockets[i];
	spec->unix_sockets = walls.all;
	spec->n_unix_sockets = walls.n_all;
	if (test_switch("CORDON_TEST_NO_LANDLOCK"))
		spec->test_flags |= SB_TEST_NO_LANDLOCK;
	if (test_switch("CORDON_TEST_NO_SECCOMP"))
		spec->test_flags |= SB_TEST_NO_SECCOMP;
	if (test_switch("CORDON_TEST_FAIL_HOSTNAME"))
		spec->test_flags |= SB_TEST_FAIL_HOSTNAME;
	/* The unix-socket policy: always on, no host socket is reachable by default. */
	if (!test_switch("CORDON_TEST_NO_CONNECT_POLICY"))
		spec->notify |= SB_NOTIFY_CONNECT;
}

int
cli_walls_attach(struct sv_supervisor *sv, const struct sb_spec *spec, struct cordon_err *err)
{
	if (!(spec->notify & SB_NOTIFY_CONNECT))
		return 0;
	return sv_unixsock_register(&walls.unixsock, sv, spec, err);
}

void
cli_walls_end(struct sb_session *sess, int status)
{
	struct cordon_err err = { 0 };

	if (sb_resources_report(sess, status, &err) < 0)
		cli_print_err(&err);
	sb_resources_release(sess);
}
