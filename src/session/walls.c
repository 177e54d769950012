/* SPDX-License-Identifier: MIT */
/* The session's kernel walls: the policy's, then the command line's. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "session/internal.h"

/* Policy values first, then the command line's --allow-unix-socket. */
static void
apply_policy(struct session_walls *w, struct sb_spec *spec, const struct cordon_policy *pol,
	     bool allow_degraded)
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
	v = &pol->scalars[POLICY_RES_DISK];
	if (v->set && v->u != 0)
		spec->disk_max = v->u;
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
	for (size_t i = 0; i < n && w->n_all < ARRAY_SIZE(w->all); i++)
		w->all[w->n_all++] = xstrdup(socks[i]);
	w->n_all_policy = w->n_all;
	free(socks);
}

void
session_walls_apply(struct session_walls *w, struct sb_spec *spec, const struct cordon_policy *pol,
		    bool allow_degraded)
{
	apply_policy(w, spec, pol, allow_degraded);
	if (w->memory_max)
		spec->memory_max = w->memory_max;
	if (w->disk_max)
		spec->disk_max = w->disk_max;
	if (w->cpu_millis)
		spec->cpu_millis = w->cpu_millis;
	if (w->pids_max)
		spec->pids_max = w->pids_max;
	if (w->allow_ptrace)
		spec->allow_ptrace = true;
	if (w->no_local_binding)
		spec->no_tcp_bind = true;
	for (size_t i = 0; i < w->n_unix_sockets && w->n_all < ARRAY_SIZE(w->all); i++)
		w->all[w->n_all++] = w->unix_sockets[i];
	spec->unix_sockets = w->all;
	spec->n_unix_sockets = w->n_all;
	if (session_test_switch("CORDON_TEST_NO_LANDLOCK"))
		spec->test_flags |= SB_TEST_NO_LANDLOCK;
	if (session_test_switch("CORDON_TEST_NO_SECCOMP"))
		spec->test_flags |= SB_TEST_NO_SECCOMP;
	if (session_test_switch("CORDON_TEST_NO_SEAL"))
		spec->test_flags |= SB_TEST_NO_SEAL;
	if (session_test_switch("CORDON_TEST_FAIL_HOSTNAME"))
		spec->test_flags |= SB_TEST_FAIL_HOSTNAME;
	if (session_test_switch("CORDON_TEST_NO_CAPTURE"))
		spec->test_flags |= SB_TEST_NO_CAPTURE;
	/* The unix-socket policy: always on, no host socket is reachable by default. */
	if (!session_test_switch("CORDON_TEST_NO_CONNECT_POLICY"))
		spec->notify |= SB_NOTIFY_CONNECT;
}

int
session_walls_attach(struct session_walls *w, struct sv_supervisor *sv, const struct sb_spec *spec,
		     struct cordon_err *err)
{
	if (!(spec->notify & SB_NOTIFY_CONNECT))
		return 0;
	return sv_unixsock_register(&w->unixsock, sv, spec, err);
}

void
session_walls_end(const struct cordon_session *s, struct sb_session *sess, int status)
{
	struct cordon_err err = { 0 };

	if (sb_resources_report(sess, status, &err) < 0)
		session_report(s, &err);
	sb_resources_release(sess);
}

void
session_walls_free(struct session_walls *w)
{
	for (size_t i = 0; i < w->n_all_policy; i++)
		free(w->all[i]);
	for (size_t i = 0; i < w->n_unix_sockets; i++)
		free(w->unix_sockets[i]);
	w->n_all = w->n_all_policy = w->n_unix_sockets = 0;
	sv_unixsock_fini(&w->unixsock);
}
