/* SPDX-License-Identifier: MIT */
/*
 * `cordon check`: prove the boundary on this machine. Builds host-side bait
 * (a writable directory outside the workspace, a listening unix socket as a
 * stand-in for docker.sock, a listener on the host's loopback, its own pid),
 * runs `cordon run` with the same options a user would give, with this
 * binary bound read-only inside, and lets `cordon __probe` try each wall.
 * Prints a table (or JSON) and exits 1 on any hole, 125 if it could not run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit.h"
#include "check/check.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "sandbox/sandbox.h"

static const char check_usage[] =
    "Usage: cordon check [--json] [RUN OPTIONS...]\n"
    "\n"
    "Run probes inside a sandbox built with the given `cordon run` options and\n"
    "print, for each wall, what was expected and what was observed. Exit 0 when\n"
    "every probe passes, 1 when any wall has a hole, 125 when the check could\n"
    "not run. Nothing outside a temporary directory is written.\n"
    "\n"
    "Options:\n"
    "      --json    one JSON object per probe, in an array\n"
    "      --target HOST:PORT\n"
    "                a destination the policy approves (give --allow-domain HOST\n"
    "                too): the check proves it is reachable through the proxy\n"
    "  -h, --help    this text\n";

/* Credential locations probed when they exist (DESIGN.md §3). */
static const char *const credential_paths[] = {
	".ssh",           ".aws",
	".config/gcloud", ".azure",
	".kube",          ".docker/config.json",
	".netrc",         ".git-credentials",
	".npmrc",         ".pypirc",
	".gnupg",
};

struct probe_row {
	char name[128], expected[128], observed[256], result[8];
};

static void
rm_rf(const char *dir)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", "--one-file-system", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int
listen_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (fd < 0)
		return -1;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path)) {
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
	    chmod(path, 0777) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/*
 * Fail closed: in a user namespace of our own where no further user
 * namespace may be created, `cordon run` must refuse (125) and run nothing.
 */
static void
probe_fail_closed(const char *self, const char *ws, const char *audit_log, struct probe_row *row)
{
	int sync[2], status = 0;
	pid_t pid;
	char marker[PATH_MAX];

	snprintf(row->name, sizeof(row->name), "fail closed without user namespaces");
	snprintf(row->expected, sizeof(row->expected), "exit 125, command not run");
	if (snprintf(marker, sizeof(marker), "%s/.cordon-check-ran", ws) >= (int)sizeof(marker) ||
	    pipe2(sync, O_CLOEXEC) < 0)
		goto skip;
	pid = fork();
	if (pid < 0)
		goto skip;
	if (pid == 0) {
		char c;

		close(sync[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(120);
		if (read(sync[0], &c, 1) != 1)
			_exit(121);
		if (fd_write_file("/proc/sys/user/max_user_namespaces", "0", 1) < 0)
			_exit(122);
		if (chdir(ws) < 0)
			_exit(123);
		/* The refusal message is expected; the exit status is the result. */
		(void)!freopen("/dev/null", "w", stderr);
		execl(self, "cordon", "run", "--audit-log", audit_log, "--", "/bin/touch", marker,
		      (char *)NULL);
		_exit(124);
	}
	close(sync[0]);
	{
		char path[64], map[64];
		int n = snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)geteuid());

		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		(void)fd_write_file(path, "deny", 4);
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		(void)fd_write_file(path, map, (size_t)n);
	}
	(void)!write(sync[1], "g", 1);
	close(sync[1]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) >= 120) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 125)
			goto judge;
		goto skip;
	}
judge:
	snprintf(row->observed, sizeof(row->observed), "exit %d, command %s",
		 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		 access(marker, F_OK) == 0 ? "RAN" : "not run");
	snprintf(row->result, sizeof(row->result), "%s",
		 WIFEXITED(status) && WEXITSTATUS(status) == 125 && access(marker, F_OK) != 0
		     ? "PASS"
		     : "FAIL");
	unlink(marker);
	return;
skip:
	snprintf(row->observed, sizeof(row->observed), "could not simulate here (exit %d)",
		 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	snprintf(row->result, sizeof(row->result), "SKIP");
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *cell_next(const char *s, size_t width, char *out);

static void
print_rows(const struct probe_row *rows, size_t n, int json)
{
	if (json) {
		printf("[\n");
		for (size_t i = 0; i < n; i++) {
			printf("  {\"probe\": ");
			json_str(stdout, rows[i].name);
			printf(", \"expected\": ");
			json_str(stdout, rows[i].expected);
			printf(", \"observed\": ");
			json_str(stdout, rows[i].observed);
			printf(", \"result\": ");
			json_str(stdout, rows[i].result);
			printf("}%s\n", i + 1 < n ? "," : "");
		}
		printf("]\n");
		return;
	}
	printf("%-36s %-30s %-36s %s\n", "PROBE", "EXPECTED", "OBSERVED", "RESULT");
	for (size_t i = 0; i < n; i++) {
		const char *c[3] = { rows[i].name, rows[i].expected, rows[i].observed };
		static const int w[3] = { 36, 30, 36 };
		char cell[3][64];

		/* Long cells go on to the next lines, broken between words. */
		for (int first = 1; first || *c[0] || *c[1] || *c[2]; first = 0) {
			for (int k = 0; k < 3; k++)
				c[k] = cell_next(c[k], (size_t)w[k], cell[k]);
			char line[192];
			int m = snprintf(line, sizeof(line), "%-36s %-30s %-36s %s", cell[0],
					 cell[1], cell[2], first ? rows[i].result : "");

			while (m > 0 && line[m - 1] == ' ')
				line[--m] = '\0';
			puts(line);
		}
	}
}

/*
 * The next piece of s that fits in width columns, into out (width + 1
 * bytes): cut after the last space, '/' or ',' that fits, mid-word only
 * when a word is longer than the column. Returns the rest of s.
 */
static const char *
cell_next(const char *s, size_t width, char *out)
{
	size_t n = strlen(s), cut = n;

	if (n > width) {
		cut = width;
		for (size_t i = width; i > width / 3; i--)
			if (s[i] == ' ' || s[i - 1] == '/' || s[i - 1] == ',') {
				cut = i;
				break;
			}
	}
	memcpy(out, s, cut);
	out[cut] = '\0';
	while (cut > 0 && out[cut - 1] == ' ')
		out[--cut] = '\0';
	s += cut;
	while (*s == ' ')
		s++;
	return s;
}

int
cli_check(int argc, char **argv)
{
	struct probe_row rows[128];
	size_t n_rows = 0, n_fail = 0, n_pass = 0;
	char tmpl[] = "/var/tmp/cordon-check.XXXXXX", self[PATH_MAX], ws[PATH_MAX],
	     outside[PATH_MAX], sockpath[PATH_MAX], audit_log[PATH_MAX], buf[64];
	const char *home = getenv("HOME");
	_cleanup_close_ int usock = -1, tsock = -1;
	static char **av; /* lives until exit: the sandbox command line */
	int json = 0, port = 0, pipefd[2], status, user_ws = 0;
	const char *target = NULL;
	size_t ac = 0;
	pid_t pid;
	FILE *in;
	char line[1024];
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(check_usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "-w") == 0 || strcmp(argv[i], "--workspace") == 0 ||
		    strncmp(argv[i], "--workspace=", 12) == 0)
			user_ws = 1;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		fprintf(stderr, "cordon: check: cannot find own binary: %s\n", strerror(errno));
		return 125;
	}
	self[n] = '\0';
	if (mkdtemp(tmpl) == NULL || chmod(tmpl, 0755) < 0) {
		fprintf(stderr, "cordon: check: temporary directory: %s\n", strerror(errno));
		return 125;
	}
	snprintf(ws, sizeof(ws), "%s/workspace", tmpl);
	snprintf(outside, sizeof(outside), "%s/outside", tmpl);
	snprintf(sockpath, sizeof(sockpath), "%s/outside/docker.sock", tmpl);
	snprintf(audit_log, sizeof(audit_log), "%s/audit/audit.jsonl", tmpl);
	if (mkdir(ws, 0755) < 0 || mkdir(outside, 0777) < 0 || chmod(outside, 0777) < 0) {
		fprintf(stderr, "cordon: check: set up %s: %s\n", tmpl, strerror(errno));
		rm_rf(tmpl);
		return 125;
	}
	usock = listen_unix(sockpath);
	tsock = listen_loopback(&port);

	av = xcalloc((size_t)argc + 64, sizeof(*av));
	av[ac++] = (char *)"cordon";
	av[ac++] = (char *)"run";
	av[ac++] = (char *)"--bind-self";
	av[ac++] = (char *)"--quiet";
	/* The probes' denials are staged: they stay out of the user's audit log. */
	av[ac++] = (char *)"--audit-log";
	av[ac++] = audit_log;
	if (!user_ws) {
		av[ac++] = (char *)"--workspace";
		av[ac++] = ws;
	}
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc)
			target = argv[++i];
		else
			av[ac++] = argv[i];
	av[ac++] = (char *)"--";
	av[ac++] = (char *)"/run/cordon/cordon";
	av[ac++] = (char *)"__probe";
	av[ac++] = (char *)"--outside";
	av[ac++] = outside;
	if (!user_ws) {
		av[ac++] = (char *)"--workspace";
		av[ac++] = ws;
	}
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	av[ac++] = (char *)"--host-pid";
	av[ac++] = xstrdup(buf);
	if (tsock >= 0) {
		snprintf(buf, sizeof(buf), "%d", port);
		av[ac++] = (char *)"--host-port";
		av[ac++] = xstrdup(buf);
	}
	if (usock >= 0) {
		av[ac++] = (char *)"--socket";
		av[ac++] = sockpath;
	}
	if (target != NULL) {
		av[ac++] = (char *)"--target";
		av[ac++] = (char *)(uintptr_t)target;
	}
	{
		static const char *const host_sockets[] = {
			"/var/run/docker.sock",
			"/run/docker.sock",
			"/run/dbus/system_bus_socket",
			"/var/run/dbus/system_bus_socket",
		};
		const char *agent = getenv("SSH_AUTH_SOCK");

		for (size_t i = 0; i < ARRAY_SIZE(host_sockets); i++)
			if (access(host_sockets[i], F_OK) == 0) {
				av[ac++] = (char *)"--socket";
				av[ac++] = xstrdup(host_sockets[i]);
			}
		if (agent != NULL && access(agent, F_OK) == 0) {
			av[ac++] = (char *)"--socket";
			av[ac++] = xstrdup(agent);
		}
	}
	for (size_t i = 0;
	     home != NULL && i < ARRAY_SIZE(credential_paths) && ac < (size_t)argc + 60; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/%s", home, credential_paths[i]);
		if (access(p, F_OK) == 0) {
			av[ac++] = (char *)"--deny";
			av[ac++] = xstrdup(p);
		}
	}
	/* The session's own log (written first, so it exists by then): the probe's target. */
	av[ac++] = (char *)"--audit-log";
	av[ac++] = audit_log;
	av[ac] = NULL;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		rm_rf(tmpl);
		return 125;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		if (chdir(user_ws ? "." : ws) < 0)
			_exit(125);
		execv(self, av);
		_exit(127);
	}
	close(pipefd[1]);
	in = fdopen(pipefd[0], "re");
	while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
		char *f[5], *save = NULL, *p = line;
		int k = 0;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "PROBE\t", 6) != 0) {
			puts(line);
			continue;
		}
		p += 6;
		for (char *t = strtok_r(p, "\t", &save); t != NULL && k < 4;
		     t = strtok_r(NULL, "\t", &save))
			f[k++] = t;
		if (k != 4 || n_rows == ARRAY_SIZE(rows) - 1)
			continue;
		snprintf(rows[n_rows].name, sizeof(rows[n_rows].name), "%s", f[0]);
		snprintf(rows[n_rows].expected, sizeof(rows[n_rows].expected), "%s", f[1]);
		snprintf(rows[n_rows].observed, sizeof(rows[n_rows].observed), "%s", f[2]);
		snprintf(rows[n_rows].result, sizeof(rows[n_rows].result), "%s", f[3]);
		n_rows++;
	}
	if (in != NULL)
		fclose(in);
	waitpid(pid, &status, 0);
	if (n_rows == 0) {
		fprintf(stderr,
			"cordon: check: the sandbox did not run the probes (exit %d)\n"
			"Hint: `cordon run -- true` with the same options shows why\n",
			WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		rm_rf(tmpl);
		return 125;
	}
	probe_fail_closed(self, ws, audit_log, &rows[n_rows++]);
	{
		/* Outside facts: what this kernel and machine give the walls. */
		int abi = sb_landlock_abi();
		enum sb_res_mech mech = sb_resources_probe(1);
		struct probe_row *r = &rows[n_rows++];

		snprintf(r->name, sizeof(r->name), "Landlock available");
		snprintf(r->expected, sizeof(r->expected), "ABI >= 1 (fs rules)");
		snprintf(r->observed, sizeof(r->observed), "ABI %d%s", abi,
			 abi >= 6   ? " (scoping too)"
			 : abi >= 4 ? " (TCP rules too)"
				    : "");
		snprintf(r->result, sizeof(r->result), "%s", abi >= 1 ? "PASS" : "FAIL");
		r = &rows[n_rows++];
		snprintf(r->name, sizeof(r->name), "resource limits mechanism");
		snprintf(r->expected, sizeof(r->expected), "memory, cpu and pids enforceable");
		snprintf(r->observed, sizeof(r->observed), "%s", sb_res_mech_name(mech));
		snprintf(r->result, sizeof(r->result), "%s",
			 mech == SB_RES_CGROUP1 || mech == SB_RES_CGROUP2 ? "PASS" : "WARN");
	}
	for (size_t i = 0; i < n_rows; i++) {
		n_fail += strcmp(rows[i].result, "FAIL") == 0;
		n_pass += strcmp(rows[i].result, "PASS") == 0;
	}
	print_rows(rows, n_rows, json);
	if (!json) {
		printf("\n%zu probes, %zu passed, %zu failed\n", n_rows, n_pass, n_fail);
		if (n_pass + n_fail < n_rows)
			printf("%zu neither (WARN or SKIP)\n", n_rows - n_pass - n_fail);
		printf("PASS: the wall held. FAIL: a hole (exit 1). WARN: no hole, but a wall "
		       "is weaker on\nthis machine than it can be (see OBSERVED). SKIP: could "
		       "not be tried here.\n");
	}
	rm_rf(tmpl);
	return n_fail ? 1 : 0;
}

int
cli_probe(int argc, char **argv)
{
	return check_probe_main(argc, argv);
}
