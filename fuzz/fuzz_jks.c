/* SPDX-License-Identifier: MIT */
#include <stdint.h>

#include "session/jks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct span {
	const uint8_t *data;
	size_t size;
};

/* Every alias and certificate handed out lies inside the input. */
static int
inside(void *arg, const char *alias, size_t alias_len, const unsigned char *der, size_t der_len,
       struct cordon_err *err)
{
	const struct span *s = arg;
	const uint8_t *a = (const uint8_t *)alias;

	(void)err;
	if (a < s->data || a + alias_len > s->data + s->size || der < s->data ||
	    der + der_len > s->data + s->size)
		__builtin_trap();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span s = { data, size };
	struct cordon_err err;

	jks_each_cert(data, size, inside, &s, &err);
	return 0;
}
