/*
 * engine.h: running a plan in rounds on one loop.
 *
 * A round starts every check (up to the concurrency cap at once), drives
 * the loop until each has a sample or the round's deadline passed, and
 * hands the samples to the judge. Rounds never overlap: a round that runs
 * past the interval is recorded as slow and the next starts when it ends.
 */
#ifndef AC_ENGINE_H
#define AC_ENGINE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "notify.h"
#include "result.h"
#include "scenario.h"
#include "util.h"

struct ac_loop;

enum ac_mode {
	AC_MODE_CHECK, /* a few rounds and a verdict */
	AC_MODE_WATCH, /* rounds for the whole window */
};

struct ac_run_opts {
	enum ac_mode mode;
	bool until_restored; /* stop as soon as the verdict is RESTORED */
	bool fail_fast;	     /* stop at the first critical check that fails */
	/* The clock; NULL for the system clock. */
	const struct ac_clock *clock;
	/* Set (e.g. by a signal handler) to stop after the current round. */
	volatile sig_atomic_t *stop;
	/* Called after every round with the result so far. */
	void (*on_round)(const struct ac_result *res, int64_t time_left_ms, void *ud);
	void *ud;
	/* Called with the engine's loop before the first round and after the
	 * last (NULL: not called), with ud: what the caller registers on the
	 * loop (the --listen responder) runs between and during rounds and
	 * must never block. */
	void (*on_start)(struct ac_loop *loop, void *ud);
	void (*on_end)(struct ac_loop *loop, void *ud);
	/* Webhooks to notify (src/notify.h); NULL or no URLs: none. */
	const struct ac_notify_opts *notify;
};

/* Run plan and return the result tree (the caller destroys it). Settings
 * come from plan->settings, which the CLI has already overridden with
 * flags. Returns NULL only on allclear's own errors (err says why). */
struct ac_result *ac_engine_run(struct ac_plan *plan, const struct ac_run_opts *opts,
				struct ac_error *err);

#endif
