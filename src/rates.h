/*
 * rates.h: how fast a check's value moves over the window, and when a
 * draining value reaches its floor or limit at that rate.
 *
 * Pure arithmetic: points in, numbers and sentences out; no clock, no I/O.
 *
 * The rate is the Theil-Sen slope: the median of the slopes between every
 * pair of the last few values (per second of the samples' monotonic
 * times). A least-squares slope or first/last would let one noisy round
 * (a burst of enqueues, a slow replica's stale count) move the rate and
 * with it the ETA; the median of pairwise slopes ignores one bad value in
 * five. Rounds without a value are skipped, and uneven spacing (a slow
 * round) is weighed by the real times.
 *
 * Fail closed: fewer than two values, values at one time, or a rate that
 * does not move the value towards its target give no estimate, never a
 * time.
 */
#ifndef AC_RATES_H
#define AC_RATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

/* The rate is computed over the last max(confirm, AC_RATE_MIN_WINDOW)
 * values, at most AC_RATE_MAX_WINDOW. */
#define AC_RATE_MIN_WINDOW 5
#define AC_RATE_MAX_WINDOW 32

struct ac_rate_point {
	int64_t t_ms; /* monotonic */
	double v;
};

/* The median pairwise slope of n points, per second. 0 on success; -1
 * when there is no rate to tell (fewer than two points at different
 * times, values that are not finite). */
int ac_rate_slope(const struct ac_rate_point *p, size_t n, double *per_s);

/* The last `window` points with a value of a history, oldest first, into
 * out (room for AC_RATE_MAX_WINDOW). Returns how many. */
size_t ac_rate_points(const struct ac_history *h, size_t window, struct ac_rate_point *out);

/* Is a rate flat? |rate| times the span is less than a millionth of the
 * level (at least 1e-9): values that do not move. */
bool ac_rate_is_flat(double per_s, double span_s, double level);

/* Seconds for a value to fall from `last` to `target` at per_s. 0 with
 * *eta_s (0 when already at or below the target); -1 when it is not
 * falling (flat, growing, or not finite): no estimate. */
int ac_rate_eta(double last, double target, double per_s, double *eta_s);

/* "+1.0 row/s", "-4.2 jobs/s", "+3.0 rows/min" (per minute under 0.1/s,
 * per hour under 0.1/min). unit is plural ("rows"); NULL or "" for none. */
void ac_rate_format(char *out, size_t n, double per_s, const char *unit);
/* The same without a sign: "4.2 jobs/s" (for "draining at ..."). */
void ac_rate_format_speed(char *out, size_t n, double per_s, const char *unit);
/* "about 1 min 50 s", "about 40 s", "about 2 h 5 min". */
void ac_rate_format_eta(char *out, size_t n, double s);

/* What the judge knows about a check, for ac_rate_describe. */
struct ac_rate_spec {
	const char *unit;	/* plural, "jobs"; NULL for none */
	const char *value_name; /* "depth"; NULL: "the floor" */
	bool draining;		/* the trend says draining */
	bool spreading;		/* the trend says not_increasing */
	bool has_target;	/* a floor or limit to reach */
	double target;
	/* The target is a sample-level limit: after reaching it, confirm - 1
	 * more green rounds are needed (a trend floor passes in the round
	 * the value reaches it). */
	bool target_is_limit;
	int confirm;
};

/* Fill v from the history: the rate over the window, its sentence and,
 * for a value above its target, the ETA and the earliest the check can
 * pass. Every field is set (v is cleared first). */
void ac_rate_describe(const struct ac_history *h, const struct ac_rate_spec *spec,
		      struct ac_rate_view *v);

/* The earliest the whole verdict can turn RESTORED: every check that does
 * not pass must drain at a known rate (its restore_eta_s), or be passing
 * and only gathering its `confirm` green rounds (PENDING: the rounds it
 * still needs, r->interval_ms apart). 0 with the latest of those in
 * *eta_s and the slowest drain in *which; -1 when there is no estimate,
 * with *which the first check without one (SIZE_MAX when nothing drains). */
int ac_rate_restore_eta(const struct ac_result *r, int confirm, double *eta_s, size_t *which);

#endif
