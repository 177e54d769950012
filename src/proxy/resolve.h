/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_RESOLVE_H
#define CORDON_PROXY_RESOLVE_H

#include <stddef.h>

#include "common/err.h"
#include "proxy/allow.h"
#include "proxy/loop.h"

/*
 * Asynchronous name resolution for the proxy: c-ares driven by the proxy's
 * own loop (its sockets are loop watches, its timeouts a loop timer), plus
 * a static override table (`--resolve HOST:ADDR`, test-only).
 */
#define PX_RESOLVE_MAX 8 /* addresses kept per name */

struct px_resolver;
struct px_resolve_req;

/*
 * status: 0 on success (n >= 1 addresses, IPv4 first), else an errno-style
 * code (ENOENT: no such name, ETIMEDOUT, EIO). addrs is valid during the
 * call only.
 */
typedef void (*px_resolve_cb)(void *arg, int status, const struct px_addr *addrs, size_t n);

/* Create a resolver on loop, reading the system's resolver configuration. */
struct px_resolver *px_resolver_new(struct px_loop *loop, struct cordon_err *err);
void px_resolver_free(struct px_resolver *res);

/*
 * Add an override "HOST:ADDR" (ADDR an IPv4 literal or [IPv6]); lookups of
 * HOST return ADDR without asking DNS. Repeat for several addresses.
 * 0 or -1 with err.
 */
int px_resolver_add_override(struct px_resolver *res, const char *spec, struct cordon_err *err);

/*
 * Overrides for host (normalised), copied to addrs (up to max). Returns the
 * count, 0 when host has none.
 */
size_t px_resolver_lookup_override(const struct px_resolver *res, const char *host,
				   struct px_addr *addrs, size_t max);

/*
 * Start resolving host (normalised name). *slot is set to the request before
 * anything else happens and cleared just before cb runs; cb may run before
 * px_resolve returns. Returns 0, or -1 (ENOMEM) without calling cb.
 */
int px_resolve(struct px_resolver *res, const char *host, px_resolve_cb cb, void *arg,
	       struct px_resolve_req **slot);

/* Cancel a pending request: cb will not be called; *slot is cleared. */
void px_resolve_cancel(struct px_resolve_req **slot);

#endif
