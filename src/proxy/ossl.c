/* SPDX-License-Identifier: MIT */
/* libssl.so.3, loaded on first use (see ossl.h). */
#define _GNU_SOURCE
#define PX_OSSL_IMPL
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "proxy/ossl.h"

struct px_ossl px_ossl;

int
px_ossl_load(struct cordon_err *err)
{
	static const char *const libs[] = { "libssl.so.3", "libssl.so" };
	struct px_ossl t;
	void *h = NULL;
	const char *missing = NULL;

	if (px_ossl.loaded)
		return 0;
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]) && h == NULL; i++)
		h = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		cordon_err_set(err, 0, "TLS interception needs OpenSSL 3's libssl: %s", dlerror());
		return cordon_err_hint(err, "install it (Debian, Ubuntu: apt-get install libssl3)");
	}
	memset(&t, 0, sizeof(t));
	/* dlsym on the handle searches libssl, then libcrypto it depends on */
#define PX_OSSL_SYM(name)                                                                          \
	if (missing == NULL) {                                                                     \
		*(void **)&t.name = dlsym(h, #name);                                               \
		if (t.name == NULL)                                                                \
			missing = #name;                                                           \
	}
	PX_OSSL_FUNCS(PX_OSSL_SYM)
#undef PX_OSSL_SYM
	if (missing != NULL) {
		dlclose(h);
		cordon_err_set(err, 0, "the system's libssl has no %s: it is not OpenSSL 3",
			       missing);
		return cordon_err_hint(err, "TLS interception needs OpenSSL 3.0 or later");
	}
	t.loaded = 1;
	px_ossl = t;
	return 0;
}
