/* SPDX-License-Identifier: MIT */
/*
 * Identity and privileges, in this order:
 *   ids     (root invoker) drop supplementary groups, switch to the
 *           unprivileged sandbox uid; re-arm the parent-death signal, which
 *           the kernel clears on a credential change
 *   caps    clear effective/permitted/inheritable and verify
 *   bound   lock securebits, empty the bounding set, clear ambient
 *           (needs CAP_SETPCAP, so before the id switch)
 *   nnp     no_new_privs: no setuid or file-capability gain through exec
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/steps.h"

int
sb_ids_switch(struct sb_child_ctx *ctx)
{
	const struct sb_ids *ids = ctx->ids;

	if (ids->privileged) {
		if (setgroups(0, NULL) < 0)
			return -1;
	}
	if (setresgid(ids->inner_gid, ids->inner_gid, ids->inner_gid) < 0)
		return -1;
	if (setresuid(ids->inner_uid, ids->inner_uid, ids->inner_uid) < 0)
		return -1;
	return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

int
sb_caps_bound(struct sb_child_ctx *ctx)
{
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

	(void)ctx;
	/*
	 * While we still hold CAP_SETPCAP (in the sandbox's user namespace):
	 * lock securebits so that uid 0 inside never means capabilities, and
	 * empty the bounding set so that no exec can ever gain one.
	 */
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return -1;
	for (int cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past CAP_LAST_CAP */
			return -1;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	return 0;
}

int
sb_caps_clear(struct sb_child_ctx *ctx)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	(void)ctx;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	/* Verify rather than trust: nothing effective, permitted or bounding. */
	memset(data, 0xff, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (data[i].effective || data[i].permitted || data[i].inheritable) {
			errno = EPERM;
			return -1;
		}
	for (int cap = 0; cap <= 63; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break;
		if (r == 1) {
			errno = EPERM;
			return -1;
		}
	}
	return 0;
}

int
sb_no_new_privs(struct sb_child_ctx *ctx)
{
	(void)ctx;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}
