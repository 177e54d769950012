/* SPDX-License-Identifier: MIT */
/*
 * The Java trust stores the sandbox sees when the proxy intercepts TLS.
 * A JVM does not read the PEM bundle: it reads its own store,
 * <java.home>/lib/security/cacerts, which distributions point at one
 * shared file (Debian: /etc/ssl/certs/java/cacerts, JKS; newer releases
 * and Fedora's p11-kit extract: PKCS12). For each such file on the host,
 * a PKCS12 copy holding its certificates and the interception CA is
 * bound over it inside, as the PEM bundle is bound over the
 * distribution's.
 *
 * The copy is made with OpenSSL, never by running keytool or java: nothing
 * runs on the user's behalf. It is kept in the state directory under a
 * name derived from the host file (path, size, mtime) and the CA, so a
 * session whose store and CA have not changed only looks it up.
 *
 * Java counts a PKCS12 certificate bag as a trusted entry only when it
 * carries Oracle's trusted-key-usage attribute (2.16.840.1.113894.746875.1.1)
 * listing the purposes; anyExtendedKeyUsage (2.5.29.37.0) trusts it for
 * all, as `keytool -importcert` writes it. OpenSSL 3.0 has no `-jdktrust`,
 * so the bags are built here. The store carries a MAC keyed with
 * "changeit" (what `keytool -list -cacerts` expects); a JVM reading its
 * default trust store has no password and does not check it.
 */
#define _GNU_SOURCE
#include "proxy/ossl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "proxy/ca.h"
#include "session/internal.h"
#include "session/jks.h"

#define JAVA_TRUST_OID   "2.16.840.1.113894.746875.1.1"
#define ANY_EKU_OID      "2.5.29.37.0"
#define JAVA_STORE_PASS  "changeit"
#define JAVA_STORE_MAX   (16u << 20)
#define JAVA_CA_ALIAS    "cordon-sandbox-ca"
#define JAVA_STORE_ITERS 2048

/* Where distributions keep the store their JDKs link to. */
static const char *const java_dist_stores[] = {
	"/etc/ssl/certs/java/cacerts",              /* Debian, Ubuntu, Arch */
	"/etc/pki/ca-trust/extracted/java/cacerts", /* Fedora, RHEL */
	"/etc/pki/java/cacerts",                    /* older Fedora, RHEL */
};

/* A JDK's own store, below its home (JDK 9+, then JDK 8's JRE). */
static const char *const java_home_stores[] = {
	"lib/security/cacerts",
	"jre/lib/security/cacerts",
};

struct jbuild {
	STACK_OF(PKCS12_SAFEBAG) * bags;
	ASN1_OBJECT *any_eku;
	unsigned n;
};

static int
ssl_fail(struct cordon_err *err, const char *what)
{
	char why[160];

	px_ssl_errors(why, sizeof(why));
	return cordon_err_set(err, 0, "%s: %s", what, why);
}

/* x as a trusted-certificate bag named alias (a copy: x stays the caller's). */
static int
add_trusted(struct jbuild *jb, X509 *x, const char *alias, struct cordon_err *err)
{
	PKCS12_SAFEBAG *bag = PKCS12_SAFEBAG_create_cert(x);
	char name[32];

	if (bag == NULL)
		return ssl_fail(err, "certificate bag");
	if (PKCS12_add_friendlyname_utf8(bag, alias, -1) != 1) {
		/* not UTF-8 (modified UTF-8 can differ): any unique alias does */
		snprintf(name, sizeof(name), "cert-%u", jb->n);
		if (PKCS12_add_friendlyname_utf8(bag, name, -1) != 1)
			goto fail;
	}
	if (PKCS12_add1_attr_by_txt(bag, JAVA_TRUST_OID, V_ASN1_OBJECT,
				    (const unsigned char *)jb->any_eku, -1) != 1 ||
	    sk_PKCS12_SAFEBAG_push(jb->bags, bag) <= 0)
		goto fail;
	jb->n++;
	return 0;
fail:
	PKCS12_SAFEBAG_free(bag);
	return ssl_fail(err, "trusted certificate bag");
}

static int
add_jks_cert(void *arg, const char *alias, size_t alias_len, const unsigned char *der,
	     size_t der_len, struct cordon_err *err)
{
	struct jbuild *jb = arg;
	const unsigned char *p = der;
	char name[256];
	X509 *x;
	int r;

	if (der_len > LONG_MAX || (x = d2i_X509(NULL, &p, (long)der_len)) == NULL)
		return ssl_fail(err, "a certificate of the JKS store");
	snprintf(name, sizeof(name), "%.*s", (int)(alias_len < 255 ? alias_len : 255), alias);
	r = add_trusted(jb, x, name, err);
	X509_free(x);
	return r;
}

/*
 * The certificate bags of a PKCS12 store, moved into jb as they are (with
 * their names and trust attributes); key bags are left out. Encrypted
 * parts are opened with Java's customary password, then the empty one.
 */
static int
add_p12_certs(struct jbuild *jb, const unsigned char *buf, size_t len, struct cordon_err *err)
{
	static const char *const pass[] = { JAVA_STORE_PASS, "" };
	const unsigned char *p = buf;
	PKCS12 *p12 = len > LONG_MAX ? NULL : d2i_PKCS12(NULL, &p, (long)len);
	STACK_OF(PKCS7) *safes = NULL;
	int r = -1;

	if (p12 == NULL)
		return ssl_fail(err, "neither JKS nor PKCS12");
	if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
		ssl_fail(err, "PKCS12 contents");
		goto out;
	}
	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
		int nid = OBJ_obj2nid(p7->type);

		if (nid == NID_pkcs7_data)
			bags = PKCS12_unpack_p7data(p7);
		for (size_t k = 0; nid == NID_pkcs7_encrypted && bags == NULL && k < 2; k++)
			bags = PKCS12_unpack_p7encdata(p7, pass[k], -1);
		if (bags == NULL) {
			ssl_fail(err, "a PKCS12 part that opens with neither \"changeit\" nor an "
				      "empty password");
			goto out;
		}
		for (int k = 0; k < sk_PKCS12_SAFEBAG_num(bags); k++) {
			PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, k);

			if (PKCS12_SAFEBAG_get_nid(bag) != NID_certBag ||
			    PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
				continue;
			if (sk_PKCS12_SAFEBAG_push(jb->bags, bag) <= 0) {
				sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
				ssl_fail(err, "PKCS12 bags");
				goto out;
			}
			sk_PKCS12_SAFEBAG_set(bags, k, NULL); /* jb->bags owns it now */
			jb->n++;
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	r = 0;
out:
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	return r;
}

/* The store out: the certificates of src (JKS or PKCS12) and the CA (PEM). */
static int
build_store(const char *src, const char *ca_pem, size_t ca_len, const char *out,
	    struct cordon_err *err)
{
	_cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ unsigned char *buf = NULL, *der = NULL;
	struct jbuild jb = { NULL, NULL, 0 };
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12 *p12 = NULL;
	BIO *bio = NULL;
	X509 *ca = NULL;
	size_t len = 0;
	int r = -1, dl;

	buf = fd < 0 ? NULL : (unsigned char *)fd_read_whole(fd, JAVA_STORE_MAX, &len);
	if (buf == NULL)
		return cordon_err_set(err, errno, "read %s", src);
	if (px_ossl_load(err) < 0)
		return -1;
	jb.bags = sk_PKCS12_SAFEBAG_new_null();
	jb.any_eku = OBJ_txt2obj(ANY_EKU_OID, 1);
	if (jb.bags == NULL || jb.any_eku == NULL) {
		ssl_fail(err, "OpenSSL");
		goto out;
	}
	if (jks_is(buf, len) ? jks_each_cert(buf, len, add_jks_cert, &jb, err) < 0
			     : add_p12_certs(&jb, buf, len, err) < 0) {
		cordon_err_wrap(err, "%s", src);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(ca_pem, (int)ca_len)) == NULL ||
	    (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		ssl_fail(err, "the interception CA");
		goto out;
	}
	if (add_trusted(&jb, ca, JAVA_CA_ALIAS, err) < 0)
		goto out;
	if (PKCS12_add_safe(&safes, jb.bags, -1, 0, NULL) != 1 ||
	    (p12 = PKCS12_add_safes(safes, 0)) == NULL ||
	    PKCS12_set_mac(p12, JAVA_STORE_PASS, -1, NULL, 0, JAVA_STORE_ITERS, NULL) != 1 ||
	    (dl = i2d_PKCS12(p12, NULL)) <= 0) {
		ssl_fail(err, "build the PKCS12 store");
		goto out;
	}
	der = xmalloc((size_t)dl);
	{
		unsigned char *p = der;

		if (i2d_PKCS12(p12, &p) != dl) {
			ssl_fail(err, "encode the PKCS12 store");
			goto out;
		}
	}
	if (fd_replace_file(out, (const char *)der, (size_t)dl, 0644) < 0) {
		cordon_err_set(err, errno, "write %s", out);
		goto out;
	}
	log_debug("%s: %s: %u certificates from %s and the CA", __func__, out, jb.n - 1, src);
	r = 0;
out:
	PKCS12_free(p12);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	X509_free(ca);
	BIO_free(bio);
	sk_PKCS12_SAFEBAG_pop_free(jb.bags, PKCS12_SAFEBAG_free);
	ASN1_OBJECT_free(jb.any_eku);
	return r;
}

/* Remove the other copies made from the store whose path hashes to ph. */
static void
drop_stale(const char *dir, const char *ph, const char *keep)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	char prefix[AUDIT_HASH_HEX + 8];
	struct dirent *e;

	if (d == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "java-%s-", ph);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    strcmp(e->d_name, keep) != 0 && unlinkat(dirfd(d), e->d_name, 0) < 0)
			log_debug("%s: unlink %s/%s: %s", __func__, dir, e->d_name,
				  strerror(errno));
}

/*
 * The copy for the host store real (st): dir/java-<path hash>-<hash of
 * path, size, mtime and CA>.p12, made when missing. 0 or -1 (err).
 */
static int
merged_store(const char *dir, const char *real, const struct stat *st, const char *ca_pem,
	     size_t ca_len, char *out, size_t outlen, struct cordon_err *err)
{
	char ph[AUDIT_HASH_HEX + 1], kh[AUDIT_HASH_HEX + 1], head[PATH_MAX + 96], name[64];
	_cleanup_free_ char *key = NULL;
	struct stat so;
	int hl;

	hl = snprintf(head, sizeof(head), "%s\n%lld\n%lld.%09ld\n", real, (long long)st->st_size,
		      (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	if (hl < 0 || (size_t)hl >= sizeof(head))
		return cordon_err_set(err, ENAMETOOLONG, "%s", real);
	key = xmalloc((size_t)hl + ca_len);
	memcpy(key, head, (size_t)hl);
	memcpy(key + hl, ca_pem, ca_len);
	if (audit_sha256_hex(real, strlen(real), ph) < 0 ||
	    audit_sha256_hex(key, (size_t)hl + ca_len, kh) < 0)
		return cordon_err_set(err, EINVAL, "hash %s", real);
	snprintf(name, sizeof(name), "java-%.8s-%.16s.p12", ph, kh);
	if ((size_t)snprintf(out, outlen, "%s/%s", dir, name) >= outlen)
		return cordon_err_set(err, ENAMETOOLONG, "%s", dir);
	if (lstat(out, &so) == 0 && S_ISREG(so.st_mode) && so.st_size > 0)
		return 0;
	if (fd_mkdir_p(dir, 0700) < 0)
		return cordon_err_set(err, errno, "create %s", dir);
	if (build_store(real, ca_pem, ca_len, out, err) < 0)
		return -1;
	ph[8] = '\0';
	drop_stale(dir, ph, name);
	return 0;
}

/* Add path's real file to t->java when it is a regular file not there yet. */
static void
add_candidate(struct session_tls *t, const char *path)
{
	_cleanup_free_ char *real = fd_realpath(path);
	struct stat st;

	if (real == NULL || stat(real, &st) < 0 || !S_ISREG(st.st_mode) ||
	    strlen(real) >= sizeof(t->java[0].target) || t->n_java == ARRAY_SIZE(t->java))
		return;
	for (size_t i = 0; i < t->n_java; i++)
		if (strcmp(t->java[i].target, real) == 0)
			return;
	memcpy(t->java[t->n_java].target, real, strlen(real) + 1);
	t->java[t->n_java].merged[0] = '\0';
	t->n_java++;
}

/* The JDK homes to look in: $JAVA_HOME and each directory of /usr/lib/jvm. */
static void
find_stores(struct session_tls *t)
{
	const char *jh = getenv("JAVA_HOME");
	char p[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;

	t->n_java = 0;
	for (size_t i = 0; i < ARRAY_SIZE(java_dist_stores); i++)
		add_candidate(t, java_dist_stores[i]);
	for (size_t i = 0; jh != NULL && jh[0] == '/' && i < ARRAY_SIZE(java_home_stores); i++)
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", jh, java_home_stores[i]) < sizeof(p))
			add_candidate(t, p);
	if ((d = opendir("/usr/lib/jvm")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(java_home_stores); i++)
			if ((size_t)snprintf(p, sizeof(p), "/usr/lib/jvm/%s/%s", e->d_name,
					     java_home_stores[i]) < sizeof(p))
				add_candidate(t, p);
	}
}

int
session_java_stores(struct session_tls *t, const char *dir, const char *ca_pem, size_t ca_len)
{
	size_t k = 0;

	find_stores(t);
	for (size_t i = 0; i < t->n_java; i++) {
		struct cordon_err err = { 0 };
		struct stat st;

		if (stat(t->java[i].target, &st) < 0 ||
		    merged_store(dir, t->java[i].target, &st, ca_pem, ca_len, t->java[i].merged,
				 sizeof(t->java[i].merged), &err) < 0) {
			if (err.msg[0] == '\0')
				cordon_err_set(&err, errno, "%s", t->java[i].target);
			log_warnx("warning: Java trust store %s: %s; Java programs inside will not "
				  "trust the interception CA",
				  t->java[i].target, err.msg);
			continue;
		}
		if (k != i)
			t->java[k] = t->java[i];
		k++;
	}
	t->n_java = k;
	return (int)k;
}
