/* SPDX-License-Identifier: MIT */
/* Unit tests for the kernel walls' pure parts: socket allow-list matching,
 * the Landlock rule list, resource mechanism names. No privileges. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>

#include "sandbox/steps.h"
#include "supervisor/unixsock.h"
#include "tap.h"

static int
test_socket_exact(void)
{
	char *allowed[] = { (char *)"/var/run/docker.sock" };

	CHECK(sv_unixsock_name_allowed(allowed, 1, "/var/run/docker.sock"));
	CHECK(!sv_unixsock_name_allowed(allowed, 1, "/var/run/docker.sock2"));
	CHECK(!sv_unixsock_name_allowed(allowed, 1, "/run/docker.sock"));
	CHECK(!sv_unixsock_name_allowed(allowed, 0, "/var/run/docker.sock"));
	return 0;
}

static int
test_socket_glob(void)
{
	char *allowed[] = { NULL, (char *)"/run/user/*/bus", (char *)"/tmp/.X11-unix/X[0-9]" };

	CHECK(sv_unixsock_name_allowed(allowed, 3, "/run/user/1000/bus"));
	/* FNM_PATHNAME: a star never crosses a slash. */
	CHECK(!sv_unixsock_name_allowed(allowed, 3, "/run/user/1000/x/bus"));
	CHECK(sv_unixsock_name_allowed(allowed, 3, "/tmp/.X11-unix/X0"));
	CHECK(!sv_unixsock_name_allowed(allowed, 3, "/tmp/.X11-unix/X10"));
	CHECK(!sv_unixsock_name_allowed(allowed, 3, "/run/docker.sock"));
	return 0;
}

static int
find_rule(const struct sb_landlock *ll, const char *path, uint64_t *access)
{
	for (size_t i = 0; i < ll->n_paths; i++)
		if (strcmp(ll->paths[i].path, path) == 0) {
			*access = ll->paths[i].access;
			return 1;
		}
	return 0;
}

static int
test_landlock_rules(void)
{
	struct sb_mount mounts[] = {
		{ .kind = SB_MOUNT_RW, .path = (char *)"/home/u/.cache/pip" },
		{ .kind = SB_MOUNT_RO, .path = (char *)"/home/u/ws/.git/hooks" },
		{ .kind = SB_MOUNT_MASK, .path = (char *)"/home/u/.ssh" },
	};
	struct sb_spec spec;
	struct sb_landlock ll;
	struct cordon_err err = { 0 };
	uint64_t root = 0, ws = 0, pip = 0, a = 0;

	memset(&spec, 0, sizeof(spec));
	spec.workspace = "/home/u/ws";
	spec.mounts = mounts;
	spec.n_mounts = 3;
	spec.best_effort = true; /* unit tests may run where Landlock is off */
	CHECK(sb_landlock_prepare(&spec, &ll, &err) == 0);
	if (ll.abi == 0)
		return 77;
	CHECK(find_rule(&ll, "/", &root));
	CHECK(find_rule(&ll, "/home/u/ws", &ws));
	CHECK(find_rule(&ll, "/home/u/.cache/pip", &pip));
	CHECK(find_rule(&ll, "/tmp", &a));
	/* Root: read and execute only; workspace and rw paths: write as well. */
	CHECK((root & (1ULL << 1)) == 0); /* WRITE_FILE */
	CHECK((root & (1ULL << 0)) != 0); /* EXECUTE */
	CHECK((ws & (1ULL << 1)) != 0);
	CHECK((pip & (1ULL << 8)) != 0); /* MAKE_REG */
	/* Device nodes are never creatable. */
	CHECK((ws & ((1ULL << 6) | (1ULL << 11))) == 0);
	/* Read-only and masked paths add no rule. */
	CHECK(!find_rule(&ll, "/home/u/ws/.git/hooks", &a));
	CHECK(!find_rule(&ll, "/home/u/.ssh", &a));
	/* Every granted right is a handled one. */
	for (size_t i = 0; i < ll.n_paths; i++)
		CHECK((ll.paths[i].access & ~ll.handled_fs) == 0);
	return 0;
}

static int
test_landlock_switch_off(void)
{
	struct sb_spec spec;
	struct sb_landlock ll;
	struct cordon_err err = { 0 };

	memset(&spec, 0, sizeof(spec));
	spec.workspace = "/w";
	spec.test_flags = SB_TEST_NO_LANDLOCK;
	CHECK(sb_landlock_prepare(&spec, &ll, &err) == 0);
	CHECK(ll.abi == 0 && ll.n_paths == 0);
	return 0;
}

static int
test_res_names(void)
{
	CHECK_STR(sb_res_mech_name(SB_RES_CGROUP2), "cgroup v2");
	CHECK_STR(sb_res_mech_name(SB_RES_CGROUP1), "cgroup v1");
	CHECK_STR(sb_res_mech_name(SB_RES_RLIMIT), "rlimits");
	CHECK_STR(sb_res_mech_name(SB_RES_NONE), "none");
	return 0;
}

int
main(void)
{
	TAP_RUN(test_socket_exact);
	TAP_RUN(test_socket_glob);
	TAP_RUN(test_landlock_rules);
	TAP_RUN(test_landlock_switch_off);
	TAP_RUN(test_res_names);
	return tap_done();
}
