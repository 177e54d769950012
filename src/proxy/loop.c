/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "proxy/loop.h"

struct px_loop {
	int epfd;
	int stop;
	struct px_timer **heap;
	size_t n_heap, cap_heap;
};

uint64_t
px_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct px_loop *
px_loop_new(void)
{
	struct px_loop *loop = calloc(1, sizeof(*loop));

	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void
px_loop_free(struct px_loop *loop)
{
	if (loop == NULL)
		return;
	close(loop->epfd);
	free(loop->heap);
	free(loop);
}

int
px_loop_add(struct px_loop *loop, struct px_watch *w, int fd, uint32_t events, px_watch_fn fn)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fd = fd;
	w->events = events;
	w->fn = fn;
	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int
px_loop_mod(struct px_loop *loop, struct px_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->events == events)
		return 0;
	w->events = events;
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

int
px_loop_del(struct px_loop *loop, struct px_watch *w)
{
	if (w->fd < 0)
		return 0;
	return epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

/* ---- timers: binary min-heap on when_ms ---- */

static void
heap_swap(struct px_loop *loop, size_t a, size_t b)
{
	struct px_timer *t = loop->heap[a];

	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_idx = a;
	loop->heap[b]->heap_idx = b;
}

static void
heap_up(struct px_loop *loop, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (loop->heap[parent]->when_ms <= loop->heap[i]->when_ms)
			break;
		heap_swap(loop, i, parent);
		i = parent;
	}
}

static void
heap_down(struct px_loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < loop->n_heap && loop->heap[l]->when_ms < loop->heap[m]->when_ms)
			m = l;
		if (r < loop->n_heap && loop->heap[r]->when_ms < loop->heap[m]->when_ms)
			m = r;
		if (m == i)
			break;
		heap_swap(loop, i, m);
		i = m;
	}
}

void
px_timer_init(struct px_timer *t, px_timer_fn fn)
{
	t->when_ms = 0;
	t->heap_idx = SIZE_MAX;
	t->fn = fn;
}

void
px_timer_disarm(struct px_loop *loop, struct px_timer *t)
{
	size_t i = t->heap_idx;

	if (i == SIZE_MAX)
		return;
	t->heap_idx = SIZE_MAX;
	loop->n_heap--;
	if (i == loop->n_heap)
		return;
	loop->heap[i] = loop->heap[loop->n_heap];
	loop->heap[i]->heap_idx = i;
	heap_down(loop, i);
	heap_up(loop, i);
}

int
px_timer_arm(struct px_loop *loop, struct px_timer *t, uint64_t ms)
{
	px_timer_disarm(loop, t);
	if (loop->n_heap == loop->cap_heap) {
		size_t cap = loop->cap_heap ? loop->cap_heap * 2 : 64;
		struct px_timer **h = realloc(loop->heap, cap * sizeof(*h));

		if (h == NULL) {
			errno = ENOMEM;
			return -1;
		}
		loop->heap = h;
		loop->cap_heap = cap;
	}
	t->when_ms = px_now_ms() + ms;
	t->heap_idx = loop->n_heap;
	loop->heap[loop->n_heap++] = t;
	heap_up(loop, t->heap_idx);
	return 0;
}

void
px_loop_stop(struct px_loop *loop)
{
	loop->stop = 1;
}

int
px_loop_run(struct px_loop *loop)
{
	struct epoll_event evs[64];

	loop->stop = 0;
	while (!loop->stop) {
		int timeout = -1, n;

		if (loop->n_heap > 0) {
			uint64_t now = px_now_ms(), when = loop->heap[0]->when_ms;

			timeout = when <= now
				      ? 0
				      : (int)(when - now > INT32_MAX ? INT32_MAX : when - now);
		}
		n = epoll_wait(loop->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < n && !loop->stop; i++) {
			struct px_watch *w = evs[i].data.ptr;

			w->fn(loop, w, evs[i].events);
		}
		while (!loop->stop && loop->n_heap > 0 && loop->heap[0]->when_ms <= px_now_ms()) {
			struct px_timer *t = loop->heap[0];

			px_timer_disarm(loop, t);
			t->fn(loop, t);
		}
	}
	return 0;
}
