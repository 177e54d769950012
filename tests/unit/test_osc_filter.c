/* SPDX-License-Identifier: MIT */
/* The clipboard filter on terminal output (supervisor/osc_filter.c). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "supervisor/osc_filter.h"
#include "tap.h"

#define ST "\033\\"

static uint8_t out_buf[4096 + SV_OSC_HOLD_MAX];
static size_t out_len;

/* Filter in (one call), into out_buf/out_len. */
static void
once(const char *in, size_t n)
{
	struct sv_osc_filter f;

	sv_osc_filter_init(&f);
	out_len = sv_osc_filter_run(&f, (const uint8_t *)in, n, out_buf);
}

/*
 * The output for in must be want, in one call, byte by byte, and split in
 * two at every position.
 */
static int
same_every_split(const char *in, size_t n, const char *want, size_t wn)
{
	struct sv_osc_filter f;
	uint8_t buf[4096 + 2 * SV_OSC_HOLD_MAX];
	size_t o;

	once(in, n);
	if (out_len != wn || memcmp(out_buf, want, wn) != 0) {
		printf("# one call: %zu bytes, wanted %zu\n", out_len, wn);
		return -1;
	}
	sv_osc_filter_init(&f);
	o = 0;
	for (size_t i = 0; i < n; i++)
		o += sv_osc_filter_run(&f, (const uint8_t *)in + i, 1, buf + o);
	if (o != wn || memcmp(buf, want, wn) != 0) {
		printf("# byte by byte: %zu bytes, wanted %zu\n", o, wn);
		return -1;
	}
	for (size_t cut = 0; cut <= n; cut++) {
		sv_osc_filter_init(&f);
		o = sv_osc_filter_run(&f, (const uint8_t *)in, cut, buf);
		o += sv_osc_filter_run(&f, (const uint8_t *)in + cut, n - cut, buf + o);
		if (o != wn || memcmp(buf, want, wn) != 0) {
			printf("# split at %zu: %zu bytes, wanted %zu\n", cut, o, wn);
			return -1;
		}
	}
	return 0;
}

#define EXPECT(in, want) CHECK(same_every_split(in, sizeof(in) - 1, want, sizeof(want) - 1) == 0)

static int
test_text_passes(void)
{
	static const char bin[] = "\x00\x01\x7f\x80\xff\xc3\xa9\r\n\t";

	EXPECT("hello, world\r\n", "hello, world\r\n");
	/* UTF-8 with bytes 0x9d or 0x9c inside characters */
	EXPECT("\xe2\x80\x9d \xd1\x9d \xe2\x80\x9c \xc2\xa9 \xf0\x9f\x98\x9d.",
	       "\xe2\x80\x9d \xd1\x9d \xe2\x80\x9c \xc2\xa9 \xf0\x9f\x98\x9d.");
	EXPECT("\xe2\x80\x9d"
	       "1;2 \xe2\x80\x9d"
	       "53;",
	       "\xe2\x80\x9d"
	       "1;2 \xe2\x80\x9d"
	       "53;");
	CHECK(same_every_split(bin, sizeof(bin) - 1, bin, sizeof(bin) - 1) == 0);
	return 0;
}

static int
test_screen_sequences_pass(void)
{
	EXPECT("\033[1;31mred\033[0m\033[2J\033[H", "\033[1;31mred\033[0m\033[2J\033[H");
	EXPECT("\033]0;my title\007", "\033]0;my title\007");
	EXPECT("\033]2;t" ST, "\033]2;t" ST);
	EXPECT("\033]8;;http://example.test/\033\\link\033]8;;\033\\",
	       "\033]8;;http://example.test/\033\\link\033]8;;\033\\");
	/* numbers close to 52 are other commands */
	EXPECT("\033]5;x\007\033]520;x\007\033]53;x\007\033]152;x\007",
	       "\033]5;x\007\033]520;x\007\033]53;x\007\033]152;x\007");
	EXPECT("\033]1337;SetMark\007", "\033]1337;SetMark\007");
	/* too large to be a clipboard number */
	EXPECT("\033]1234567;x\007", "\033]1234567;x\007");
	EXPECT("\033]Pnrrggbb", "\033]Pnrrggbb");
	EXPECT("\033]\007", "\033]\007");
	EXPECT("\033P+q544e\033\\", "\033P+q544e\033\\");
	return 0;
}

static int
test_clipboard_dropped(void)
{
	/* set, with each terminator */
	EXPECT("a\033]52;c;c2VjcmV0\007b", "a" ST "b");
	EXPECT("a\033]52;c;c2VjcmV0\033\\b", "a" ST "b");
	EXPECT("a\033]52;c;c2VjcmV0\x9c"
	       "b",
	       "a" ST "b");
	EXPECT("a\033]52;c;c2VjcmV0\xc2\x9c"
	       "b",
	       "a" ST "b");
	/* query: the terminal would answer into the sandbox's input */
	EXPECT("\033]52;c;?\007", ST);
	/* 8-bit introducers: raw C1 and U+009D in UTF-8 */
	EXPECT("a\x9d"
	       "52;c;eA==\007b",
	       "a" ST "b");
	EXPECT("a\xc2\x9d"
	       "52;c;eA==\007b",
	       "a\xc2" ST "b");
	/* a line ending in a right double quote (0x9d) keeps its newline */
	EXPECT("\xe2\x80\x9d\r\n\xe2\x80\x9d\007x", "\xe2\x80\x9d\r\n\xe2\x80\x9d\007x");
	/* 0x9d then a long run of controls: the 0x9d becomes CAN */
	EXPECT("\x9d\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	       "52;c;eA==\007",
	       "\030\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r"
	       "\n52;c;eA==\007");
	/* ... which also ends an OSC that an earlier 0x9d opened (fuzz find) */
	EXPECT("\x9d\002\x9d"
	       "5\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	       "2;c;eA==\007",
	       "\x9d\002\030"
	       "5\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	       "2;c;eA==\007");
	/* the documented false positive: a character ending in 0x9d, then 52 */
	EXPECT("\xe2\x80\x9d"
	       "52 text\033[0m",
	       "\xe2\x80" ST "\033[0m");
	/* kitty's clipboard protocol */
	EXPECT("\033]5522;type=write\007", ST);
	/* leading zeros are the same number to terminals */
	EXPECT("\033]052;c;eA==\007", ST);
	EXPECT("\033]00000000000000052;c;eA==\007", ST);
	/* no ';': still dropped */
	EXPECT("\033]52\007x", ST "x");
	return 0;
}

static int
test_hidden_introducers(void)
{
	/* C0 controls inside the escape are executed, inside the number ignored */
	EXPECT("\033\001]5\0022;c;eA==\007", "\001" ST);
	EXPECT("\033\177]52;c;eA==\007", ST);
	/* ESC ESC ]: the first ESC is void */
	EXPECT("x\033\033]52;c;eA==\007y", "x" ST "y");
	/* tmux and screen passthrough wrapping */
	EXPECT("\033Ptmux;\033\033]52;c;eA==\007\033\\", "\033Ptmux;" ST "\033\\");
	/* an OSC 52 inside another OSC's text ends that one and starts its own */
	EXPECT("\033]0;t\033]52;c;eA==\007", "\033]0;t" ST);
	EXPECT("\033]0;t\x9d"
	       "52;c;eA==\007",
	       "\033]0;t" ST);
	return 0;
}

static int
test_no_splicing(void)
{
	/*
	 * "ESC ] 5" passes as OSC 5 (the next byte is not a digit); had the
	 * filter removed the OSC 52 and nothing more, "2;c;..." would follow it
	 * and the terminal would read OSC 52. ST ends OSC 5 first.
	 */
	EXPECT("\033]5\033\033]52;c;eA==\0072;c;eA==\007", "\033]5" ST "2;c;eA==\007");
	/* an ESC before a dropped command cannot pair with the text after it */
	EXPECT("\033\033]52;c;eA==\007]52;c;eA==\007", ST "]52;c;eA==\007");
	/* a C2 before a dropped command cannot pair with a 9D after it */
	EXPECT("\xc2\033]52;c;eA==\007\x9d"
	       "52;c;eA==\007",
	       "\xc2" ST ST);
	return 0;
}

static int
test_aborted_command(void)
{
	/* ESC that is not ST aborts the OSC in terminals: what follows shows */
	EXPECT("\033]52;c;eA==\033[31mred", ST "\033[31mred");
	EXPECT("\033]52;c;eA==\030after", ST "after");
	EXPECT("\033]52;c;eA==\032after", ST "after");
	/* an unterminated command swallows the rest, as the terminal would */
	EXPECT("\033]52;c;eA==more text", ST);
	return 0;
}

static int
test_end_of_stream(void)
{
	struct sv_osc_filter f;
	uint8_t buf[64];
	size_t o;

	/* an undecided introducer at the end is dropped, then ST */
	sv_osc_filter_init(&f);
	o = sv_osc_filter_run(&f, (const uint8_t *)"ok\033]5", 5, buf);
	CHECK(o == 2 && memcmp(buf, "ok", 2) == 0);
	o = sv_osc_filter_end(&f, buf);
	CHECK(o == 2 && memcmp(buf, ST, 2) == 0);
	/* and the filter starts afresh */
	o = sv_osc_filter_run(&f, (const uint8_t *)"2;x", 3, buf);
	CHECK(o == 3 && memcmp(buf, "2;x", 3) == 0);
	return 0;
}

static int
test_output_bound(void)
{
	/* worst case per call: a held introducer released by one more byte */
	struct sv_osc_filter f;
	uint8_t buf[SV_OSC_HOLD_MAX + 1];
	size_t o;

	sv_osc_filter_init(&f);
	o = sv_osc_filter_run(&f, (const uint8_t *)"\033]0000000000001", 15, buf);
	CHECK(o == 0);
	o = sv_osc_filter_run(&f, (const uint8_t *)"x", 1, buf);
	CHECK(o == 16 && memcmp(buf, "\033]0000000000001x", 16) == 0);
	return 0;
}

static int
test_long_stream(void)
{
	/* 1 MiB of mixed output: everything but the clipboard commands passes */
	static const char chunk[] = "line \033[1mbold\033[0m \xe2\x80\x9d\r\n";
	static const char clip[] = "\033]52;c;c2VjcmV0\007";
	size_t n = 0, want = 0, o = 0, rounds = 20000;
	uint8_t *in = malloc(rounds * (sizeof(chunk) + sizeof(clip)));
	uint8_t *out = malloc(rounds * (sizeof(chunk) + sizeof(clip)) + SV_OSC_HOLD_MAX);
	struct sv_osc_filter f;

	CHECK(in != NULL && out != NULL);
	for (size_t i = 0; i < rounds; i++) {
		memcpy(in + n, chunk, sizeof(chunk) - 1);
		n += sizeof(chunk) - 1;
		want += sizeof(chunk) - 1 + 2;
		memcpy(in + n, clip, sizeof(clip) - 1);
		n += sizeof(clip) - 1;
	}
	sv_osc_filter_init(&f);
	/* odd-sized reads, as from a pty */
	for (size_t i = 0; i < n; i += 4093)
		o += sv_osc_filter_run(&f, in + i, n - i < 4093 ? n - i : 4093, out + o);
	CHECK(o == want);
	CHECK(memmem(out, o, "]52", 3) == NULL);
	CHECK(memmem(out, o, "bold", 4) != NULL);
	free(in);
	free(out);
	return 0;
}

int
main(void)
{
	TAP_RUN(test_text_passes);
	TAP_RUN(test_screen_sequences_pass);
	TAP_RUN(test_clipboard_dropped);
	TAP_RUN(test_hidden_introducers);
	TAP_RUN(test_no_splicing);
	TAP_RUN(test_aborted_command);
	TAP_RUN(test_end_of_stream);
	TAP_RUN(test_output_bound);
	TAP_RUN(test_long_stream);
	return tap_done();
}
