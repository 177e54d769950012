/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_LOOP_H
#define CORDON_PROXY_LOOP_H

#include <stddef.h>
#include <stdint.h>

/*
 * A small reactor (Redis ae style): epoll plus one-shot timers in a binary
 * heap. One thread. A watch is embedded in its owner; epoll's data.ptr
 * points at it, so the callback finds its owner with container_of.
 */
struct px_loop;
struct px_watch;
struct px_timer;

typedef void (*px_watch_fn)(struct px_loop *loop, struct px_watch *w, uint32_t events);
typedef void (*px_timer_fn)(struct px_loop *loop, struct px_timer *t);

struct px_watch {
	int fd;
	uint32_t events; /* EPOLLIN | EPOLLOUT ... as registered */
	px_watch_fn fn;
};

struct px_timer {
	uint64_t when_ms; /* absolute, CLOCK_MONOTONIC milliseconds */
	size_t heap_idx;  /* position in the heap, or SIZE_MAX when not armed */
	px_timer_fn fn;
};

#define px_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Create / destroy a loop. px_loop_new returns NULL with errno on failure. */
struct px_loop *px_loop_new(void);
void px_loop_free(struct px_loop *loop);

/* Register, change or remove a watch. 0 or -1 with errno. */
int px_loop_add(struct px_loop *loop, struct px_watch *w, int fd, uint32_t events, px_watch_fn fn);
int px_loop_mod(struct px_loop *loop, struct px_watch *w, uint32_t events);
int px_loop_del(struct px_loop *loop, struct px_watch *w);

/* Initialise a timer (not armed). */
void px_timer_init(struct px_timer *t, px_timer_fn fn);
/* Arm (or re-arm) t to fire once, ms from now. 0 or -1 (ENOMEM). */
int px_timer_arm(struct px_loop *loop, struct px_timer *t, uint64_t ms);
/* Disarm t if armed. */
void px_timer_disarm(struct px_loop *loop, struct px_timer *t);

/* Monotonic clock in milliseconds. */
uint64_t px_now_ms(void);

/* Run until px_loop_stop. Returns 0, or -1 if epoll_wait fails. */
int px_loop_run(struct px_loop *loop);
void px_loop_stop(struct px_loop *loop);

#endif
