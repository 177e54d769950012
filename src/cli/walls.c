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

#define MAX_UNIX_SOCKETS SESSION_MAX_UNIX_SOCKETS

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
cli_walls_option(struct session_walls *walls, int opt, const char *arg, struct cordon_err *err)
{
	char *end;
	unsigned long v;

	switch (opt) {
	case CLI_OPT_MEMORY:
		if (parse_size(arg, &walls->memory_max) < 0 || walls->memory_max < (4u << 20)) {
			cordon_err_set(err, 0, "bad --memory value '%s'", arg);
			return cordon_err_hint(err, "give a size of at least 4m, e.g. --memory 4g "
						    "or --memory 512m");
		}
		return 1;
	case CLI_OPT_DISK:
		if (parse_size(arg, &walls->disk_max) < 0 || walls->disk_max < (1u << 20)) {
			cordon_err_set(err, 0, "bad --disk value '%s'", arg);
			return cordon_err_hint(err, "give a size of at least 1m, e.g. --disk 10g "
						    "or --disk 512m");
		}
		return 1;
	case CLI_OPT_CPUS:
		if (parse_cpus(arg, &walls->cpu_millis) < 0) {
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
			return cordon_err_hint(err,
					       "give a number of processes from 8 to 4194304 "
					       "(the kernel's pid_max ceiling), e.g. --pids 512");
		}
		walls->pids_max = (uint32_t)v;
		return 1;
	case CLI_OPT_ALLOW_UNIX_SOCKET:
		if (arg[0] != '/') {
			cordon_err_set(err, 0, "bad --allow-unix-socket value '%s'", arg);
			return cordon_err_hint(err, "give an absolute path or glob, e.g. "
						    "--allow-unix-socket /run/user/1000/bus");
		}
		if (walls->n_unix_sockets == MAX_UNIX_SOCKETS) {
			cordon_err_set(err, 0, "more than %d --allow-unix-socket",
				       MAX_UNIX_SOCKETS);
			return cordon_err_hint(err, "use a glob for a family of sockets");
		}
		walls->unix_sockets[walls->n_unix_sockets++] = xstrdup(arg);
		return 1;
	case CLI_OPT_ALLOW_PTRACE:
		walls->allow_ptrace = true;
		return 1;
	case CLI_OPT_NO_LOCAL_BINDING:
		walls->no_local_binding = true;
		return 1;
	default:
		return 0;
	}
}
