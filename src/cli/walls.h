/* SPDX-License-Identifier: MIT */
#ifndef CORDON_CLI_WALLS_H
#define CORDON_CLI_WALLS_H

#include <getopt.h>
#include <stdbool.h>

#include "common/err.h"
#include "sandbox/sandbox.h"
#include "supervisor/supervisor.h"

/*
 * `cordon run` options for the kernel walls: resource limits, unix
 * sockets, ptrace, local binding, and the test-only switches. State is
 * per process (one run per process).
 */
enum {
	CLI_OPT_MEMORY = 1280, /* run.c uses 256, 512, 768 ranges */
	CLI_OPT_CPUS,
	CLI_OPT_PIDS,
	CLI_OPT_ALLOW_UNIX_SOCKET,
	CLI_OPT_ALLOW_PTRACE,
	CLI_OPT_NO_LOCAL_BINDING,
};

#define CLI_WALLS_LONGOPTS                                                                         \
	{ "memory", required_argument, NULL, CLI_OPT_MEMORY },                                     \
	    { "cpus", required_argument, NULL, CLI_OPT_CPUS },                                     \
	    { "pids", required_argument, NULL, CLI_OPT_PIDS },                                     \
	    { "allow-unix-socket", required_argument, NULL, CLI_OPT_ALLOW_UNIX_SOCKET },           \
	    { "allow-ptrace", no_argument, NULL, CLI_OPT_ALLOW_PTRACE },                           \
	{                                                                                          \
		"no-local-binding", no_argument, NULL, CLI_OPT_NO_LOCAL_BINDING                    \
	}

#define CLI_WALLS_USAGE                                                                            \
	"      --memory SIZE    memory ceiling, e.g. 4g, 512m (default: none)\n"                   \
	"      --cpus N         cpu share, e.g. 2 or 0.5 (default: none)\n"                        \
	"      --pids N         most processes and threads at once (default: none)\n"              \
	"      --allow-unix-socket PATH  let the sandbox connect to this host unix\n"              \
	"                       socket (path or glob; repeatable)\n"                               \
	"      --allow-ptrace   allow debuggers (ptrace) inside the sandbox\n"                     \
	"      --no-local-binding  no TCP listening socket inside (Landlock)\n"

/*
 * Handle one option of CLI_WALLS_LONGOPTS. Returns 1 when handled, 0 when
 * opt is not one of ours, -1 on a bad value (err set, with a hint).
 */
int cli_walls_option(int opt, const char *arg, struct cordon_err *err);

/*
 * Fill spec's wall fields from the effective policy (pol may be NULL):
 * resources.{memory,cpus,pids}, network.allowUnixSockets,
 * network.allowLocalBinding (only an explicit false turns TCP listening
 * off), failIfUnavailable false or allow_degraded -> best effort. Then the
 * options parsed here override, the test switches are honoured (only with
 * CORDON_TEST_HOOKS=1: CORDON_TEST_NO_LANDLOCK, CORDON_TEST_NO_SECCOMP,
 * CORDON_TEST_NO_CONNECT_POLICY), and the connect notification for the
 * unix-socket policy is turned on. Strings stay owned by pol and here.
 */
struct cordon_policy;
void cli_walls_apply(struct sb_spec *spec, const struct cordon_policy *pol, bool allow_degraded);

/* After sv_attach, before sv_run: serve the unix-socket policy. 0 or -1 (err). */
int cli_walls_attach(struct sv_supervisor *sv, const struct sb_spec *spec, struct cordon_err *err);

/*
 * After the sandbox ended: say when a limit killed it, then remove the
 * cgroup. Prints at most one message.
 */
void cli_walls_end(struct sb_session *sess, int status);

#endif
