/* SPDX-License-Identifier: MIT */
/*
 * The interception CA (see ca.h): made, checked and rotated on disk under
 * a lock; loaded by the proxy, which mints one leaf certificate per host
 * and keeps them in a small cache (evicted round-robin).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proxy/ossl.h" /* first: OpenSSL from libssl.so.3 */

#include "common/cleanup.h"
#include "common/fd.h"
#include "proxy/allow.h"
#include "proxy/ca.h"

#define CA_DAYS   3650
#define LEAF_DAYS 397
#define KEY_MAX   (64 * 1024)

struct leaf {
	char host[PX_HOST_MAX];
	int is_ip;
	X509 *cert;
};

struct px_ca {
	X509 *cert;
	EVP_PKEY *key;
	EVP_PKEY *leaf_key; /* one key for every leaf of this proxy */
	struct leaf cache[PX_CA_LEAF_CACHE];
	size_t n_cache, evict;
};

void
px_ssl_errors(char *buf, size_t len)
{
	unsigned long e = px_ossl.loaded ? ERR_get_error() : 0;
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (len == 0)
		return;
	if (r != NULL)
		snprintf(buf, len, "%s", r);
	else if (e != 0)
		snprintf(buf, len, "OpenSSL error %lx", e);
	else
		snprintf(buf, len, "unknown TLS error");
	if (px_ossl.loaded)
		ERR_clear_error();
}

static int
ssl_fail(struct cordon_err *err, const char *what)
{
	char why[160];

	px_ssl_errors(why, sizeof(why));
	return cordon_err_set(err, 0, "%s: %s", what, why);
}

int
px_ca_paths_for(const char *config_dir, struct px_ca_paths *p, struct cordon_err *err)
{
	if ((size_t)snprintf(p->dir, sizeof(p->dir), "%s/ca", config_dir) >= sizeof(p->dir) ||
	    (size_t)snprintf(p->key, sizeof(p->key), "%s/ca.key", p->dir) >= sizeof(p->key) ||
	    (size_t)snprintf(p->crt, sizeof(p->crt), "%s/ca.crt", p->dir) >= sizeof(p->crt))
		return cordon_err_set(err, ENAMETOOLONG, "CA directory %s/ca", config_dir);
	return 0;
}

static int
random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] &= 0x7f; /* positive */
	b[0] |= 0x40; /* and 16 bytes long */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ex == NULL)
		return -1;
	ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -1;
}

/* Write a PEM object made by fn to path (mode), wiping the text after. */
static int
write_pem(const char *path, mode_t mode, int (*fn)(BIO *, void *), void *obj)
{
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *m = NULL;
	int r = -1;

	if (b == NULL)
		return -1;
	if (fn(b, obj) == 1 && BIO_get_mem_ptr(b, &m) == 1 && m != NULL)
		r = fd_replace_file(path, m->data, m->length, mode);
	if (m != NULL && m->data != NULL)
		OPENSSL_cleanse(m->data, m->length);
	BIO_free(b);
	return r;
}

static int
pem_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static int
pem_cert(BIO *b, void *x)
{
	return PEM_write_bio_X509(b, x);
}

static int
make_ca(const struct px_ca_paths *p, struct cordon_err *err)
{
	EVP_PKEY *key;
	X509 *x;
	X509_NAME *n;
	char cn[64], host[32] = "";
	const char *user = getenv("USER");
	int r = -1;

	if (px_ossl_load(err) < 0)
		return -1;
	key = EVP_EC_gen("P-256");
	x = X509_new();
	if (key == NULL || x == NULL) {
		ssl_fail(err, "make the interception CA");
		goto out;
	}
	if (user == NULL || user[0] == '\0') {
		struct passwd *pw = getpwuid(geteuid());

		user = pw != NULL ? pw->pw_name : "";
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(cn, sizeof(cn), "cordon sandbox CA %.16s%s%.24s", user, user[0] ? "@" : "", host);
	n = X509_get_subject_name(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 || random_serial(x) < 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CA_DAYS, 0, NULL) == NULL ||
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"cordon", -1,
				       -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, n) != 1 || X509_set_pubkey(x, key) != 1 ||
	    add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
	    add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, x, NID_authority_key_identifier, "keyid:always") < 0 ||
	    X509_sign(x, key, EVP_sha256()) == 0) {
		ssl_fail(err, "make the interception CA");
		goto out;
	}
	/* the key first: a certificate never names a key that is not there */
	if (write_pem(p->key, 0600, pem_key, key) < 0 || write_pem(p->crt, 0644, pem_cert, x) < 0) {
		cordon_err_set(err, errno, "write the interception CA in %s", p->dir);
		goto out;
	}
	r = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

/* Open and lock the CA directory (made 0700 when missing). fd or -1 (err). */
static int
lock_dir(const struct px_ca_paths *p, struct cordon_err *err)
{
	struct stat st;
	int fd;

	if (fd_mkdir_p(p->dir, 0700) < 0)
		return cordon_err_set(err, errno, "create %s", p->dir);
	fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return cordon_err_set(err, errno, "open %s", p->dir);
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		close(fd);
		cordon_err_set(err, 0, "%s is not a directory of yours that only you can change",
			       p->dir);
		return cordon_err_hint(err, "chmod 700 %s (it holds the interception CA's key)",
				       p->dir);
	}
	if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0) {
		close(fd);
		return cordon_err_set(err, errno, "lock %s", p->dir);
	}
	return fd;
}

/* 1 exists and is acceptable, 0 missing, -1 refused (err). */
static int
check_file(const char *path, bool secret, struct cordon_err *err)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return cordon_err_set(err, errno, "%s", path);
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		cordon_err_set(err, 0, "%s is not a regular file of yours", path);
		return cordon_err_hint(err, "remove it and run `cordon ca rotate`");
	}
	if (secret && (st.st_mode & 077) != 0) {
		cordon_err_set(err, 0, "the CA key %s is readable by others (mode %03o)", path,
			       (unsigned)(st.st_mode & 0777));
		return cordon_err_hint(err, "chmod 600 %s, or make a new CA: cordon ca rotate",
				       path);
	}
	return 1;
}

int
px_ca_ensure(const struct px_ca_paths *p, bool *created, struct cordon_err *err)
{
	_cleanup_close_ int dfd = lock_dir(p, err);
	int k, c;

	if (created != NULL)
		*created = false;
	if (dfd < 0)
		return -1;
	k = check_file(p->key, true, err);
	if (k < 0)
		return -1;
	c = check_file(p->crt, false, err);
	if (c < 0)
		return -1;
	if (k == 1 && c == 1)
		return 0;
	if (k != c) {
		cordon_err_set(err, 0, "the interception CA in %s is incomplete (%s is missing)",
			       p->dir, k ? p->crt : p->key);
		return cordon_err_hint(err, "make a new one: cordon ca rotate");
	}
	if (make_ca(p, err) < 0)
		return -1;
	if (created != NULL)
		*created = true;
	return 0;
}

int
px_ca_rotate(const struct px_ca_paths *p, struct cordon_err *err)
{
	_cleanup_close_ int dfd = lock_dir(p, err);

	if (dfd < 0)
		return -1;
	return make_ca(p, err);
}

static X509 *
read_cert(const char *path, struct cordon_err *err)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL)
		ssl_fail(err, path);
	return x;
}

int
px_ca_describe(const struct px_ca_paths *p, char *buf, size_t len, struct cordon_err *err)
{
	X509 *x = px_ossl_load(err) < 0 ? NULL : read_cert(p->crt, err);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdl = 0;
	char fp[3 * EVP_MAX_MD_SIZE + 1] = "", subj[256] = "", nb[64] = "", na[64] = "";
	BIO *b;

	if (x == NULL)
		return -1;
	X509_digest(x, EVP_sha256(), md, &mdl);
	for (unsigned i = 0; i < mdl; i++)
		snprintf(fp + 3 * i, sizeof(fp) - 3 * i, "%02X%s", md[i], i + 1 < mdl ? ":" : "");
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	b = BIO_new(BIO_s_mem());
	if (b != NULL) {
		int n;

		ASN1_TIME_print(b, X509_get0_notBefore(x));
		n = BIO_read(b, nb, sizeof(nb) - 1);
		nb[n > 0 ? n : 0] = '\0';
		ASN1_TIME_print(b, X509_get0_notAfter(x));
		n = BIO_read(b, na, sizeof(na) - 1);
		na[n > 0 ? n : 0] = '\0';
		BIO_free(b);
	}
	snprintf(buf, len,
		 "certificate  %s\n"
		 "key          %s (mode 0600; masked in every sandbox)\n"
		 "subject      %s\n"
		 "sha256       %s\n"
		 "valid        %s to %s\n",
		 p->crt, p->key, subj, fp, nb, na);
	X509_free(x);
	return 0;
}

struct px_ca *
px_ca_load(const char *crt_path, const char *key_path, struct cordon_err *err)
{
	struct px_ca *ca = calloc(1, sizeof(*ca));
	_cleanup_close_ int fd = -1;
	char *text = NULL;
	size_t len = 0;
	BIO *b;

	if (ca == NULL) {
		cordon_err_set(err, ENOMEM, "load the interception CA");
		return NULL;
	}
	if (px_ossl_load(err) < 0) {
		free(ca);
		return NULL;
	}
	ca->cert = read_cert(crt_path, err);
	if (ca->cert == NULL)
		goto fail;
	fd = open(key_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		cordon_err_set(err, errno, "open %s", key_path);
		goto fail;
	}
	text = fd_read_whole(fd, KEY_MAX, &len);
	if (text == NULL) {
		cordon_err_set(err, errno, "read %s", key_path);
		goto fail;
	}
	b = BIO_new_mem_buf(text, (int)len);
	ca->key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	OPENSSL_cleanse(text, len);
	free(text);
	if (ca->key == NULL) {
		ssl_fail(err, key_path);
		goto fail;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		ERR_clear_error();
		cordon_err_set(err, 0, "%s and %s do not belong together", crt_path, key_path);
		cordon_err_hint(err, "make a new CA: cordon ca rotate");
		goto fail;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0) {
		cordon_err_set(err, 0, "the interception CA %s has expired", crt_path);
		cordon_err_hint(err, "make a new one: cordon ca rotate");
		goto fail;
	}
	ca->leaf_key = EVP_EC_gen("P-256");
	if (ca->leaf_key == NULL) {
		ssl_fail(err, "make the leaf key");
		goto fail;
	}
	return ca;
fail:
	px_ca_free(ca);
	return NULL;
}

void
px_ca_free(struct px_ca *ca)
{
	if (ca == NULL)
		return;
	for (size_t i = 0; i < ca->n_cache; i++)
		X509_free(ca->cache[i].cert);
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	EVP_PKEY_free(ca->leaf_key);
	free(ca);
}

static X509 *
mint(struct px_ca *ca, const char *host, int is_ip, struct cordon_err *err)
{
	X509 *x = X509_new();
	X509_NAME *n;
	char san[PX_HOST_MAX + 8];

	if (x == NULL) {
		ssl_fail(err, "mint a certificate");
		return NULL;
	}
	n = X509_get_subject_name(x);
	snprintf(san, sizeof(san), "%s:%s", is_ip ? "IP" : "DNS", host);
	if (X509_set_version(x, X509_VERSION_3) != 1 || random_serial(x) < 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), LEAF_DAYS, 0, NULL) == NULL)
		goto fail;
	if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca->cert)) > 0 &&
	    X509_set1_notAfter(x, X509_get0_notAfter(ca->cert)) != 1)
		goto fail;
	if (X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
				       (const unsigned char *)"cordon interception", -1, -1,
				       0) != 1)
		goto fail;
	/* a CN holds at most 64 characters; the SAN is what clients check */
	if (strlen(host) <= 64 &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)host, -1, -1,
				       0) != 1)
		goto fail;
	if (X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_set_pubkey(x, ca->leaf_key) != 1 ||
	    add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, ca->cert, NID_subject_alt_name, san) < 0 ||
	    add_ext(x, ca->cert, NID_authority_key_identifier, "keyid") < 0 ||
	    X509_sign(x, ca->key, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	ssl_fail(err, "mint a certificate");
	return NULL;
}

int
px_ca_leaf(struct px_ca *ca, const char *host, int is_ip, X509 **cert, EVP_PKEY **key,
	   struct cordon_err *err)
{
	struct leaf *l;
	X509 *x;

	for (size_t i = 0; i < ca->n_cache; i++) {
		l = &ca->cache[i];
		if (l->is_ip == is_ip && strcmp(l->host, host) == 0 &&
		    X509_cmp_current_time(X509_get0_notAfter(l->cert)) > 0) {
			*cert = l->cert;
			*key = ca->leaf_key;
			return 0;
		}
	}
	if (strlen(host) >= sizeof(l->host))
		return cordon_err_set(err, ENAMETOOLONG, "host name");
	x = mint(ca, host, is_ip, err);
	if (x == NULL)
		return -1;
	if (ca->n_cache < PX_CA_LEAF_CACHE) {
		l = &ca->cache[ca->n_cache++];
	} else {
		l = &ca->cache[ca->evict];
		ca->evict = (ca->evict + 1) % PX_CA_LEAF_CACHE;
		X509_free(l->cert);
	}
	snprintf(l->host, sizeof(l->host), "%s", host);
	l->is_ip = is_ip;
	l->cert = x;
	*cert = x;
	*key = ca->leaf_key;
	return 0;
}
