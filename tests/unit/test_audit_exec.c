/* SPDX-License-Identifier: MIT */
/* Reading exec arguments out of a process: bounds and page edges. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "supervisor/execaudit.h"
#include "tap.h"

static char buf[8192];

static int
test_string_across_pages(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m =
	    mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int t = -1;

	CHECK(m != MAP_FAILED);
	memcpy(m + pg - 3, "abcdef", 7);
	CHECK(sv_read_remote_string(getpid(), (uint64_t)(uintptr_t)(m + pg - 3), buf, 4096, &t) ==
	      6);
	CHECK(t == 0);
	CHECK_STR(buf, "abcdef");
	munmap(m, (size_t)pg * 2);
	return 0;
}

static int
test_string_ends_at_unmapped_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m =
	    mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int t = 0;

	CHECK(m != MAP_FAILED);
	CHECK(mprotect(m + pg, (size_t)pg, PROT_NONE) == 0);
	memcpy(m + pg - 5, "hello", 5); /* no NUL before the hole */
	CHECK(sv_read_remote_string(getpid(), (uint64_t)(uintptr_t)(m + pg - 5), buf, 4096, &t) ==
	      5);
	CHECK(t == 1);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK(sv_read_remote_string(getpid(), (uint64_t)(uintptr_t)(m + pg), buf, 4096, &t) == -1);
	munmap(m, (size_t)pg * 2);
	return 0;
}

static int
test_string_cut_at_max(void)
{
	static char big[10001];
	int t = 0;

	memset(big, 'a', sizeof(big) - 1);
	CHECK(sv_read_remote_string(getpid(), (uint64_t)(uintptr_t)big, buf, 4096, &t) == 4096);
	CHECK(t == 1);
	CHECK(sv_read_remote_string(getpid(), 0, buf, 4096, &t) == -1);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_string_across_pages);
	TAP_RUN(test_string_ends_at_unmapped_page);
	TAP_RUN(test_string_cut_at_max);
	return tap_done();
}
