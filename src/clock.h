/*
 * clock.h: the one clock allclear reads, replaceable by tests.
 *
 * The engine and the loop read a monotonic "now" through this interface
 * (curl's TIME-KEEPING: take one "now" per tick), so a test can run a
 * ten-minute watch window in milliseconds with ac_fake_clock.
 */
#ifndef AC_CLOCK_H
#define AC_CLOCK_H

#include <stdint.h>

struct ac_clock {
	/* Monotonic milliseconds; only differences are meaningful. */
	int64_t (*now_ms)(const struct ac_clock *c);
	/* Wall-clock milliseconds since the epoch, for reports. */
	int64_t (*wall_ms)(const struct ac_clock *c);
	/* Wait for ms milliseconds (no I/O pending). */
	void (*sleep_ms)(const struct ac_clock *c, int64_t ms);
};

/* The real clock: CLOCK_MONOTONIC, CLOCK_REALTIME and nanosleep. */
const struct ac_clock *ac_clock_system(void);

/* A clock that moves only when told to, or when someone sleeps on it. */
struct ac_fake_clock {
	struct ac_clock clock;
	int64_t mono_ms;
	int64_t wall0_ms;
};
void ac_fake_clock_init(struct ac_fake_clock *f, int64_t wall0_ms);
void ac_fake_clock_advance(struct ac_fake_clock *f, int64_t ms);

static inline int64_t ac_clock_now(const struct ac_clock *c)
{
	return c->now_ms(c);
}

#endif
