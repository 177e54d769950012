/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SANDBOX_CHILD_H
#define CORDON_SANDBOX_CHILD_H

#include <stddef.h>

#include "sandbox/steps.h"

/* Signals relayed from the supervisor to the command through pid 1. */
extern const int sb_forwarded_signals[];
extern const size_t sb_n_forwarded_signals;

/* Report {step, errno, detail} to the supervisor and _exit(125). */
__attribute__((noreturn)) void sb_child_fail(struct sb_child_ctx *ctx, int step);

/* Fork and exec the command, then act as init. Never returns. */
__attribute__((noreturn)) void sb_child_init(struct sb_child_ctx *ctx);

#endif
