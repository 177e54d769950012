/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SESSION_REVIEW_H
#define CORDON_SESSION_REVIEW_H

/*
 * Review mode (session/review.c): a named sandbox run with --review sees
 * its workspace through overlayfs (sandbox/overlay.c); what the command
 * changes waits in <state>/ws-upper. These read that layer from the host,
 * the sandbox stopped: whiteouts (a 0/0 character device, or a file with
 * the user.overlay.whiteout xattr) are deletions, a directory with
 * user.overlay.opaque=y hides everything the host has below it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

/*
 * At the end of a review session: for each path the upper layer changes
 * and the manifest (<dir>/ws-manifest) does not know yet, what the host
 * has there now (absent, a directory, the sha256 of a file or a link's
 * target). apply refuses a path whose host state no longer matches. Best
 * effort (a failure leaves those paths unrecorded, which apply refuses).
 */
void review_record(const char *dir, const char *workspace);

/*
 * `cordon diff NAME`: the changes, one line each (added, modified,
 * deleted, mode), then unless stat a unified diff of each changed text
 * file (`diff -u`, the host's program), binary files summarised. 0, or -1
 * with err (no such sandbox, not a review sandbox).
 */
int review_diff(const char *name, bool stat, FILE *out, struct cordon_err *err);

/*
 * `cordon apply NAME [PATH...]`: copy the changes (all, or those at or
 * below the workspace-relative paths) into the host's workspace: each file
 * written to a temporary name beside it and renamed into place; a change
 * applied is dropped from the upper layer. Refused, each said on stderr:
 * protected paths (the built-in policy's workspace entries: .git/hooks,
 * .envrc...), symlinks pointing outside the workspace, paths changed on
 * the host since the session (conflicts). 0 all applied, 1 some refused,
 * -1 with err (running, no such sandbox...).
 */
int review_apply(const char *name, char *const *paths, size_t n_paths, struct cordon_err *err);

/* `cordon discard NAME`: drop every pending change (refused while it runs). 0 or -1 (err). */
int review_discard(const char *name, struct cordon_err *err);

#endif
