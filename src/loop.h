/*
 * loop.h: one poll() loop for every probe.
 *
 * The loop owns time and readiness and knows nothing about HTTP, SQL or
 * Redis. Probe kinds register the descriptors their libraries want
 * (libcurl's socket callback, PQsocket, hiredis's ev hooks) and timers for
 * their deadlines. A round costs the slowest probe, not the sum.
 *
 * Callbacks may add or remove watches and timers, including their own.
 */
#ifndef AC_LOOP_H
#define AC_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

enum ac_loop_events {
	AC_LOOP_READ = 1,
	AC_LOOP_WRITE = 2,
	AC_LOOP_ERROR = 4, /* only ever reported, never asked for */
};

struct ac_loop;
typedef void (*ac_loop_io_fn)(void *ud, int fd, unsigned revents);
typedef void (*ac_loop_timer_fn)(void *ud);

/* A timer lives in the caller's memory; zero-initialised means disarmed. */
struct ac_timer {
	int64_t due_ms;
	ac_loop_timer_fn fn;
	void *ud;
	bool armed;
};

struct ac_loop *ac_loop_create(const struct ac_clock *clock);
void ac_loop_destroy(struct ac_loop *loop);

/* The "now" of the current tick (refreshed once per ac_loop_run_once). */
int64_t ac_loop_now(struct ac_loop *loop);
/* Read the clock again (after blocking work outside the loop). */
int64_t ac_loop_update_now(struct ac_loop *loop);
const struct ac_clock *ac_loop_clock(struct ac_loop *loop);

/* Watch fd for events (a mask of AC_LOOP_READ|WRITE); events == 0 removes
 * the watch. Re-watching an fd replaces its events, callback and ud. */
void ac_loop_watch(struct ac_loop *loop, int fd, unsigned events, ac_loop_io_fn fn, void *ud);
void ac_loop_unwatch(struct ac_loop *loop, int fd);
size_t ac_loop_watch_count(const struct ac_loop *loop);

void ac_loop_timer_start(struct ac_loop *loop, struct ac_timer *t, int64_t due_ms,
			 ac_loop_timer_fn fn, void *ud);
void ac_loop_timer_stop(struct ac_loop *loop, struct ac_timer *t);

/*
 * Wait for readiness or the earliest timer, but no later than until_ms
 * (absolute, on the loop's clock), then dispatch. Returns the number of
 * callbacks run. With no watches, it sleeps on the clock, so a fake clock
 * moves forward instead of blocking.
 */
int ac_loop_run_once(struct ac_loop *loop, int64_t until_ms);

#endif
