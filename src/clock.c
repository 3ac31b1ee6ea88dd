/*
 * clock.c: the system clock and a fake one for tests.
 */
#include "clock.h"

#include <errno.h>
#include <time.h>

static int64_t sys_now(const struct ac_clock *c)
{
	(void)c;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_wall(const struct ac_clock *c)
{
	(void)c;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sys_sleep(const struct ac_clock *c, int64_t ms)
{
	(void)c;
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	/* An interrupting signal ends the sleep early: the caller re-checks its
	 * deadlines and its stop flag. */
	nanosleep(&ts, NULL);
}

static const struct ac_clock system_clock = {sys_now, sys_wall, sys_sleep};

const struct ac_clock *ac_clock_system(void)
{
	return &system_clock;
}

static int64_t fake_now(const struct ac_clock *c)
{
	return ((const struct ac_fake_clock *)c)->mono_ms;
}

static int64_t fake_wall(const struct ac_clock *c)
{
	const struct ac_fake_clock *f = (const struct ac_fake_clock *)c;
	return f->wall0_ms + f->mono_ms;
}

static void fake_sleep(const struct ac_clock *c, int64_t ms)
{
	/* The clock interface is const for readers; sleeping is the one way a
	 * fake clock moves on its own. */
	struct ac_fake_clock *f = (struct ac_fake_clock *)(uintptr_t)c;
	if (ms > 0)
		f->mono_ms += ms;
}

void ac_fake_clock_init(struct ac_fake_clock *f, int64_t wall0_ms)
{
	f->clock.now_ms = fake_now;
	f->clock.wall_ms = fake_wall;
	f->clock.sleep_ms = fake_sleep;
	f->mono_ms = 1000000;
	f->wall0_ms = wall0_ms - f->mono_ms;
}

void ac_fake_clock_advance(struct ac_fake_clock *f, int64_t ms)
{
	f->mono_ms += ms;
}
