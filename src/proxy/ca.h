/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_CA_H
#define CORDON_PROXY_CA_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/*
 * The per-user certificate authority of TLS interception: an EC P-256 key
 * and a self-signed CA certificate in the user's cordon configuration
 * directory (ca/ca.key 0600, ca/ca.crt 0644, the directory 0700), made on
 * first use. Only sandboxes trust it (through the bundle the session binds
 * in); the key never enters one (the session masks the directory). Leaf
 * certificates are minted per host, in memory, and cached.
 */

#define PX_CA_LEAF_CACHE 512 /* leaf certificates kept per proxy */

struct px_ca_paths {
	char dir[PATH_MAX];
	char key[PATH_MAX];
	char crt[PATH_MAX];
};

/* The paths below config_dir (policy_config_dir's). 0 or -1 (ENAMETOOLONG). */
int px_ca_paths_for(const char *config_dir, struct px_ca_paths *p, struct cordon_err *err);

/*
 * Make the CA when it is missing, under an exclusive lock on its
 * directory (two sessions starting at once make one CA); check an existing
 * one: regular files owned by the caller, the key readable by no one else.
 * *created (may be NULL) says whether it was made now. 0 or -1 with err.
 * Not safe after fork.
 */
int px_ca_ensure(const struct px_ca_paths *p, bool *created, struct cordon_err *err);

/*
 * Replace the CA with a new one (key and certificate), under the same
 * lock. Running sessions keep the CA they loaded. 0 or -1 with err.
 */
int px_ca_rotate(const struct px_ca_paths *p, struct cordon_err *err);

/*
 * Describe the CA for `cordon ca show`: subject, SHA-256 fingerprint,
 * validity, paths. Writes at most len bytes to buf. 0 or -1 with err.
 */
int px_ca_describe(const struct px_ca_paths *p, char *buf, size_t len, struct cordon_err *err);

struct px_ca;
struct x509_st;     /* OpenSSL's X509 */
struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

/*
 * Load the CA (certificate and key, checked to belong together) and make
 * the key shared by the leaf certificates. Returns it, or NULL with err.
 */
struct px_ca *px_ca_load(const char *crt_path, const char *key_path, struct cordon_err *err);

/* Free the CA, its cache and keys; accepts NULL. */
void px_ca_free(struct px_ca *ca);

/*
 * The leaf certificate for host (a normalised name, or an address when
 * is_ip), from the cache or minted now: subjectAltName the host, signed
 * by the CA, valid until the CA expires or 397 days. *cert and *key are
 * borrowed (valid until px_ca_free). 0, or -1 with err.
 */
int px_ca_leaf(struct px_ca *ca, const char *host, int is_ip, struct x509_st **cert,
	       struct evp_pkey_st **key, struct cordon_err *err);

/* Append OpenSSL's queued errors to buf (for messages) and clear them. */
void px_ssl_errors(char *buf, size_t len);

#endif
