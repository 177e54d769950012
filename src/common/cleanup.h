/* SPDX-License-Identifier: MIT */
#ifndef CORDON_COMMON_CLEANUP_H
#define CORDON_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Scope-bound cleanup (GCC/Clang cleanup attribute). Every cleanup function
 * accepts NULL / -1 and preserves errno. Ownership leaves a cleanup variable
 * only through steal_ptr() / steal_fd().
 */
#define _cleanup_(fn)      __attribute__((cleanup(fn)))
#define _cleanup_free_     _cleanup_(cordon_freep)
#define _cleanup_close_    _cleanup_(cordon_closep)
#define _cleanup_fclose_   _cleanup_(cordon_fclosep)
#define _cleanup_closedir_ _cleanup_(cordon_closedirp)
#define _cleanup_kill_pid_ _cleanup_(cordon_kill_pidp)

static inline void
cordon_freep(void *p)
{
	int saved = errno;

	free(*(void **)p);
	errno = saved;
}

static inline void
cordon_closep(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	errno = saved;
}

static inline void
cordon_fclosep(FILE **f)
{
	int saved = errno;

	if (*f != NULL)
		fclose(*f);
	errno = saved;
}

static inline void
cordon_closedirp(DIR **d)
{
	int saved = errno;

	if (*d != NULL)
		closedir(*d);
	errno = saved;
}

/* Kill and reap a child pid still owned by this scope. */
static inline void
cordon_kill_pidp(pid_t *pid)
{
	int saved = errno;

	if (*pid > 0) {
		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	errno = saved;
}

#define steal_ptr(p)                                                                               \
	({                                                                                         \
		__typeof__(p) steal_tmp_ = (p);                                                    \
		(p) = NULL;                                                                        \
		steal_tmp_;                                                                        \
	})

#define steal_fd(fd)                                                                               \
	({                                                                                         \
		int steal_tmp_ = (fd);                                                             \
		(fd) = -1;                                                                         \
		steal_tmp_;                                                                        \
	})

#define RETRY_EINTR(expr)                                                                          \
	({                                                                                         \
		__typeof__(expr) retry_r_;                                                         \
		do                                                                                 \
			retry_r_ = (expr);                                                         \
		while (retry_r_ == -1 && errno == EINTR);                                          \
		retry_r_;                                                                          \
	})

#define CORDON_BUG_ON(cond)                                                                        \
	do {                                                                                       \
		if (__builtin_expect(!!(cond), 0)) {                                               \
			fprintf(stderr, "cordon: BUG at %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
