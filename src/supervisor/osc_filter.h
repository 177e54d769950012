/* SPDX-License-Identifier: MIT */
#ifndef CORDON_SUPERVISOR_OSC_FILTER_H
#define CORDON_SUPERVISOR_OSC_FILTER_H

#include <stddef.h>
#include <stdint.h>

/*
 * A filter on the byte stream from the sandbox's terminal to the user's:
 * it drops the operating-system commands (OSC) that act on the user's
 * machine rather than on the screen. Today that is the clipboard: OSC 52
 * (xterm; writes the clipboard, and on some terminals reads it back into
 * the sandbox's input) and OSC 5522 (kitty's clipboard protocol).
 *
 * The parser follows the DEC/ANSI state machine that terminals implement
 * (vt100.net's "DEC ANSI parser"), as far as it decides whether a terminal
 * would see such a command: the introducer is ESC ] or the C1 control
 * 0x9d, whether raw (terminals in an 8-bit mode) or as the second byte of
 * U+009D in UTF-8 (C2 9D); C0 controls between ESC and ] and inside the
 * number are executed or ignored by terminals, so they do not hide the
 * introducer; the number may have leading zeros. The one false positive:
 * UTF-8 text whose character ends in byte 0x9d ("\xe2\x80\x9d", a right
 * double quote) followed by the digits 52 loses what follows up to the
 * next terminator. A dropped command is dropped up to
 * its terminator (BEL, ESC \, ST) or to whatever aborts it in a terminal
 * (CAN, SUB, another ESC sequence), and replaced by ST (ESC \), which
 * leaves the terminal where the dropped introducer would have: in the
 * ground state, with any string an earlier sequence had opened ended. The
 * security property is that no introducer of a dropped command reaches
 * the user's terminal, nor can the bytes around a dropped command join
 * into one; where the filter is unsure, it drops.
 *
 * Sequences may be split anywhere across calls: the few bytes of an
 * introducer still undecided are held in the filter (at most
 * SV_OSC_HOLD_MAX) and written, or dropped, once the next bytes decide.
 * Pure: no allocation, no system call.
 */
#define SV_OSC_HOLD_MAX 16

struct sv_osc_filter {
	uint8_t state;
	uint8_t n_held;
	uint32_t num; /* the OSC number read so far */
	uint8_t held[SV_OSC_HOLD_MAX];
};

/* Start a filter in the ground state. */
void sv_osc_filter_init(struct sv_osc_filter *f);

/*
 * Filter n bytes of in into out, which must have room for n +
 * SV_OSC_HOLD_MAX bytes (a held introducer may be released). Returns the
 * number of bytes written to out. in and out must not overlap.
 */
size_t sv_osc_filter_run(struct sv_osc_filter *f, const uint8_t *in, size_t n, uint8_t *out);

/*
 * End of the stream: drop what is held (at most the start of an escape
 * sequence) and write ST (2 bytes to out), so that no string the stream
 * left open in the terminal can take in what is written after it (cordon's
 * own messages, which may quote names from the sandbox). Returns 2; f is
 * back in the ground state.
 */
size_t sv_osc_filter_end(struct sv_osc_filter *f, uint8_t *out);

#endif
