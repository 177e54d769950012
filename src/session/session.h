/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SESSION_SESSION_H
#define CORDON_SESSION_SESSION_H

/*
 * A session: one command in one sandbox under one effective policy, from
 * the parsed options to the end of the quarantine pass. This module is the
 * library object behind `cordon run` and the agent presets (as libcrun's
 * container is behind crun's CLI): it composes the policy layers
 * (session/policy.c), the egress proxy and its rules (session/net.c), the
 * audit trail (session/audit.c), the kernel walls' settings
 * (session/walls.c), the supervisor and the sandbox (session/session.c).
 * The CLI fills a struct cordon_session from argv and calls session_run;
 * it holds no state and composes nothing.
 *
 * The order of one run:
 *   1. workspace canonical and acceptable; earlier sessions whose cordon
 *      was killed cleaned up, this one's id chosen (session/guard.c); the
 *      policy's layers loaded and planned into mounts
 *   2. the proxy's rules from every layer; the private home (root invoker);
 *      the command's environment (scrubbed, proxy variables, presets')
 *   3. the audit log opened and masked inside; then the quarantine
 *      snapshot (cordon's own files are not plants)
 *   4. the sandbox cloned; while it mounts: the start record, the proxy
 *   5. the session's record written (the next cordon finishes its clean-up
 *      if this one is killed); the supervisor attached (exec audit, unix-socket policy), the
 *      sandbox released, the loop run until pid 1 exits
 *   6. the end record, the limits' report, the quarantine pass, the
 *      record removed
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "common/err.h"
#include "policy/plan.h"
#include "policy/policy.h"
#include "proxy/ca.h"
#include "sandbox/sandbox.h"
#include "session/guard.h"
#include "session/named.h"
#include "supervisor/gitscan.h"
#include "supervisor/quarantine.h"
#include "supervisor/unixsock.h"

/* Path rules of one run: the command line's, the policy's, the audit mask. */
#define SESSION_MAX_PATH_RULES   (POLICY_MAX_MOUNTS + 64)
#define SESSION_MAX_UNIX_SOCKETS 64
/*
 * Exit status when the command ran and cordon stopped it because an audit
 * record could not be written (audit.failClosed): not 125, which says
 * nothing ran.
 */
#define SESSION_EXIT_AUDIT_STOPPED 122

/*
 * Workspaces of one run (--workspace repeated): the first is the primary
 * (the working directory, the project settings, named sandboxes and review
 * mode), each further one visible read-write (or read-only) at its own
 * host path with the primary's protections.
 */
#define SESSION_MAX_WORKSPACES 16

/* A workspace after the primary; path canonical, malloc'd. */
struct session_workspace {
	char *path;
	bool ro;
	struct qr_git_scan git; /* its git directories, when read-write */
	bool scanned;
	struct qr_snapshot snap; /* its quarantine snapshot, when read-write */
	bool snapped;
};

/* The policy of a run: its options, the layers, the plan, the snapshot. */
struct session_policy {
	const char *profile;
	const char *policy_file;
	bool claude_settings;
	bool allow_degraded;
	bool quiet;               /* no notes on stderr (what was scrubbed); warnings stay */
	bool as_agent;            /* --as-agent */
	const char *loopback[16]; /* --allow-loopback PORT */
	size_t n_loopback;
	bool loopback_overflow;
	bool policy_twice; /* --policy given more than once: refused */
	char **argv;       /* the command as run (cli_run_policy_command), or NULL */
	bool loaded;
	bool have_home;
	char home[PATH_MAX];
	struct cordon_policy pol;
	struct policy_plan plan;
	struct qr_git_scan git; /* the workspace's git directories (session_policy_add_git) */
	bool scanned;
	struct qr_snapshot snap;
	bool snapped;
	bool primary_ro; /* --workspace DIR:ro as the first: read-only inside */
	struct session_workspace extra[SESSION_MAX_WORKSPACES - 1];
	size_t n_extra;
	bool finished; /* session_policy_finish ran: its result below */
	int finish_r;
	struct cordon_err finish_err;
	/* Branch mode's rules and common git directory (session/branch.h), or NULL. */
	const struct session_named *branch;
	/*
	 * credentials.inject: the values, kept out of this process's memory
	 * while the sandbox is cloned (a memfd, when inject_open), and the
	 * placeholders the sandbox sees instead (malloc'd NAME=VALUE).
	 */
	int inject_fd;
	bool inject_open; /* inject_fd is open */
	char **placeholders;
	size_t n_placeholders;
	/* --allow-domain / --deny-domain, in order: the command-line layer. */
	struct {
		const char *pattern;
		bool deny;
	} domains[512];
	size_t n_domains;
};

/* Kernel walls asked for on the command line (the policy's come first). */
struct session_walls {
	uint64_t memory_max, disk_max;
	uint32_t cpu_millis, pids_max;
	bool allow_ptrace, no_local_binding;
	char *unix_sockets[SESSION_MAX_UNIX_SOCKETS]; /* --allow-unix-socket, malloc'd */
	size_t n_unix_sockets;
	char *all[2 * SESSION_MAX_UNIX_SOCKETS]; /* policy's, then the command line's */
	size_t n_all;
	size_t n_all_policy;         /* all[0..n_all_policy) are the policy's, malloc'd */
	struct sv_unixsock unixsock; /* the unix-socket policy, served by the supervisor */
};

/* The network side: the proxy's rules, in order, and test-only resolves. */
struct session_net {
	const char *pattern[512];
	int deny[512];
	size_t n;
	const char *resolve[64];
	size_t n_resolve;
	int verbose;
	/* While it runs: hosts refused for want of a rule, said at the end. */
	struct sv_supervisor *sv;
	struct {
		char host[256];
		uint16_t port;
		unsigned times;
	} refused[16];
	size_t n_refused;
	size_t refused_more; /* distinct hosts beyond the table */
};

/* TLS interception (session/tls.c): on when a rule or an injection needs it. */
struct session_tls {
	bool on;
	struct px_ca_paths ca;
	char bundle[PATH_MAX]; /* the merged CA bundle, on the host */
	char dist[PATH_MAX];   /* the distribution's bundle, bound over inside ("" if none) */
	struct {
		char target[PATH_MAX]; /* a host Java trust store (real path), bound over inside */
		char merged[PATH_MAX]; /* its copy with the CA, in the state directory */
	} java[4];
	size_t n_java;
};

/* The audit trail of one run (docs/audit-schema.md). */
struct session_audit {
	struct audit_options opts;
	bool exec; /* exec audit (seccomp notification on execve) */
	struct cordon_audit *log;
	const struct sb_spec *spec; /* the command and walls, for the records */
	bool started;               /* the start record is written */
	const char *capture;        /* layers.capture of the end record ("on", "off"), or NULL */
	struct audit_workspace workspaces[SESSION_MAX_WORKSPACES]; /* the primary first; borrowed */
	size_t n_workspaces;
};

struct cordon_session {
	/* Filled by the caller (see session_new for the defaults). */
	const char *workspace_arg; /* "." */
	char **argv;               /* the command; NULL-terminated, borrowed */
	/* --workspace given again: the further workspaces, "DIR" or "DIR:ro" */
	const char *workspace_more[SESSION_MAX_WORKSPACES - 1];
	size_t n_workspace_more;
	bool workspace_given;
	bool verbose;
	bool test_no_ro_root; /* CORDON_TEST_NO_RO_ROOT with CORDON_TEST_HOOKS=1 */
	struct session_policy policy;
	struct session_net net;
	struct session_tls tls;
	struct session_audit audit;
	struct session_walls walls;
	/* Path rules: the command line's, then the plan's (paths malloc'd). */
	struct sb_mount mounts[SESSION_MAX_PATH_RULES];
	size_t n_mounts;
	struct sb_report walls_raised; /* filled by the sandbox, for the records */
	/* The session's id, its record, the stop grace period (session/guard.c). */
	struct session_guard guard;
	struct session_named named; /* --name (session/named.h) */
	/*
	 * Errors found after the first (a failed start, then an audit record
	 * that could not be written) go here as they happen; the CLI prints.
	 */
	void (*report)(const struct cordon_err *err);
};

/* A session with its defaults (fail-closed audit, exec audit on). Never NULL. */
struct cordon_session *session_new(void);

/* Release everything; s may be NULL. */
void session_free(struct cordon_session *s);

/*
 * A command-line path rule (--rw, --ro, --mask): path must exist; it is
 * kept canonical. 0, or -1 with err set (and a hint).
 */
int session_add_path(struct cordon_session *s, enum sb_mount_kind kind, const char *path,
		     struct cordon_err *err);

/*
 * --workspace ARG: the first is the primary, each further one is kept for
 * session_run. ARG is DIR, DIR:ro (read-only inside) or DIR:rw; a
 * directory whose own name ends in ":ro" or ":rw" is given with an
 * explicit mode after it ("a:ro:rw"). Checked when the session runs.
 * 0, or -1 with err set when there are more than SESSION_MAX_WORKSPACES.
 */
int session_add_workspace(struct cordon_session *s, const char *arg, struct cordon_err *err);

/*
 * This binary, read-only at SESSION_SELF_INSIDE inside (a path in the
 * sandbox's private /run): the host path may be unreachable for the
 * sandbox uid. 0 or -1 (err).
 */
#define SESSION_SELF_INSIDE "/run/cordon/cordon"
int session_bind_self(struct cordon_session *s, struct cordon_err *err);

/*
 * --allow-domain / --deny-domain: kept for the command-line layer, so a
 * managed lock on the network lists holds against flags too. 0 or -1.
 */
int session_add_domain(struct cordon_session *s, const char *pattern, bool deny,
		       struct cordon_err *err);

/* --resolve HOST:ADDR (test-only; the caller checks CORDON_TEST_HOOKS). 0 or -1. */
int session_add_resolve(struct cordon_session *s, const char *arg, struct cordon_err *err);

/*
 * Run the session to its end. Returns the exit status (DESIGN.md §2): the
 * command's own, 128+N, 125 when nothing ran, 126/127. When the result is
 * an error of cordon's, err is set for the caller to print; errors after
 * the first go to s->report. The quarantine pass runs on every path once a
 * snapshot was taken. Not safe after fork (it is the supervisor).
 */
int session_run(struct cordon_session *s, struct cordon_err *err);

/* ---- session/policy.c: also used by `cordon policy show` ---- */

/*
 * The workspaces of session_add_workspace's arguments: the primary
 * canonical into *primary (malloc'd, the caller frees it, also on
 * failure), sp->primary_ro, each further one into sp->extra. Every one
 * must be an existing directory acceptable as a workspace; none may lie
 * inside another or be given twice. 0, or -1 with err set (and a hint).
 */
int session_workspaces_open(struct session_policy *sp, const char *primary_arg,
			    const char *const *more, size_t n_more, char **primary,
			    struct cordon_err *err);

/*
 * The workspaces' own rules into cli (the command-line layer): each
 * further workspace an allowWrite (a denyWrite when read-only), a
 * read-only primary a denyWrite. Done by session_policy_apply; for
 * `cordon policy show`. 0 or -1 (err).
 */
int session_policy_workspace_rules(const struct session_policy *sp, const char *workspace,
				   struct cordon_policy *cli, struct cordon_err *err);

/* The policy context of the workspaces (ctx->more points into more, SESSION_MAX_WORKSPACES). */
void session_policy_ctx(const struct session_policy *sp, const char *workspace, const char **more,
			struct policy_ctx *ctx);

/* The invoker's home, canonical. 0, or -1 when there is none. */
int session_home(char *buf, size_t len);

/*
 * Build the effective policy for workspace. The command-line path rules
 * already in mounts (origin "command line": --rw, --ro, --mask) become the
 * command-line layer; they are replaced by the planned mounts (paths
 * malloc'd, origins owned by sp). Prints notes (with -v) and what was
 * degraded. 0, or -1 with err set.
 */
int session_policy_apply(struct session_policy *sp, const char *workspace, struct sb_mount *mounts,
			 size_t *n_mounts, size_t max, struct cordon_err *err);

/*
 * Find the workspace's git directories (one bounded walk, gitscan.h) and
 * add their control files to sp->pol as built-in denyWrite rules (the
 * origin says "git"). Called by session_policy_apply, and by `cordon
 * policy show --mounts` after policy_load. When the walk hit a limit, fails
 * unless the policy accepts a weaker boundary (failIfUnavailable false,
 * --allow-degraded); then it warns. 0, or -1 with err set.
 */
int session_policy_add_git(struct session_policy *sp, const char *workspace,
			   struct cordon_err *err);

/*
 * A path as a policy rule: the rules' glob characters in it become `?`,
 * which matches them (and similar names alike, which only protects more).
 * Returns a malloc'd string.
 */
char *session_policy_rule_of(const char *path);

/*
 * The quarantine's snapshot of the protected paths, taken after cordon's
 * own files (the audit log) exist, so that nothing cordon creates itself
 * counts as planted. 0 or -1 (err).
 */
int session_policy_snapshot(struct session_policy *sp, const char *workspace,
			    struct cordon_err *err);

/* The command's environment under the policy (array malloc'd, strings borrowed). */
char **session_policy_env(struct session_policy *sp, char *const *envp);

struct cordon_audit;

/*
 * After the sandbox has ended: quarantine protected paths that appeared,
 * print the report on stderr and, when audit is not NULL, write each line
 * of it to the audit log (a `violation` record of kind "quarantine").
 * Runs once; a later call returns the first one's result. 0, or -1 when
 * something could not be made safe (err set).
 */
int session_policy_finish(struct session_policy *sp, struct cordon_audit *audit,
			  struct cordon_err *err);

/*
 * The state directory the quarantine keeps what it moves aside in
 * (quarantine/ below it): $XDG_STATE_HOME/cordon, ~/.local/state/cordon.
 */
void session_policy_state_dir(const struct session_policy *sp, char *out, size_t len);

/* Release everything the policy holds. */
void session_policy_free(struct session_policy *sp);

#endif
