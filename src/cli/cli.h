/* SPDX-License-Identifier: MIT */
#ifndef CORDON_CLI_CLI_H
#define CORDON_CLI_CLI_H

#include "common/err.h"

/*
 * Subcommands: argv -> structs, then one call into the library. Each
 * returns the process exit status. Errors are printed here, once.
 */
int cli_run(int argc, char **argv);

/* Print "cordon: <msg>" and, when set, "Hint: <hint>" to stderr. */
void cli_print_err(const struct cordon_err *err);

/* Usage error: print msg and the subcommand's --help pointer; returns 125. */
int cli_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
