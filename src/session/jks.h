/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SESSION_JKS_H
#define CORDON_SESSION_JKS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Entries a Java key store may hold before it is refused as malformed. */
#define JKS_MAX_ENTRIES 4096

/*
 * One trusted-certificate entry of a JKS store: its alias (modified UTF-8,
 * not NUL-terminated) and its certificate (DER). Return 0 to go on, -1 to
 * stop the walk (which then returns -1 with err as the callback left it).
 */
typedef int (*jks_cert_fn)(void *arg, const char *alias, size_t alias_len, const unsigned char *der,
			   size_t der_len, struct cordon_err *err);

/* Does buf start like a JKS store (magic 0xFEEDFEED)? Pure. */
bool jks_is(const unsigned char *buf, size_t len);

/*
 * Walk the JKS store buf[0..len) (versions 1 and 2, as Java's `JKS` type
 * writes them; key entries are stepped over, their keys never looked at)
 * and call fn for each trusted-certificate entry, in order. The trailing
 * integrity hash is not checked: Java itself skips it when a trust store
 * is read without a password. Returns the number of certificates, or -1
 * with err: malformed (every length is checked against the buffer), more
 * than JKS_MAX_ENTRIES entries, a JCEKS secret-key entry, or fn's refusal.
 * Pure, bounded, no allocation.
 */
int jks_each_cert(const unsigned char *buf, size_t len, jks_cert_fn fn, void *arg,
		  struct cordon_err *err);

#endif
