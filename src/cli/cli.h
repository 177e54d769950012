/* SPDX-License-Identifier: MIT */
#ifndef CORDON_CLI_CLI_H
#define CORDON_CLI_CLI_H

#include "common/err.h"

/*
 * Subcommands: argv -> structs, then one call into the library. Each
 * returns the process exit status. Errors are printed here, once.
 */
int cli_run(int argc, char **argv);
int cli_hook(int argc, char **argv);
int cli_agent(int argc, char **argv);
int cli_shim(int argc, char **argv);
/*
 * `cordon __inside`: exit 0 inside a cordon sandbox (sb_inside_cordon),
 * 1 outside. For the shim, which cannot trust CORDON_SANDBOX.
 */
int cli_inside(int argc, char **argv);
int cli_proxy(int argc, char **argv);
int cli_allow(int argc, char **argv);
/* cli/ps.c: `cordon ps`, the running sessions. */
int cli_ps(int argc, char **argv);
/* cli/sandboxes.c: `cordon ls`, `cordon stop NAME`, `cordon rm NAME`: named sandboxes. */
int cli_ls(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_rm(int argc, char **argv);
int cli_exec(int argc, char **argv);
/* cli/review.c: a review sandbox's pending workspace changes. */
int cli_diff(int argc, char **argv);
int cli_apply(int argc, char **argv);
int cli_discard(int argc, char **argv);
/* `cordon __loopback-relay PORT[,PORT...] -- CMD...`: inside the sandbox (cli/relay.c). */
int cli_loopback_relay(int argc, char **argv);
/* cli/ca.c: `cordon ca show|path|rotate`. */
int cli_ca(int argc, char **argv);

/* CORDON_TEST_HOOKS=1 in the environment: test-only switches are honoured. */
int cli_test_hooks(void);
int cli_check(int argc, char **argv);
int cli_probe(int argc, char **argv);
int cli_log(int argc, char **argv);
/* cli/policy.c: `cordon policy show|validate`, `cordon trust|untrust`. */
int cli_policy(int argc, char **argv);
int cli_trust(int argc, char **argv);
int cli_untrust(int argc, char **argv);

/* argv[0] as cordon was called (set by main). */
extern const char *cli_argv0;
/*
 * The cordon binary as the user called it, into out (len bytes): the
 * absolute path of argv[0], or the PATH entry a bare name was found in,
 * symlinks kept, when it is this very binary; else /proc/self/exe. 0, or
 * -1 with err when /proc/self/exe cannot be read.
 */
int cli_self_path(char *out, size_t len, struct cordon_err *err);

/* Print "cordon: <msg>" and, when set, "Hint: <hint>" to stderr. */
void cli_print_err(const struct cordon_err *err);

/* Usage error: print msg and the subcommand's --help pointer; returns 125. */
int cli_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
