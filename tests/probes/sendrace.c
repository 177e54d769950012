/* SPDX-License-Identifier: MIT */
/*
 * cordon-sendrace TARGET OWN ROUNDS: try to slip a datagram to the unix
 * socket TARGET past a check, by changing the call under it.
 *
 * The main thread calls sendto() and sendmsg() on fd F, ROUNDS times each
 * (blocking sockets), while three threads change everything the kernel reads
 * after a seccomp "continue":
 *   - the destination, rewritten in place in a tight loop: AF_INET
 *     127.0.0.1:9 -> AF_UNIX OWN (a datagram socket this probe binds, which
 *     the sandbox may use) -> AF_UNIX TARGET
 *   - sendmsg's msg_name, between NULL and that destination
 *   - fd F itself (dup2), between a UDP socket and a unix datagram socket
 * At least ROUNDS rounds and one second, at most 20 seconds. Prints "sent N refused N other N own N" (own: the
 * datagrams OWN received), the other errors by name on stderr, and exits
 * 0; what reached TARGET is for the test to count, outside.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define F 100

static union {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_un un;
} dest;
static struct sockaddr_un own_addr, target_addr;
static struct sockaddr_in lo_addr;
static struct msghdr mh;
static atomic_int stop;
static int udp_fd, unix_fd;

static void *
flip_dest(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		memcpy(&dest, &lo_addr, sizeof(lo_addr));
		memcpy(&dest, &own_addr, sizeof(own_addr));
		memcpy(&dest, &target_addr, sizeof(target_addr));
	}
	return NULL;
}

static void *
flip_name(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		mh.msg_name = NULL;
		mh.msg_namelen = 0;
		mh.msg_name = &dest;
		mh.msg_namelen = sizeof(struct sockaddr_un);
	}
	return NULL;
}

static void *
flip_fd(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		dup2(udp_fd, F);
		dup2(unix_fd, F);
	}
	return NULL;
}

static long other_errno[134];

static void
count(long r, long *sent, long *refused, long *other)
{
	if (r >= 0) {
		(*sent)++;
	} else if (errno == EACCES || errno == EPERM) {
		(*refused)++;
	} else {
		(*other)++;
		if (errno > 0 && errno < (int)(sizeof(other_errno) / sizeof(other_errno[0])))
			other_errno[errno]++;
	}
}

int
main(int argc, char **argv)
{
	pthread_t t[3];
	long rounds, sent = 0, refused = 0, other = 0, own = 0;
	struct iovec iov = { .iov_base = "race", .iov_len = 4 };
	int own_fd;
	struct timespec t0, now;
	char buf[16];

	if (argc != 4 || strlen(argv[1]) >= sizeof(target_addr.sun_path) ||
	    strlen(argv[2]) >= sizeof(own_addr.sun_path)) {
		fprintf(stderr, "usage: cordon-sendrace TARGET OWN ROUNDS\n");
		return 2;
	}
	rounds = atol(argv[3]);
	target_addr.sun_family = AF_UNIX;
	strcpy(target_addr.sun_path, argv[1]);
	own_addr.sun_family = AF_UNIX;
	strcpy(own_addr.sun_path, argv[2]);
	lo_addr.sin_family = AF_INET;
	lo_addr.sin_port = htons(9);
	lo_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	own_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	unlink(argv[2]);
	if (own_fd < 0 || bind(own_fd, (struct sockaddr *)&own_addr, sizeof(own_addr)) < 0) {
		perror("bind OWN");
		return 1;
	}
	udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
	unix_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (udp_fd < 0 || unix_fd < 0 || dup2(unix_fd, F) < 0) {
		perror("socket");
		return 1;
	}
	memcpy(&dest, &own_addr, sizeof(own_addr));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (pthread_create(&t[0], NULL, flip_dest, NULL) != 0 ||
	    pthread_create(&t[1], NULL, flip_name, NULL) != 0 ||
	    pthread_create(&t[2], NULL, flip_fd, NULL) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	/*
	 * ROUNDS rounds, and at least a second: outside a sandbox the rounds
	 * take a few milliseconds, less than one time slice of the flipping
	 * threads on a busy machine. At most 20 seconds.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0;; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= 20 ||
		    (i >= rounds && now.tv_sec - t0.tv_sec >= 1 && now.tv_nsec >= t0.tv_nsec))
			break;
		/*
		 * The main thread steps through every combination itself too,
		 * so that each is tried even while a flipping thread waits for
		 * a CPU; the flipping threads race it meanwhile.
		 */
		switch (i % 3) {
		case 0:
			memcpy(&dest, &lo_addr, sizeof(lo_addr));
			break;
		case 1:
			memcpy(&dest, &own_addr, sizeof(own_addr));
			break;
		default:
			memcpy(&dest, &target_addr, sizeof(target_addr));
			break;
		}
		dup2((i / 3) % 2 ? udp_fd : unix_fd, F);
		count(sendto(F, "race", 4, 0, &dest.sa, sizeof(struct sockaddr_un)), &sent,
		      &refused, &other);
		count(sendmsg(F, &mh, 0), &sent, &refused, &other);
		while (recv(own_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			own++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	while (recv(own_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		own++;
	printf("sent %ld refused %ld other %ld own %ld\n", sent, refused, other, own);
	/* what the other failures were, for the test's log */
	for (int e = 1; e < (int)(sizeof(other_errno) / sizeof(other_errno[0])); e++)
		if (other_errno[e] > 0)
			fprintf(stderr, "# %s: %ld\n", strerrorname_np(e), other_errno[e]);
	return 0;
}
