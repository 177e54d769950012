/* SPDX-License-Identifier: MIT */
#ifndef CORDON_CHECK_CHECK_H
#define CORDON_CHECK_CHECK_H

/*
 * The inside half of `cordon check`: run the probes and print one
 * "PROBE\tname\texpected\tobserved\tPASS|FAIL" line each. Returns 0 when
 * every probe passed, 1 otherwise. Runs in the sandbox; uses stdio.
 */
int check_probe_main(int argc, char **argv);

#endif
