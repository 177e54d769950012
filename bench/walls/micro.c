/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmark of the walls' own work, in-process: compiling the seccomp
 * filters and preparing the Landlock rules (supervisor, before clone), and
 * loading them (child, before exec), each timed over many iterations. Built
 * and run by bench/walls/run.sh against a build directory's libcordon.a.
 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/steps.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
main(void)
{
	enum { N = 200 };
	struct sb_spec spec;
	struct sb_landlock ll;
	struct sock_fprog prog, nprog;
	struct cordon_err err = { 0 };
	char ws[] = "/tmp";
	double t0, t_sc = 0, t_nt = 0, t_ll = 0, t_lla = 0, t_sca = 0;

	memset(&spec, 0, sizeof(spec));
	spec.workspace = ws;
	spec.notify = SB_NOTIFY_EXEC | SB_NOTIFY_CONNECT;
	for (int i = 0; i < N; i++) {
		t0 = now_us();
		if (sb_seccomp_compile(&spec, &prog, &err) < 0)
			return 1;
		t_sc += now_us() - t0;
		t0 = now_us();
		if (sb_notify_compile(&spec, &nprog, &err) < 0)
			return 1;
		t_nt += now_us() - t0;
		t0 = now_us();
		if (sb_landlock_prepare(&spec, &ll, &err) < 0)
			return 1;
		t_ll += now_us() - t0;
		if (i + 1 < N) {
			sb_seccomp_free(&prog);
			sb_seccomp_free(&nprog);
		}
	}
	printf("seccomp deny filter: %u BPF instructions; notify filter: %u\n", prog.len,
	       nprog.len);
	/* Loading: in fresh children (a filter or ruleset cannot be removed). */
	for (int i = 0; i < N; i++) {
		int p[2];
		double r[2];
		pid_t pid;

		int sp[2];

		/* the child receives its filters over the control socket, as in cordon */
		if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) < 0 ||
		    sb_seccomp_send(sp[0], 0, &prog) < 0 || sb_seccomp_send(sp[0], 1, &nprog) < 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			struct sb_child_ctx ctx;

			memset(&ctx, 0, sizeof(ctx));
			ctx.spec = &spec;
			ctx.landlock = &ll;
			ctx.ctl_fd = sp[1];
			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
			t0 = now_us();
			sb_landlock_apply(&ctx);
			r[0] = now_us() - t0;
			t0 = now_us();
			sb_seccomp_apply(&ctx);
			r[1] = now_us() - t0;
			(void)!write(p[1], r, sizeof(r));
			_exit(0);
		}
		close(p[1]);
		close(sp[0]);
		close(sp[1]);
		if (read(p[0], r, sizeof(r)) == (ssize_t)sizeof(r)) {
			t_lla += r[0];
			t_sca += r[1];
		}
		close(p[0]);
		waitpid(pid, NULL, 0);
	}
	printf("| step | where | mean [us] |\n|:---|:---|---:|\n");
	printf("| compile seccomp deny filter (libseccomp) | supervisor | %.1f |\n", t_sc / N);
	printf("| compile notify filter (libseccomp) | supervisor | %.1f |\n", t_nt / N);
	printf("| prepare Landlock rules (ABI %d, %zu paths) | supervisor | %.1f |\n", ll.abi,
	       ll.n_paths, t_ll / N);
	printf("| apply Landlock (open paths, add rules, restrict) | child | %.1f |\n", t_lla / N);
	printf("| receive and load seccomp (personality + deny filter) | child | %.1f |\n", t_sca / N);
	return 0;
}
