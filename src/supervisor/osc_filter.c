/* SPDX-License-Identifier: MIT */
/* Drop clipboard OSCs from the terminal output (see osc_filter.h). */
#include <stdbool.h>
#include <string.h>

#include "supervisor/osc_filter.h"

enum {
	ST_GROUND = 0,
	ST_ESC,      /* after ESC (held) */
	ST_OSC_NUM,  /* after an OSC introducer (held), reading its number */
	ST_DROP,     /* inside a dropped OSC */
	ST_DROP_ESC, /* inside a dropped OSC, after ESC */
};

#define ESC    0x1b
#define BEL    0x07
#define CAN    0x18
#define SUB    0x1a
#define DEL    0x7f
#define C1_OSC 0x9d
#define C1_ST  0x9c

/* The OSC numbers that never reach the user's terminal. */
static const uint32_t dropped[] = {
	52,   /* xterm: clipboard (set, and query: answered into the sandbox's input) */
	5522, /* kitty: clipboard protocol */
};

/* Larger numbers cannot be one of the above: the OSC passes. */
#define NUM_MAX 99999u

static bool
is_dropped(uint32_t num)
{
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
		if (dropped[i] == num)
			return true;
	return false;
}

/* C0 controls that a terminal executes in the escape state, or ignores in an OSC. */
static bool
is_plain_c0(uint8_t b)
{
	return b < 0x20 && b != ESC && b != CAN && b != SUB;
}

void
sv_osc_filter_init(struct sv_osc_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = ST_GROUND;
}

static size_t
release(struct sv_osc_filter *f, uint8_t *out)
{
	size_t n = f->n_held;

	memcpy(out, f->held, n);
	f->n_held = 0;
	return n;
}

static void
hold(struct sv_osc_filter *f, uint8_t b)
{
	/* ST_OSC_NUM overflows before n_held passes SV_OSC_HOLD_MAX. */
	if (f->n_held < SV_OSC_HOLD_MAX)
		f->held[f->n_held++] = b;
}

/*
 * Drop the held introducer and what follows, up to the terminator. In its
 * place the terminal gets ST (ESC backslash), which ends any string an
 * earlier sequence left open and is a no-op in the ground state: the
 * introducer would have ended that string too, and the bytes after the
 * dropped command must not extend it (a passed "ESC ] 5", a dropped
 * command, then "2;..." would otherwise read as OSC 52 to the terminal).
 * Writes 2 bytes in place of at least 3 held.
 */
static size_t
drop(struct sv_osc_filter *f, uint8_t *out)
{
	f->n_held = 0;
	f->state = ST_DROP;
	out[0] = ESC;
	out[1] = '\\';
	return 2;
}

/*
 * The held number runs longer than the filter holds: leading zeros or
 * controls, which no program writes in an OSC. After ESC ] the whole
 * command is dropped. After 0x9d it may be text (UTF-8 ending in 0x9d,
 * then control characters): the 0x9d becomes CAN, which ends any sequence
 * or string in a terminal (so nothing after it can join one an earlier
 * OSC left open) and shows nothing, and the rest is written. One byte for
 * one: the output stays within the input plus what was held.
 */
static size_t
overflow(struct sv_osc_filter *f, uint8_t *out)
{
	size_t n = f->n_held;

	if (f->held[0] != C1_OSC)
		return drop(f, out);
	memcpy(out, f->held, n);
	out[0] = CAN;
	f->n_held = 0;
	f->state = ST_GROUND;
	return n;
}

static void
start_osc(struct sv_osc_filter *f, uint8_t b)
{
	hold(f, b);
	f->num = 0;
	f->state = ST_OSC_NUM;
}

size_t
sv_osc_filter_run(struct sv_osc_filter *f, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = in[i];

	again:
		switch (f->state) {
		case ST_GROUND:
			if (b == ESC) {
				hold(f, b);
				f->state = ST_ESC;
			} else if (b == C1_OSC) {
				/*
				 * The 8-bit control, and the second byte of U+009D in
				 * UTF-8 (C2 9D). Also a byte inside other UTF-8
				 * characters ("\xe2\x80\x9d"), which a terminal in an
				 * 8-bit mode takes for OSC all the same: held, and
				 * released at once unless a clipboard number follows.
				 */
				start_osc(f, b);
			} else {
				out[o++] = b;
			}
			break;
		case ST_ESC:
			if (b == ']') {
				start_osc(f, b);
			} else if (b == ESC || b == DEL) {
				/*
				 * ESC restarts the escape sequence: the first one has
				 * no effect but ending a string, which the second one
				 * does too. DEL is ignored there. Both are dropped
				 * rather than written, so that nothing written can
				 * meet what follows a dropped OSC.
				 */
			} else if (is_plain_c0(b)) {
				/*
				 * Executed by the terminal without leaving the escape
				 * state: the same as executing it before the ESC.
				 */
				out[o++] = b;
			} else if (b >= 0x80) {
				/* A C1 control (maybe OSC) cancels the ESC in terminals. */
				o += release(f, out + o);
				f->state = ST_GROUND;
				goto again;
			} else {
				o += release(f, out + o);
				out[o++] = b;
				f->state = ST_GROUND;
			}
			break;
		case ST_OSC_NUM:
			if (b >= '0' && b <= '9') {
				uint32_t v = f->num * 10 + (uint32_t)(b - '0');

				if (v > NUM_MAX) {
					/* Too large to be dropped: let it pass. */
					o += release(f, out + o);
					out[o++] = b;
					f->state = ST_GROUND;
					break;
				}
				f->num = v;
				hold(f, b);
				if (f->n_held == SV_OSC_HOLD_MAX)
					o += overflow(f, out + o);
				break;
			}
			if ((is_plain_c0(b) && b != BEL) || b == DEL) {
				/*
				 * Ignored inside an OSC by terminals: dropped after
				 * ESC ]. After 0x9d it may be text after all (a line
				 * ending in a right double quote): held, to be written
				 * if the OSC passes.
				 */
				if (f->held[0] == C1_OSC) {
					hold(f, b);
					if (f->n_held == SV_OSC_HOLD_MAX)
						o += overflow(f, out + o);
				}
				break;
			}
			if (is_dropped(f->num)) {
				o += drop(f, out + o);
				if (b == ';')
					break;
				goto again; /* b may end it (BEL, ESC...) */
			}
			o += release(f, out + o);
			if (b == ';') {
				/*
				 * An OSC that passes. Its text is printable to the
				 * filter: whatever ends it in the terminal (BEL, ESC,
				 * CAN, SUB, ST) is seen again in the ground state.
				 */
				out[o++] = b;
				f->state = ST_GROUND;
				break;
			}
			f->state = ST_GROUND;
			goto again;
		case ST_DROP:
			/* ST alone, or as U+009C (C2 9C): the C2 is dropped anyway. */
			if (b == BEL || b == CAN || b == SUB || b == C1_ST)
				f->state = ST_GROUND;
			else if (b == ESC)
				f->state = ST_DROP_ESC;
			break;
		case ST_DROP_ESC:
			if (b == '\\') {
				f->state = ST_GROUND;
				break;
			}
			/* ESC aborted the OSC in the terminal and starts a sequence. */
			hold(f, ESC);
			f->state = ST_ESC;
			goto again;
		default:
			/* Unreachable; fail closed by dropping the rest of this command. */
			o += drop(f, out + o);
			break;
		}
	}
	return o;
}

size_t
sv_osc_filter_end(struct sv_osc_filter *f, uint8_t *out)
{
	sv_osc_filter_init(f);
	out[0] = ESC;
	out[1] = '\\';
	return 2;
}
