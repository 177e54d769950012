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

/*
 * Trust store. Trust names a workspace and the content of its
 * .cordon/settings.json (SHA-256, as direnv does for .envrc): when the
 * file changes, a `git pull` cannot widen the policy unseen; the
 * workspace is untrusted again until `cordon trust` is run once more.
 * dir must be canonical. digest is lowercase hex, or
 * POLICY_TRUST_NO_FILE when the workspace has no settings file.
 */
#define POLICY_TRUST_NO_FILE "none"

struct policy_trust_entry {
	char *dir;
	char *sha256; /* hex or POLICY_TRUST_NO_FILE; NULL: written before digests */
};

enum policy_trust {
	POLICY_TRUST_NO,      /* never trusted (or untrusted) */
	POLICY_TRUST_YES,     /* trusted, and the file is the one trusted */
	POLICY_TRUST_CHANGED, /* trusted, but the file changed since */
};

/* Free an array from policy_trust_list (NULL is fine). */
void policy_trust_free(struct policy_trust_entry *v, size_t n);

/* Trust state of dir with its settings file's digest. 0 / -1 (err). */
int policy_trust_check(const char *home, const char *dir, const char *digest,
		       enum policy_trust *state, struct cordon_err *err);
/* Record (trust) or drop (!trust) dir with digest. 0 / -1 (err). */
int policy_trust_set(const char *home, const char *dir, const char *digest, bool trust,
		     struct cordon_err *err);
/* The trust store's entries, malloc'd (policy_trust_free). 0 / -1 (err). */
int policy_trust_list(const char *home, struct policy_trust_entry **v, size_t *n,
		      struct cordon_err *err);

/*
 * Digest of DIR/.cordon/settings.json into hex[65]: lowercase hex, or
 * POLICY_TRUST_NO_FILE when there is none. If text is not NULL, the
 * file's content (malloc'd, caller frees; NULL when absent) and its
 * length go there, so the bytes hashed are the bytes parsed. 0 / -1.
 */
int policy_project_read(const char *dir, char hex[65], char **text, size_t *len,
			struct cordon_err *err);

/*
 * For `cordon trust`: the digest of dir's settings file (as above), and
 * in *widen what it allows beyond the other layers (policy_widenings;
 * malloc'd, caller frees; NULL when there is no file). A file that does
 * not parse is an error. 0 / -1 (err).
 */
int policy_project_review(const char *home, const char *dir, char hex[65], char **widen,
			  struct cordon_err *err);

#endif
