/* SPDX-License-Identifier: MIT */
#ifndef CORDON_POLICY_LOAD_H
#define CORDON_POLICY_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "policy/policy.h"

/*
 * Finding and reading the layers, and the trust store.
 *
 *   user      $XDG_CONFIG_HOME/cordon/settings.json (default ~/.config/...)
 *   claude    ~/.claude/settings.json, its `sandbox` block (when asked)
 *   project   WORKSPACE/.cordon/settings.json (tighten-only unless trusted)
 *   managed   /etc/cordon/managed-settings.json
 *   trust     $XDG_CONFIG_HOME/cordon/trusted.json (outside any workspace)
 *
 * `~` and the user's files use $HOME when it is an absolute path, else the
 * passwd entry of the real uid. Test hooks, honoured only when
 * CORDON_TEST_HOOKS=1: CORDON_TEST_CONFIG_DIR replaces
 * $XDG_CONFIG_HOME/cordon, and CORDON_TEST_MANAGED_SETTINGS replaces the
 * managed file's path, but only while the real managed file does not
 * exist, so the hook can never bypass an administrator's policy.
 */
#define POLICY_MANAGED_PATH "/etc/cordon/managed-settings.json"

struct policy_load_opts {
	const char *workspace;           /* canonical */
	const char *home;                /* from policy_home(), may be NULL */
	const char *profile;             /* --profile NAME or NULL */
	bool provide;                    /* create the profile's state and caches (a run) */
	bool claude_settings;            /* read ~/.claude/settings.json */
	const char *policy_file;         /* --policy FILE (command-line layer) or NULL */
	const struct cordon_policy *cli; /* command-line flags as a layer, or NULL */
};

/* The invoking user's home into buf: $HOME if absolute, else passwd. 0 / -1. */
int policy_home(char *buf, size_t len);

/* Directory of cordon's user files (settings, trust store). 0 / -1. */
int policy_config_dir(const char *home, char *buf, size_t len);

/* Path of the managed settings (honouring the test hook as above). */
const char *policy_managed_path(void);

/*
 * Read a settings file: a regular file of at most POLICY_MAX_FILE_SIZE
 * bytes, opened without following it into a FIFO or device. Returns 0 with
 * *text (malloc'd, NUL-terminated) and *len, 1 when it does not exist, -1
 * with err set.
 */
int policy_read_file(const char *path, char **text, size_t *len, struct cordon_err *err);

/* Read and parse one file into pol (missing file: 0, nothing added). */
int policy_load_file(struct cordon_policy *pol, const char *path, enum policy_layer layer,
		     unsigned flags, struct cordon_err *err);

/*
 * Build the effective policy from every layer into eff (initialised
 * here). 0, or -1 with err set; eff is freed on error.
 */
int policy_load(struct cordon_policy *eff, const struct policy_load_opts *opts,
		struct cordon_err *err);

/* Trust store. dir must be canonical. */
int policy_trust_check(const char *home, const char *dir, bool *trusted, struct cordon_err *err);
int policy_trust_set(const char *home, const char *dir, bool trust, struct cordon_err *err);
/* Trusted directories, malloc'd array of malloc'd strings (caller frees). */
int policy_trust_list(const char *home, char ***dirs, size_t *n, struct cordon_err *err);

#endif
