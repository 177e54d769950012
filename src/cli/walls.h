/* SPDX-License-Identifier: MIT */
#ifndef CORDON_CLI_WALLS_H
#define CORDON_CLI_WALLS_H

#include <getopt.h>
#include <stdbool.h>

#include "common/err.h"
#include "session/session.h"

/*
 * `cordon run` options for the kernel walls: resource limits, unix
 * sockets, ptrace, local binding: parsed here into the session's
 * struct session_walls, applied by the session (session/walls.c).
 */
enum {
	CLI_OPT_MEMORY = 1280, /* run.c uses 256, 512, 768 ranges */
	CLI_OPT_CPUS,
	CLI_OPT_PIDS,
	CLI_OPT_ALLOW_UNIX_SOCKET,
	CLI_OPT_ALLOW_PTRACE,
	CLI_OPT_NO_LOCAL_BINDING,
	CLI_OPT_DISK,
};

#define CLI_WALLS_LONGOPTS                                                                         \
	{ "memory", required_argument, NULL, CLI_OPT_MEMORY },                                     \
	    { "cpus", required_argument, NULL, CLI_OPT_CPUS },                                     \
	    { "pids", required_argument, NULL, CLI_OPT_PIDS },                                     \
	    { "disk", required_argument, NULL, CLI_OPT_DISK },                                     \
	    { "allow-unix-socket", required_argument, NULL, CLI_OPT_ALLOW_UNIX_SOCKET },           \
	    { "allow-ptrace", no_argument, NULL, CLI_OPT_ALLOW_PTRACE },                           \
	{                                                                                          \
		"no-local-binding", no_argument, NULL, CLI_OPT_NO_LOCAL_BINDING                    \
	}

#define CLI_WALLS_USAGE                                                                            \
	"      --memory SIZE    memory ceiling, e.g. 4g, 512m (default: none)\n"                   \
	"      --cpus N         cpu share, e.g. 2 or 0.5 (default: none)\n"                        \
	"      --pids N         most processes and threads at once (default: none)\n"              \
	"      --disk SIZE      disk ceiling: /tmp, /run, /dev/shm together, and any one\n"        \
	"                       file written (default: none)\n"                                    \
	"      --allow-unix-socket PATH  let the sandbox connect to this host unix\n"              \
	"                       socket (path or glob; repeatable)\n"                               \
	"      --allow-ptrace   allow debuggers (ptrace) inside the sandbox\n"                     \
	"      --no-local-binding  no TCP listening socket inside (Landlock)\n"

/*
 * Handle one option of CLI_WALLS_LONGOPTS into walls. Returns 1 when
 * handled, 0 when opt is not one of ours, -1 on a bad value (err set, with
 * a hint).
 */
int cli_walls_option(struct session_walls *walls, int opt, const char *arg, struct cordon_err *err);

#endif
