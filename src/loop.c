/*
 * loop.c: the poll() loop.
 *
 * Watches and timers are kept in small arrays: a run has at most a few
 * hundred of each, and a linear scan per tick is cheaper than any heap at
 * that size. A watch is found by its fd through an index (libcurl changes
 * what it waits for on a socket several times a request, and a tick
 * dispatches each ready fd), and the pollfd set is kept beside the
 * watches, so neither costs a scan of everything in flight.
 */
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct watch {
	int fd;
	unsigned events;
	ac_loop_io_fn fn;
	void *ud;
};

struct ac_loop {
	const struct ac_clock *clock;
	int64_t now;
	struct watch *watches;
	size_t nwatches, walloc;
	/* want[i]: the pollfd of watches[i]; pfds: its copy a poll() fills. */
	struct pollfd *want;
	size_t want_alloc;
	/* slot[fd]: 1 + the index of fd's watch, 0 for none. */
	size_t *slot;
	size_t nslot;
	struct ac_timer **timers;
	size_t ntimers, talloc;
	struct pollfd *pfds;
	size_t pfd_alloc;
};

struct ac_loop *ac_loop_create(const struct ac_clock *clock)
{
	struct ac_loop *loop = ac_calloc(1, sizeof(*loop));
	loop->clock = clock ? clock : ac_clock_system();
	loop->now = ac_clock_now(loop->clock);
	return loop;
}

void ac_loop_destroy(struct ac_loop *loop)
{
	if (!loop)
		return;
	for (size_t i = 0; i < loop->ntimers; i++)
		loop->timers[i]->armed = false;
	free(loop->watches);
	free(loop->want);
	free(loop->slot);
	free(loop->timers);
	free(loop->pfds);
	free(loop);
}

int64_t ac_loop_now(struct ac_loop *loop)
{
	return loop->now;
}

int64_t ac_loop_update_now(struct ac_loop *loop)
{
	loop->now = ac_clock_now(loop->clock);
	return loop->now;
}

const struct ac_clock *ac_loop_clock(struct ac_loop *loop)
{
	return loop->clock;
}

static struct watch *find_watch(struct ac_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nslot || !loop->slot[fd])
		return NULL;
	return &loop->watches[loop->slot[fd] - 1];
}

static short poll_events(unsigned events)
{
	return (short)(((events & AC_LOOP_READ) ? POLLIN : 0) |
		       ((events & AC_LOOP_WRITE) ? POLLOUT : 0));
}

void ac_loop_watch(struct ac_loop *loop, int fd, unsigned events, ac_loop_io_fn fn, void *ud)
{
	if (events == 0 || fd < 0) {
		ac_loop_unwatch(loop, fd);
		return;
	}
	struct watch *w = find_watch(loop, fd);
	if (!w) {
		if ((size_t)fd >= loop->nslot) {
			size_t n = loop->nslot ? loop->nslot : 64;
			while (n <= (size_t)fd)
				n *= 2;
			loop->slot = ac_realloc(loop->slot, n * sizeof(*loop->slot));
			for (size_t i = loop->nslot; i < n; i++)
				loop->slot[i] = 0;
			loop->nslot = n;
		}
		AC_GROW(loop->watches, loop->nwatches + 1, loop->walloc);
		AC_GROW(loop->want, loop->nwatches + 1, loop->want_alloc);
		w = &loop->watches[loop->nwatches++];
		w->fd = fd;
		loop->slot[fd] = loop->nwatches;
	}
	w->events = events;
	w->fn = fn;
	w->ud = ud;
	struct pollfd *p = &loop->want[w - loop->watches];
	p->fd = fd;
	p->events = poll_events(events);
	p->revents = 0;
}

void ac_loop_unwatch(struct ac_loop *loop, int fd)
{
	struct watch *w = find_watch(loop, fd);
	if (!w)
		return;
	size_t i = (size_t)(w - loop->watches), last = --loop->nwatches;
	loop->slot[fd] = 0;
	if (i != last) {
		loop->watches[i] = loop->watches[last];
		loop->want[i] = loop->want[last];
		loop->slot[loop->watches[i].fd] = i + 1;
	}
}

size_t ac_loop_watch_count(const struct ac_loop *loop)
{
	return loop->nwatches;
}

void ac_loop_timer_start(struct ac_loop *loop, struct ac_timer *t, int64_t due_ms,
			 ac_loop_timer_fn fn, void *ud)
{
	if (!t->armed) {
		AC_GROW(loop->timers, loop->ntimers + 1, loop->talloc);
		loop->timers[loop->ntimers++] = t;
	}
	t->due_ms = due_ms;
	t->fn = fn;
	t->ud = ud;
	t->armed = true;
}

void ac_loop_timer_stop(struct ac_loop *loop, struct ac_timer *t)
{
	if (!t->armed)
		return;
	for (size_t i = 0; i < loop->ntimers; i++) {
		if (loop->timers[i] == t) {
			loop->timers[i] = loop->timers[--loop->ntimers];
			break;
		}
	}
	t->armed = false;
}

static int fire_timers(struct ac_loop *loop)
{
	int n = 0;
	/* A fired timer may re-arm itself or others; rescan from the start
	 * after each one, and fire only what is due at this tick's "now". */
	for (;;) {
		struct ac_timer *due = NULL;
		for (size_t i = 0; i < loop->ntimers; i++) {
			struct ac_timer *t = loop->timers[i];
			if (t->due_ms <= loop->now && (!due || t->due_ms < due->due_ms))
				due = t;
		}
		if (!due)
			return n;
		ac_loop_timer_stop(loop, due);
		due->fn(due->ud);
		n++;
	}
}

int ac_loop_run_once(struct ac_loop *loop, int64_t until_ms)
{
	int64_t wake = until_ms;
	for (size_t i = 0; i < loop->ntimers; i++)
		if (loop->timers[i]->due_ms < wake)
			wake = loop->timers[i]->due_ms;
	int64_t wait = wake - loop->now;
	if (wait < 0)
		wait = 0;

	int n = 0;
	if (loop->nwatches == 0) {
		if (wait > 0)
			loop->clock->sleep_ms(loop->clock, wait);
	} else {
		/* A copy: callbacks may change the watches while this tick's
		 * results are dispatched. */
		size_t nfds = loop->nwatches;
		AC_GROW(loop->pfds, nfds, loop->pfd_alloc);
		memcpy(loop->pfds, loop->want, nfds * sizeof(*loop->pfds));
		int rc = poll(loop->pfds, nfds, wait > 60000 ? 60000 : (int)wait);
		if (rc < 0 && errno != EINTR)
			ac_die("poll failed: %s", "system error");
		ac_loop_update_now(loop);
		for (size_t i = 0; rc > 0 && i < nfds; i++) {
			short re = loop->pfds[i].revents;
			if (!re)
				continue;
			/* The watch may have gone or changed in an earlier callback. */
			struct watch *w = find_watch(loop, loop->pfds[i].fd);
			if (!w)
				continue;
			unsigned ev = 0;
			if (re & (POLLIN | POLLHUP))
				ev |= AC_LOOP_READ;
			if (re & POLLOUT)
				ev |= AC_LOOP_WRITE;
			if (re & (POLLERR | POLLNVAL))
				ev |= AC_LOOP_ERROR;
			w->fn(w->ud, w->fd, ev);
			n++;
		}
	}
	ac_loop_update_now(loop);
	n += fire_timers(loop);
	return n;
}
