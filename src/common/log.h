/* SPDX-License-Identifier: MIT */
#ifndef CORDON_COMMON_LOG_H
#define CORDON_COMMON_LOG_H

/*
 * Diagnostics on stderr, OpenBSD log.c semantics. Never used for the audit
 * log. log_warn appends strerror(errno); every function preserves errno.
 * Not for use in the sandbox child between clone and execve.
 */
/*
 * DEBUG is what -v tells the user, in words; TRACE (-vv) also names the
 * function each line comes from, for bug reports.
 */
enum log_level {
	LOG_LEVEL_QUIET = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE
};

extern int log_verbosity;

void log_setlevel(int level);
/*
 * While stderr is a terminal in raw mode (a session with a terminal,
 * supervisor/pty.c), end lines with CR LF: the terminal no longer adds
 * the CR. 0 turns it off again.
 */
void log_set_crlf(int on);
void log_msg(int level, int with_errno, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
__attribute__((noreturn)) void log_fatal(int with_errno, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(fmt, ...)                                                                        \
	do {                                                                                       \
		if (log_verbosity >= LOG_LEVEL_DEBUG)                                              \
			log_msg(LOG_LEVEL_DEBUG, 0, "%s%s" fmt,                                    \
				log_verbosity >= LOG_LEVEL_TRACE ? __func__ : "",                  \
				log_verbosity >= LOG_LEVEL_TRACE ? ": " : "", ##__VA_ARGS__);      \
	} while (0)
#define log_info(fmt, ...)                                                                         \
	do {                                                                                       \
		log_msg(LOG_LEVEL_INFO, 0, fmt, ##__VA_ARGS__);                                    \
	} while (0)
#define log_warn(fmt, ...)                                                                         \
	do {                                                                                       \
		log_msg(LOG_LEVEL_WARN, 1, fmt, ##__VA_ARGS__);                                    \
	} while (0)
#define log_warnx(fmt, ...)                                                                        \
	do {                                                                                       \
		log_msg(LOG_LEVEL_WARN, 0, fmt, ##__VA_ARGS__);                                    \
	} while (0)
#define fatal(fmt, ...)  log_fatal(1, fmt, ##__VA_ARGS__)
#define fatalx(fmt, ...) log_fatal(0, fmt, ##__VA_ARGS__)

#endif
