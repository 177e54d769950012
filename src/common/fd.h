/* SPDX-License-Identifier: MIT */
#ifndef CORDON_COMMON_FD_H
#define CORDON_COMMON_FD_H

#include <stddef.h>
#include <sys/types.h>

/*
 * fd helpers. All are async-signal-safe (no allocation, no stdio) and may be
 * used in the sandbox child after clone.
 */

/* Write all of buf, retrying on EINTR and short writes. 0 or -1 (errno). */
int fd_write_all(int fd, const void *buf, size_t len);

/* Read exactly len bytes. Returns len, the number read before EOF, or -1. */
ssize_t fd_read_all(int fd, void *buf, size_t len);

/* Write a whole small file (open O_WRONLY|O_CLOEXEC, no create). 0 or -1. */
int fd_write_file(const char *path, const char *data, size_t len);

/* Send / receive one fd plus a small payload over a unix socket (SCM_RIGHTS). */
int fd_send(int sock, int fd, const void *data, size_t len);
int fd_recv(int sock, int *fd, void *data, size_t len);

/*
 * mkdir -p: create path and its missing parents with mode (existing ones
 * are fine). 0 or -1 with errno. No allocation: usable in the sandbox child.
 */
int fd_mkdir_p(const char *path, mode_t mode);

/*
 * Read fd to its end into a malloc'd, NUL-terminated buffer (xmalloc:
 * aborts on OOM, so setup code only; not safe after fork). Returns it with
 * *len set, or NULL with errno (EFBIG when more than max bytes).
 */
char *fd_read_whole(int fd, size_t max, size_t *len);

/*
 * A small regular file at path (a symlink is not followed, a FIFO never
 * blocks) as a malloc'd string, or NULL: not there, not regular, over max
 * bytes, or holding a NUL byte (which would hide the rest from string
 * compares). Setup code only (xmalloc).
 */
char *fd_read_small_file(const char *path, size_t max);

/*
 * Replace path with data atomically: write a temporary file beside it (mode,
 * O_EXCL, never through a symlink), fsync, rename over path. On failure the
 * temporary file is removed and path is untouched. 0, or -1 with errno.
 * Not safe after fork.
 */
int fd_replace_file(const char *path, const char *data, size_t len, mode_t mode);

/*
 * realpath(path, NULL) in a few system calls whatever the depth (open
 * O_PATH, readlink of /proc/self/fd/N, fstat and stat to check that the
 * text names that very file) and one when path does not exist, where
 * glibc's realpath reads every component as a link. Falls back to realpath
 * whenever /proc cannot say for sure. Returns malloc'd text, or NULL with
 * errno.
 */
char *fd_realpath(const char *path);

/* Set or clear FD_CLOEXEC / O_NONBLOCK. 0 or -1. */

int fd_set_cloexec(int fd, int on);
int fd_set_nonblock(int fd, int on);

#endif
