/* SPDX-License-Identifier: MIT */
/*
 * Races an execve path against the exec audit (tests/integration/audit).
 *
 *   cordon-execrace mark FILE
 *       append the file this process is executing (/proc/self/exe) and a
 *       newline to FILE: the marker of what actually ran.
 *   cordon-execrace race A B N FILE
 *       N times: fork; in the child, one thread flips a path buffer between
 *       A and B (same length) while the main thread execve's it, with argv
 *       "cordon-execrace mark FILE"; the parent waits for each child, so
 *       the markers come in the order of the calls.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char path[4096];
static const char *pa, *pb;
static size_t plen;

static void *
flip(void *arg)
{
	(void)arg;
	for (;;) {
		for (size_t i = 0; i < plen; i++)
			((volatile char *)path)[i] = pa[i];
		for (size_t i = 0; i < plen; i++)
			((volatile char *)path)[i] = pb[i];
	}
	return NULL;
}

static int
mark(const char *file)
{
	char exe[4096], line[4097];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (n < 0 || fd < 0)
		return 1;
	exe[n] = '\0';
	n = snprintf(line, sizeof(line), "%s\n", exe);
	return write(fd, line, (size_t)n) == n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "mark") == 0)
		return mark(argv[2]);
	if (argc != 6 || strcmp(argv[1], "race") != 0) {
		fprintf(stderr, "usage: cordon-execrace mark FILE | race A B N FILE\n");
		return 2;
	}
	pa = argv[2];
	pb = argv[3];
	plen = strlen(pa) + 1;
	if (strlen(pb) + 1 != plen || plen > sizeof(path)) {
		fprintf(stderr, "cordon-execrace: A and B must have the same length\n");
		return 2;
	}
	for (long i = 0, n = strtol(argv[4], NULL, 10); i < n; i++) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			return 1;
		if (pid == 0) {
			char *cargv[] = { (char *)"cordon-execrace", (char *)"mark", argv[5],
					  NULL };
			pthread_t t;

			memcpy(path, pa, plen);
			if (pthread_create(&t, NULL, flip, NULL) != 0)
				_exit(126);
			execve(path, cargv, environ);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) < 0)
			return 1;
	}
	return 0;
}
