/* SPDX-License-Identifier: MIT */
#ifndef CORDON_COMMON_XALLOC_H
#define CORDON_COMMON_XALLOC_H

#include <stddef.h>

/*
 * Allocation that aborts on OOM. Setup code only: the proxy's per-connection
 * path uses plain malloc and rejects the one connection instead.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
